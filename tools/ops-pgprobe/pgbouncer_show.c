/*
 * pgbouncer_show — reading PgBouncer's SHOW results: a column by name (they change
 * between versions), a SHOW CONFIG value, a database's or user's row, and a pool's
 * effective size and reserve as PgBouncer computes them.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pgprobe.h"
#include "util.h"

const char *pgbouncer_get(const PGresult *res, int row, const char *col)
{
	if (!res || row < 0 || row >= PQntuples(res))
		return NULL;
	int f = PQfnumber(res, col);
	if (f < 0 || PQgetisnull(res, row, f))
		return NULL;
	return PQgetvalue(res, row, f);
}

double pgbouncer_num(const PGresult *res, int row, const char *col)
{
	const char *v = pgbouncer_get(res, row, col);
	double d;
	/* PgBouncer 1.23+ pads SHOW USERS' pool_size ("        1"); "" is "not set". */
	while (v && *v == ' ')
		v++;
	return v && *v && parse_double(v, &d) == 0 ? d : NAN;
}

double pgbouncer_config_num(const PGresult *cfg, const char *key)
{
	for (int i = 0; cfg && i < PQntuples(cfg); i++)
		if (pgbouncer_get(cfg, i, "key") && !strcmp(pgbouncer_get(cfg, i, "key"), key))
			return pgbouncer_num(cfg, i, "value");
	return NAN;
}

/* The row of name in a SHOW DATABASES / SHOW USERS result, or -1. */
int pgbouncer_row_named(const PGresult *res, const char *name)
{
	for (int i = 0; name && res && i < PQntuples(res); i++) {
		const char *n = pgbouncer_get(res, i, "name");
		if (n && !strcmp(n, name))
			return i;
	}
	return -1;
}

/*
 * A pool_size PgBouncer gave (SHOW USERS, SHOW DATABASES): from 1.24 a size of 0 means
 * unlimited: those versions renamed SHOW DATABASES' reserve_pool column to
 * reserve_pool_size, which tells them apart without another command. INFINITY for
 * unlimited, NAN when not given (SHOW USERS' empty cell, -1: not set).
 */
double pgbouncer_size_value(const struct bouncer *b, double n)
{
	bool zero_unlimited = b->databases && PQfnumber(b->databases, "reserve_pool_size") >= 0;
	return n < 0 ? NAN : n == 0 && zero_unlimited ? INFINITY : n;
}

/*
 * The effective pool size of a pool, as PgBouncer computes it (pool_pool_size()): the
 * user's pool_size (SHOW USERS, 1.23+; empty when not set), else the database's
 * (SHOW DATABASES shows the database's or default_pool_size).
 */
double pgbouncer_pool_size(const struct bouncer *b, const char *db, const char *user)
{
	double n = pgbouncer_num(b->users, pgbouncer_row_named(b->users, user), "pool_size");
	if (isnan(n) || n < 0) {
		int row = pgbouncer_row_named(b->databases, db);
		n = row >= 0 ? pgbouncer_num(b->databases, row, "pool_size") : pgbouncer_config_num(b->config, "default_pool_size");
	}
	return pgbouncer_size_value(b, n);
}

/* reserve_pool_size of a pool: the user's (1.24+), else the database's (column
 * reserve_pool before 1.24, reserve_pool_size after). */
double pgbouncer_reserve_pool(const struct bouncer *b, const char *db, const char *user)
{
	double n = pgbouncer_num(b->users, pgbouncer_row_named(b->users, user), "reserve_pool_size");
	if (!isnan(n) && n >= 0)
		return n;
	int row = pgbouncer_row_named(b->databases, db);
	n = pgbouncer_num(b->databases, row, "reserve_pool_size");
	return isnan(n) ? pgbouncer_num(b->databases, row, "reserve_pool") : n;
}

bool pgbouncer_is_admin_row(const PGresult *res, int row, const char *col)
{
	const char *db = pgbouncer_get(res, row, col);
	return db && !strcmp(db, "pgbouncer");
}

bool pgbouncer_is_admin_pool(const struct bouncer *b, int row)
{
	return pgbouncer_is_admin_row(b->pools, row, "database");
}

/* A count for a COL_INT cell: one PgBouncer did not give (an older version, NULL) or that
 * no long long holds is null ("-"), not undefined behaviour (found by fuzz-pgbouncer). */
void pgbouncer_table_count(struct rp_table *tb, double v)
{
	if (isnan(v) || v < -9e18 || v > 9e18)
		rp_table_str(tb, NULL);
	else
		rp_table_int(tb, (long long)v);
}

/* A size or limit cell, one way in every PgBouncer table: unknown or not set is null
 * ("-" in text), never a made-up -1; unlimited is PgBouncer's own 0 in JSON and
 * "unlimited" in text, where a 0 would read as "none allowed". */
void pgbouncer_table_limit(struct rp_table *tb, double v)
{
	if (v == INFINITY)
		rp_table_int_text(tb, 0, "unlimited");
	else
		pgbouncer_table_count(tb, v);
}
