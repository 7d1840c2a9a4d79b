/*
 * libFuzzer target for lib/dotenv: every dialect, with and without expansion, on the
 * same input. Checks the result's invariants (spans inside the buffer, lines ordered,
 * the key index agrees with the entries) besides ASan/UBSan's.
 *   make fuzz FUZZ_S=300 (seeds: tests/fuzz/dotenv/)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv.h"
#include "redact.h"

static const char *fake_env(const char *name, void *ctx)
{
	(void)ctx;
	return !strcmp(name, "HOME") ? "/home/fuzz" : !strcmp(name, "SET") ? "value" : NULL;
}

static void check(const char *buf, size_t len, const struct dotenv_result *r)
{
	(void)buf;
	for (size_t i = 0; i < r->n; i++) {
		const struct dotenv_entry *e = &r->entries[i];
		if (e->start > len || e->end > len || e->value_start > len || e->value_end > len ||
		    e->line < 1 || e->end_line < e->line || !e->key)
			abort();
		if (e->value && strlen(e->value) > e->value_len)
			abort();
		const struct dotenv_entry *last = dotenv_lookup(r, e->key);
		if (!last || strcmp(last->key, e->key))
			abort();
	}
	for (size_t i = 0; i < r->ndiags; i++)
		if (r->diags[i].line < 1 || !r->diags[i].message)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int d = 0; d < DOTENV_NDIALECTS; d++)
		for (int expand = 0; expand < 2; expand++) {
			struct dotenv_options o;
			dotenv_options_init(&o, (enum dotenv_dialect)d);
			o.expand = expand;
			o.lookup = fake_env;
			struct dotenv_result r;
			dotenv_parse((const char *)data, size, &o, &r);
			check((const char *)data, size, &r);
			dotenv_result_free(&r);
		}
	redact_reset();
	return 0;
}
