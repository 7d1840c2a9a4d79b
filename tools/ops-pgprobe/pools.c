/*
 * pools — does the applications' pool configuration fit the server at all?
 *
 * Pool settings are per process: 8 workers with pool_max 10 and overflow 5 can open
 * 8 x (10 + 5) = 120 connections. The check adds that up over every application and
 * compares it with the slots ordinary roles may use (max_connections less the reserved
 * ones), read from the server in the same probe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dotenv.h"
#include "pgprobe.h"
#include "util.h"

#define MAX_ENV_FILE (64u << 20)

/* Overrides the pool's numbers with the env file's, as the application would load them.
 * Values are never quoted back: an env file may hold secrets next to the pool sizes. */
int pools_from_env(struct pool_spec *p, const char *path, enum dotenv_dialect dialect,
		  const char *const keys[POOL_FIELDS], char **err)
{
	struct strbuf file = STRBUF_INIT;
	if (sb_read_file(&file, path, MAX_ENV_FILE) < 0) {
		*err = xasprintf("cannot read env file %s: %s", path, strerror(errno));
		sb_release(&file);
		return -1;
	}
	struct dotenv_options opts;
	dotenv_options_init(&opts, dialect);
	struct dotenv_result res;
	dotenv_parse(file.buf, file.len, &opts, &res);
	long long *dst[POOL_FIELDS] = { &p->workers, &p->pool_max, &p->pool_min, &p->overflow };
	int rc = 0;
	for (size_t i = 0; i < POOL_FIELDS && !rc; i++) {
		const struct dotenv_entry *e = dotenv_lookup(&res, keys[i]);
		if (!e || !e->value)
			continue;
		long long v;
		if (parse_ll(e->value, &v) || v < 0) {
			*err = xasprintf("%s:%d: %s is not a whole number >= 0", path, e->line, keys[i]);
			rc = -1;
		} else {
			*dst[i] = v;
			p->from_env[i] = true;
		}
	}
	dotenv_result_free(&res);
	sb_release(&file);
	return rc;
}

void pools_checks(struct report *r, const struct target *t, const struct probe_opts *o)
{
	size_t n = 0;
	for (size_t i = 0; i < o->npools; i++)
		n += pool_spec_applies(&o->pools[i], t);
	if (!n)
		return;
	if (!t->snap) {
		report_check(r, "pool-sizing", ST_UNKNOWN, t->name,
			     "cannot size the pools: max_connections is unknown (the probe failed)");
		return;
	}
	double max = checks_json_num(t->snap, "max_connections");
	double reserved = checks_reserved_connections(t->snap);
	double need = 0;
	struct strbuf parts = STRBUF_INIT;
	for (size_t i = 0; i < o->npools; i++) {
		const struct pool_spec *p = &o->pools[i];
		if (!pool_spec_applies(p, t))
			continue;
		need += pool_model_peak(p);
		if (parts.len)
			sb_addstr(&parts, ", ");
		pool_model_formula(&parts, p);
	}
	double usable = checks_usable_connections(t->snap);
	double spare = usable - (double)need;
	struct check *c;
	if (spare < 0) {
		c = report_check(r, "pool-sizing", ST_CRITICAL, t->name,
				 "pools can open %.0f connections (%s) + %.0f reserved = %.0f > max_connections %.0f: overflows by %.0f",
				 need, sb_str(&parts), reserved, need + reserved, max, -spare);
		check_hint(c, "pool sizes are per process: lower pool_max/overflow or workers, put PgBouncer in front, or raise max_connections to at least %.0f",
			   need + reserved);
	} else {
		/* A pool plan that fills every slot leaves none for migrations, cron jobs or
		 * the on-call engineer's psql: below 10% spare it is a warning. */
		enum status st = spare < 0.1 * usable ? ST_WARNING : ST_OK;
		c = report_check(r, "pool-sizing", st, t->name,
				 "pools can open %.0f connections (%s) + %.0f reserved = %.0f <= max_connections %.0f: fits with %.0f to spare",
				 need, sb_str(&parts), reserved, need + reserved, max, spare);
		if (st != ST_OK)
			check_hint(c, "less than 10%% of the usable slots stay free for anything else (migrations, cron, psql)");
	}
	check_metric(c, "pool_connections_needed", need, "", (struct thresholds){ NAN, usable, 0, usable });
	check_metric(c, "pool_connections_spare", spare, "", THRESHOLDS_NONE);
	sb_release(&parts);
}

void pools_output(struct report *r, const struct probe_opts *o)
{
	if (!o->npools)
		return;
	struct rp_table *tb = rp_table_new(r, "pools", "pools (per application: ceil(pods x surge) x workers x concurrency x (pool_max + overflow))");
	rp_table_col(tb, "name", "APPLICATION", COL_STR);
	rp_table_col(tb, "target", "TARGET", COL_STR);
	rp_table_col(tb, "workers", "WORKERS", COL_INT);
	rp_table_col(tb, "pool_min", "POOL_MIN", COL_INT);
	rp_table_col(tb, "pool_max", "POOL_MAX", COL_INT);
	rp_table_col(tb, "overflow", "OVERFLOW", COL_INT);
	rp_table_col(tb, "pods", "PODS", COL_INT);
	rp_table_col(tb, "surge", "SURGE", COL_DOUBLE);
	rp_table_col(tb, "concurrency", "CONCURRENCY", COL_INT);
	rp_table_col(tb, "peak", "PEAK", COL_INT);
	for (size_t i = 0; i < o->npools; i++) {
		const struct pool_spec *p = &o->pools[i];
		rp_table_str(tb, p->name);
		rp_table_str(tb, p->target);
		rp_table_int(tb, p->workers);
		rp_table_int(tb, p->pool_min);
		rp_table_int(tb, p->pool_max);
		rp_table_int(tb, p->overflow);
		rp_table_int(tb, p->pods);
		rp_table_double(tb, p->surge);
		rp_table_int(tb, p->concurrency);
		double peak = pool_model_peak(p);
		if (peak <= 9e18)
			rp_table_int(tb, (long long)peak);
		else
			rp_table_str(tb, NULL);
	}
	rp_table_end(tb);
}
