/*
 * bouncer_clients — who PgBouncer's clients are: SHOW CLIENTS grouped by
 * (application_name, addr, user), so that the on-call engineer sees which application
 * waits and which holds the server connections. Behind a pooler the server sees only
 * PgBouncer's address, so this is the one place where clients are told apart.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pgprobe.h"
#include "util.h"

/* Groups shown; the rest are summed up on one line (a fleet has hundreds of pods). */
#define CLIENT_GROUPS_SHOWN 10

struct client_group {
	const char *app, *addr, *user; /* point into the PGresult */
	long long total, active, waiting, idle, linked;
};

static const char *col_or_empty(const PGresult *res, int row, const char *col)
{
	const char *v = pgbouncer_get(res, row, col);
	return v ? v : "";
}

static int cmp_group_key(const PGresult *res, int ra, int rb)
{
	static const char *const cols[] = { "application_name", "addr", "user" };
	for (size_t k = 0; k < ARRAY_SIZE(cols); k++) {
		int d = strcmp(col_or_empty(res, ra, cols[k]), col_or_empty(res, rb, cols[k]));
		if (d)
			return d;
	}
	return 0;
}

static int cmp_client_rows(const void *a, const void *b, void *ctx)
{
	int ra = *(const int *)a, rb = *(const int *)b;
	int d = cmp_group_key(ctx, ra, rb);
	return d ? d : ra - rb;
}

/* Who needs looking at first: waiting clients, then holders of server connections. */
static int cmp_groups(const void *a, const void *b)
{
	const struct client_group *x = a, *y = b;
	if (x->waiting != y->waiting)
		return x->waiting < y->waiting ? 1 : -1;
	if (x->linked != y->linked)
		return x->linked < y->linked ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->app, y->app);
}

static void count_client(struct client_group *g, const PGresult *res, int row)
{
	const char *state = col_or_empty(res, row, "state");
	g->total++;
	/* 1.25 shows a client linked to no server as "idle"; older ones call it active. */
	if (!strcmp(state, "waiting") || !strncmp(state, "waiting_", 8))
		g->waiting++;
	else if (!strcmp(state, "idle"))
		g->idle++;
	else
		g->active++;
	g->linked += *col_or_empty(res, row, "link") != '\0';
}

/* The client rows (the admin console's own excluded) grouped; caller frees. */
static struct client_group *group_clients(const PGresult *res, size_t *ngroups, long long *nclients)
{
	int n = res ? PQntuples(res) : 0, m = 0;
	int *rows = xmalloc(sizeof(*rows) * (size_t)(n + 1));
	for (int i = 0; i < n; i++)
		if (!pgbouncer_is_admin_row(res, i, "database"))
			rows[m++] = i;
	qsort_r(rows, (size_t)m, sizeof(*rows), cmp_client_rows, (void *)res);
	struct client_group *g = xmalloc(sizeof(*g) * (size_t)(m + 1));
	size_t ng = 0;
	for (int i = 0; i < m; i++) {
		if (!ng || cmp_group_key(res, rows[i - 1], rows[i])) {
			g[ng++] = (struct client_group){ .app = col_or_empty(res, rows[i], "application_name"),
							 .addr = col_or_empty(res, rows[i], "addr"),
							 .user = col_or_empty(res, rows[i], "user") };
		}
		count_client(&g[ng - 1], res, rows[i]);
	}
	free(rows);
	qsort(g, ng, sizeof(*g), cmp_groups);
	*ngroups = ng;
	*nclients = m;
	return g;
}

double bouncer_clients_named(const struct bouncer *b, const char *app)
{
	if (!b->clients || b->err.kind != FAIL_NONE)
		return NAN;
	double n = 0;
	for (int i = 0; i < PQntuples(b->clients); i++)
		n += !pgbouncer_is_admin_row(b->clients, i, "database") &&
		     !strcmp(col_or_empty(b->clients, i, "application_name"), app);
	return n;
}

/* True when application_name cannot tell the clients apart (all empty or all equal). */
static bool names_indistinct(const struct client_group *g, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (strcmp(g[i].app, g[0].app))
			return false;
	return n > 0;
}

static void groups_table(struct report *r, const struct client_group *g, size_t shown)
{
	struct rp_table *tb = rp_table_new(r, "client_groups", "clients by application, address and user:");
	rp_table_col(tb, "application", "APPLICATION", COL_STR);
	rp_table_col(tb, "addr", "ADDR", COL_STR);
	rp_table_col(tb, "user", "USER", COL_STR);
	rp_table_col(tb, "total", "CLIENTS", COL_INT);
	rp_table_col(tb, "active", "ACTIVE", COL_INT);
	rp_table_col(tb, "waiting", "WAITING", COL_INT);
	rp_table_col(tb, "idle", "IDLE", COL_INT);
	rp_table_col(tb, "linked", "HOLD_SERVER", COL_INT);
	for (size_t i = 0; i < shown; i++) {
		rp_table_str(tb, g[i].app);
		rp_table_str(tb, g[i].addr);
		rp_table_str(tb, g[i].user);
		rp_table_int(tb, g[i].total);
		rp_table_int(tb, g[i].active);
		rp_table_int(tb, g[i].waiting);
		rp_table_int(tb, g[i].idle);
		rp_table_int(tb, g[i].linked);
	}
	rp_table_end(tb);
}

void bouncer_clients_output(struct report *r, const struct bouncer *b)
{
	size_t n;
	long long clients;
	struct client_group *g = group_clients(b->clients, &n, &clients);
	size_t shown = n < CLIENT_GROUPS_SHOWN ? n : CLIENT_GROUPS_SHOWN;
	if (!n) {
		free(g);
		return;
	}
	groups_table(r, g, shown);
	long long rest = 0;
	for (size_t i = shown; i < n; i++)
		rest += g[i].total;
	rp_open_object(r, "client_groups_more");
	rp_int(r, "groups", n > shown ? "... and %lld more groups" : NULL, (long long)(n - shown));
	rp_int(r, "clients", n > shown ? " with %lld clients\n" : NULL, rest);
	rp_close_object(r);
	bool hint = clients > 1 && names_indistinct(g, n);
	if (hint) {
		bool host_added = pgbouncer_config_num(b->config, "application_name_add_host") == 1;
		rp_string(r, "client_groups_hint", "hint: %s\n", host_added
			? "every client has the same application_name: set application_name in each application's DSN"
			: "every client has the same application_name: set application_name in each application's DSN, "
			  "or application_name_add_host = 1 in pgbouncer.ini so that the server's pg_stat_activity "
			  "tells the clients apart");
	}
	if (n > shown || hint)
		rp_text(r, "\n");
	free(g);
}
