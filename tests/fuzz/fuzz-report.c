/*
 * libFuzzer target for lib/report's renderers fed random check data. The input is a
 * byte script (like opskit-test-helper's "report" script, in bytes): checks with random
 * ids, statuses, subjects, messages, hints, locations and metrics (NaN, infinities,
 * huge values, every unit), registered secrets, tool data (strings, bytes, numbers,
 * nested objects and arrays) and tables of every column type; the same script is then
 * rendered in every format. Only well-formed API use is generated (containers closed in
 * order, full table rows, keys only inside objects).
 * Invariants besides ASan/UBSan: JSON and SARIF output parse with jansson's json_loadb;
 * the exit code is 0..3 and the same in every format.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "report.h"

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned byte(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

/* A string of up to 31 bytes (a NUL in it ends it early); caller frees. */
static char *str(struct in *in)
{
	size_t len = byte(in) % 32;
	if (len > in->n)
		len = in->n;
	char *s = malloc(len + 1);
	memcpy(s, in->p, len);
	s[len] = '\0';
	in->p += len;
	in->n -= len;
	return s;
}

static double number(struct in *in)
{
	static const double fixed[] = { 0, 1, -1, 0.5, 1e300, -1e300, 1e-300, 9007199254740993.0, 100, 80 };
	unsigned b = byte(in);
	switch (b % 4) {
	case 0:
		return fixed[(b >> 2) % (sizeof(fixed) / sizeof(*fixed))];
	case 1:
		return (b & 4) ? NAN : (b & 8) ? INFINITY : -INFINITY;
	case 2: {
		double d;
		uint8_t raw[8] = { 0 };
		for (int i = 0; i < 8; i++)
			raw[i] = (uint8_t)byte(in);
		memcpy(&d, raw, sizeof(d));
		return d;
	}
	default:
		return (double)(int16_t)(byte(in) << 8 | byte(in));
	}
}

static void table(struct report *r, struct in *in, const char *key)
{
	static const enum col_type types[] = { COL_STR, COL_INT, COL_DOUBLE, COL_BYTES, COL_DURATION, COL_PERCENT };
	char *title = str(in);
	struct rp_table *t = rp_table_new(r, key, *title ? title : NULL);
	size_t ncols = 1 + byte(in) % 4, nrows = byte(in) % 6;
	enum col_type ct[4];
	for (size_t i = 0; i < ncols; i++) {
		char *k = str(in);
		ct[i] = types[byte(in) % 6];
		rp_table_col(t, *k ? k : "c", (byte(in) & 1) ? NULL : k, ct[i]);
		free(k);
	}
	for (size_t row = 0; row < nrows; row++)
		for (size_t i = 0; i < ncols; i++) {
			unsigned b = byte(in);
			if (ct[i] == COL_STR && (b & 1)) {
				char *v = str(in);
				if (b & 2)
					rp_table_bytes_str(t, v, strlen(v));
				else
					rp_table_str(t, (b & 4) ? NULL : v);
				free(v);
			} else if (ct[i] == COL_INT || (b & 2))
				rp_table_int(t, (long long)(int32_t)((unsigned)byte(in) << 24 | byte(in) << 8 | byte(in)));
			else
				rp_table_double(t, number(in));
		}
	rp_table_end(t);
	free(title);
}

static void build(struct report *r, const uint8_t *data, size_t size)
{
	static const char *const uoms[] = { "", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c" };
	struct in in = { data, size };
	struct check *c = NULL;
	char stack[16];   /* 'o' or 'a' of each open container */
	int depth = 0;
	for (int steps = 0; in.n && steps < 200; steps++) {
		unsigned op = byte(&in) % 16;
		bool keyed = depth == 0 || stack[depth - 1] == 'o';
		char *k = keyed ? str(&in) : NULL;
		const char *key = keyed ? (*k ? k : "k") : NULL;
		switch (op) {
		case 0: {
			char *id = str(&in), *subject = str(&in), *msg = str(&in);
			c = report_check(r, *id ? id : "id", (enum status)(byte(&in) % 4), *subject ? subject : NULL,
					 "%s", msg);
			free(id);
			free(subject);
			free(msg);
			break;
		}
		case 1:
			if (c) {
				char *h = str(&in);
				check_hint(c, "%s", h);
				free(h);
			}
			break;
		case 2:
			if (c) {
				char *f = str(&in);
				check_location(c, f, (int)byte(&in) - 8, (int)byte(&in) - 8);
				free(f);
			}
			break;
		case 3:
			if (c) {
				char *name = str(&in);
				double v = number(&in);
				const char *uom = uoms[byte(&in) % (sizeof(uoms) / sizeof(*uoms))];
				struct thresholds t = { number(&in), number(&in), number(&in), number(&in) };
				check_metric(c, *name ? name : "m", v, uom, t);
				free(name);
			}
			break;
		case 4:
			if (c)
				check_set_status(c, (enum status)(byte(&in) % 4));
			break;
		case 5: {
			char *s = str(&in);
			redact_add_secret(s);
			free(s);
			break;
		}
		case 6: {
			char *v = str(&in);
			rp_string(r, key, "%s\n", v);
			free(v);
			break;
		}
		case 7: {
			char *v = str(&in);
			rp_bytes(r, key, "%s\n", v, strlen(v));
			free(v);
			break;
		}
		case 8:
			rp_int(r, key, "%lld\n", (long long)(int32_t)((unsigned)byte(&in) << 24 | byte(&in) << 8 | byte(&in)));
			break;
		case 9:
			rp_double(r, key, "%g\n", number(&in));
			break;
		case 10:
			if (byte(&in) & 1)
				rp_bool(r, key, "%s\n", true);
			else
				rp_null(r, key, "null\n");
			break;
		case 11:
		case 12:
			if (depth < (int)sizeof(stack)) {
				stack[depth++] = op == 11 ? 'o' : 'a';
				if (op == 11)
					rp_open_object(r, key);
				else
					rp_open_array(r, key);
			}
			break;
		case 13:
			if (depth) {
				if (stack[--depth] == 'o')
					rp_close_object(r);
				else
					rp_close_array(r);
			}
			break;
		case 14:
			if (keyed)
				table(r, &in, key);
			break;
		default: {
			char *t = str(&in);
			rp_text(r, "%s\n", t);
			free(t);
			break;
		}
		}
		free(k);
	}
	while (depth)
		if (stack[--depth] == 'o')
			rp_close_object(r);
		else
			rp_close_array(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	int first_rc = -1;
	for (int f = FMT_TEXT; f <= FMT_GITHUB; f++) {
		struct report *r = report_new("ops-fuzz", "0.0.0", (enum report_format)f);
		report_set_verbosity(r, 0, 1);
		build(r, data, size);
		char *out = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&out, &len);
		int rc = report_finish(r, mem);
		fclose(mem);
		report_free(r);
		if (rc < 0 || rc > 3 || (first_rc >= 0 && rc != first_rc))
			abort();
		first_rc = rc;
		if (f == FMT_JSON || f == FMT_SARIF) {
			json_error_t e;
			json_t *doc = json_loadb(out, len, 0, &e);
			if (!doc) {
				fprintf(stderr, "invalid JSON (%s) at %d:%d:\n%.*s\n", e.text, e.line, e.column, (int)len, out);
				abort();
			}
			json_decref(doc);
		}
		free(out);
		redact_reset();
	}
	return 0;
}
