/*
 * libFuzzer target for ops-pgprobe's reading of PgBouncer's admin console: the rows of
 * SHOW POOLS, STATS, CLIENTS, SERVERS, CONFIG, DATABASES and USERS, given as text tables
 * (sections split by a line "--", each a header line of tab-separated column names, then
 * rows; \N is NULL) and turned into PGresults with libpq's PQsetvalue, then checked
 * (pgbouncer_checks, with the default thresholds) and rendered (pgbouncer_output), as JSON.
 * Invariants besides ASan/UBSan: the JSON output parses (jansson); the exit code is 0..3.
 * FUZZ_TOOL: ops-pgprobe
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pgprobe.h"
#include "redact.h"
#include "report.h"
#include "util.h"

#define MAX_COLS 32
#define MAX_ROWS 64

static struct probe_opts opts;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char *err = NULL;
	struct config *cfg = config_load_string("fuzz.yaml", "", &err);
	if (!cfg)
		abort();
	static const char *const levels[] = { "warning", "critical" };
	for (int i = 0; i < TH_COUNT; i++)
		for (int l = 0; l < 2; l++) {
			struct th_level *dst = l ? &opts.th[i].crit : &opts.th[i].warn;
			*dst = (struct th_level){ NAN, false };
			char *path = xasprintf("postgres.thresholds.%s.%s", threshold_defs[i].cfg, levels[l]);
			const char *v = NULL, *why;
			cfg_str(cfg, path, &v);
			if (v && threshold_parse((enum th_id)i, v, dst, &why))
				abort();
			free(path);
		}
	config_free(cfg);
	opts.timeout_ms = 5000;
	opts.session_age_s = 60;
	opts.idle_age_s = 300;
	opts.query_max = 80;
	return 0;
}

/* One section "name\tname...\nv\tv...\n..." into a PGresult (NULL when empty). */
static PGresult *table(char *text)
{
	char *save = NULL, *line = strtok_r(text, "\n", &save);
	if (!line)
		return NULL;
	PGresAttDesc cols[MAX_COLS];
	int ncols = 0;
	char *fsave = NULL;
	for (char *f = strtok_r(line, "\t", &fsave); f && ncols < MAX_COLS; f = strtok_r(NULL, "\t", &fsave))
		cols[ncols++] = (PGresAttDesc){ .name = f, .format = 0, .typid = 25, .typlen = -1, .atttypmod = -1 };
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	if (!res || !PQsetResultAttrs(res, ncols, cols))
		abort();
	int row = 0;
	for (line = strtok_r(NULL, "\n", &save); line && row < MAX_ROWS; line = strtok_r(NULL, "\n", &save), row++) {
		char *p = line;
		for (int c = 0; c < ncols; c++) {
			size_t n = strcspn(p, "\t");
			bool null = n == 2 && !strncmp(p, "\\N", 2);
			if (!PQsetvalue(res, row, c, null ? NULL : p, null ? -1 : (int)n))
				abort();
			p += n;
			if (*p == '\t')
				p++;
		}
	}
	return res;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct bouncer b;
	memset(&b, 0, sizeof(b));
	b.name = "pgbouncer";
	b.dsn = "host=127.0.0.1 port=6432 dbname=pgbouncer";
	b.connect_ms = 1.5;
	PGresult **slots[] = { &b.pools, &b.stats, &b.clients, &b.servers, &b.config, &b.databases, &b.users };
	char *sect = text;
	for (size_t i = 0; i < sizeof(slots) / sizeof(*slots) && sect; i++) {
		char *next = strstr(sect, "\n--\n");
		if (next) {
			*next = '\0';
			next += 4;
		}
		*slots[i] = table(sect);
		sect = next;
	}
	struct report *r = report_new("ops-pgprobe", "0.0.0", FMT_JSON);
	pgbouncer_checks(r, &b, &opts);
	pgbouncer_output(r, &b);
	char *out = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&out, &len);
	int rc = report_finish(r, mem);
	fclose(mem);
	report_free(r);
	if (rc < 0 || rc > 3)
		abort();
	json_t *doc = json_loadb(out, len, 0, NULL);
	if (!doc)
		abort();
	json_decref(doc);
	free(out);
	for (size_t i = 0; i < sizeof(slots) / sizeof(*slots); i++)
		PQclear(*slots[i]);
	free(text);
	redact_reset();
	return 0;
}
