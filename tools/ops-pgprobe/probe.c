/*
 * probe — run every target (and PgBouncer) in parallel, one thread each, all bounded by
 * the same deadline. Threads only fill their own struct; the report is built afterwards
 * in the main thread.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgprobe.h"
#include "util.h"

void probe_target_reset(struct target *t)
{
	conn_error_free(&t->err);
	json_decref(t->snap);
	t->snap = NULL;
	t->connect_ms = t->query_ms = NAN;
}

void probe_bouncer_reset(struct bouncer *b)
{
	conn_error_free(&b->err);
	PGresult **all[] = { &b->pools, &b->stats, &b->clients, &b->servers, &b->config, &b->databases, &b->users };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		PQclear(*all[i]);
		*all[i] = NULL;
	}
	b->connect_ms = NAN;
}

/* One statement; its round trip in t->query_ms. NULL with t->err set on failure. */
static PGresult *run_probe_query(struct target *t, PGconn *c, const struct probe_opts *o,
				 const struct server_features *f, double deadline_ms)
{
	/* The server's own limit on our query: what is left of --timeout, less a margin
	 * for the answer to travel back, so the server cancels before we give up. */
	double left = deadline_ms - now_ms();
	double stmt_ms = fmax(100, left * 0.8);
	char *sql = query_sql(o, f, stmt_ms);
	double start = now_ms();
	PGresult *res = conn_query(c, sql, deadline_ms, &t->err);
	free(sql);
	if (res)
		t->query_ms = now_ms() - start;
	return res;
}

void probe_target(struct target *t, const struct probe_opts *o, double deadline_ms)
{
	PGconn *c = conn_connect(t->dsn, deadline_ms, &t->err, &t->connect_ms);
	if (!c)
		return;
	if (PQserverVersion(c) < 100000) {
		t->err.kind = FAIL_QUERY;
		t->err.message = xasprintf("PostgreSQL %s is too old for ops-pgprobe: pg_stat_activity has no "
					   "backend_type before 10 (10 and 11 may work; 12 to 18 are tested)",
					   PQparameterStatus(c, "server_version"));
		PQfinish(c);
		return;
	}
	/* What the server has is known from the login, without asking: its version, and
	 * from 14 whether it is a replica (in_hot_standby). The statement is built for it. */
	const char *hot = PQparameterStatus(c, "in_hot_standby");
	struct server_features f = {
		.version_num = PQserverVersion(c),
		.in_recovery = hot ? !strcmp(hot, "on") : -1,
	};
	PGresult *res = run_probe_query(t, c, o, &f, deadline_ms);
	/* A server may lack or forbid a piece (an Aurora reader raises on
	 * pg_last_wal_receive_lsn(), a managed one may revoke it): once, a reduced statement
	 * without the replication pieces; the replication-lag check says why it cannot tell. */
	char *reduced_why = NULL;
	if (!res && t->err.kind == FAIL_QUERY && PQstatus(c) == CONNECTION_OK && f.in_recovery != 0) {
		struct probe_error first = t->err;
		memset(&t->err, 0, sizeof(t->err));
		f.no_replication = true;
		res = run_probe_query(t, c, o, &f, deadline_ms);
		if (res) {
			reduced_why = first.message;
			first.message = NULL;
			conn_error_free(&first);
		} else {
			conn_error_free(&t->err);
			t->err = first;
		}
	}
	if (res) {
		json_error_t jerr;
		t->snap = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, &jerr) : NULL;
		if (!t->snap) {
			t->err.kind = FAIL_QUERY;
			t->err.message = xstrdup("the probe query returned something that is not its JSON document");
		} else {
			query_text_prepare(t->snap, o->query_max);
			if (reduced_why)
				json_object_set_new(t->snap, "replication_error", json_string(reduced_why));
		}
		PQclear(res);
	}
	free(reduced_why);
	PQfinish(c);
}

/* The admin console speaks simple query only, one SHOW per query. */
void probe_bouncer(struct bouncer *b, double deadline_ms)
{
	PGconn *c = conn_connect(b->dsn, deadline_ms, &b->err, &b->connect_ms);
	if (!c)
		return;
	struct { const char *sql; PGresult **into; } shows[] = {
		{ "SHOW POOLS", &b->pools }, { "SHOW DATABASES", &b->databases },
		{ "SHOW CONFIG", &b->config }, { "SHOW STATS", &b->stats },
		{ "SHOW CLIENTS", &b->clients }, { "SHOW SERVERS", &b->servers },
		{ "SHOW USERS", &b->users },
	};
	for (size_t i = 0; i < ARRAY_SIZE(shows); i++) {
		*shows[i].into = conn_query(c, shows[i].sql, deadline_ms, &b->err);
		if (!*shows[i].into) {
			if (b->err.kind == FAIL_QUERY && i == 0) {
				char *m = xasprintf("%s (is this PgBouncer's admin console, dbname=pgbouncer, "
						    "and the user in admin_users or stats_users?)", b->err.message);
				free(b->err.message);
				b->err.message = m;
			}
			break;
		}
	}
	PQfinish(c);
}

/*
 * Every probe runs in its own thread on a private copy of its target. libpq resolves
 * host names synchronously inside PQconnectStart, out of reach of our poll deadline, so
 * the main thread waits for the threads only until the deadline (plus a little grace);
 * a thread still stuck then is abandoned (detached): its target is reported as timed
 * out and the thread, when it ever returns, drops its results. The shared block is freed by whoever
 * leaves it last.
 */
struct job {
	struct target *dst_t, work_t;
	struct bouncer *dst_b, work_b;
	bool finished, abandoned;
};

struct run_block {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct probe_opts o;  /* a copy: an abandoned thread may outlive the caller's */
	double deadline_ms;
	size_t pending, refs, n;
	struct job *jobs;
};

static void block_release(struct run_block *rb)
{
	bool last = --rb->refs == 0;
	pthread_mutex_unlock(&rb->mu);
	if (!last)
		return;
	for (size_t i = 0; i < rb->n; i++) {
		free(rb->jobs[i].work_t.dsn);
		free(rb->jobs[i].work_b.dsn);
	}
	pthread_mutex_destroy(&rb->mu);
	pthread_cond_destroy(&rb->cond);
	free(rb->jobs);
	free(rb);
}

static void job_deliver(struct job *j)
{
	if (j->dst_t) {
		struct target *d = j->dst_t, *w = &j->work_t;
		if (j->abandoned) {
			probe_target_reset(w);
			return;
		}
		d->connect_ms = w->connect_ms, d->query_ms = w->query_ms;
		d->err = w->err, d->snap = w->snap;
		memset(&w->err, 0, sizeof(w->err));
		w->snap = NULL;
		return;
	}
	struct bouncer *d = j->dst_b, *w = &j->work_b;
	if (j->abandoned) {
		probe_bouncer_reset(w);
		return;
	}
	char *name = d->name, *dsn = d->dsn, *work_dsn = w->dsn;
	long long processes = d->processes; /* declared, not probed */
	*d = *w;
	d->name = name, d->dsn = dsn, d->processes = processes;
	memset(w, 0, sizeof(*w));
	w->dsn = work_dsn; /* freed with the block */
}

struct job_arg {
	struct run_block *rb;
	size_t index;
};

static void *run_job(void *arg)
{
	struct job_arg a = *(struct job_arg *)arg;
	free(arg);
	struct job *j = &a.rb->jobs[a.index];
	if (j->dst_t)
		probe_target(&j->work_t, &a.rb->o, a.rb->deadline_ms);
	else
		probe_bouncer(&j->work_b, a.rb->deadline_ms);
	pthread_mutex_lock(&a.rb->mu);
	job_deliver(j);
	j->finished = true;
	a.rb->pending--;
	pthread_cond_signal(&a.rb->cond);
	block_release(a.rb);
	return NULL;
}

static struct run_block *block_new(struct target *ts, size_t nt, struct bouncer *bs, size_t nb,
				   const struct probe_opts *o)
{
	struct run_block *rb = xcalloc(1, sizeof(*rb));
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rb->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&rb->mu, NULL);
	rb->o = *o;
	rb->o.pools = NULL, rb->o.npools = 0;
	rb->deadline_ms = now_ms() + o->timeout_ms;
	rb->n = nt + nb;
	rb->refs = 1;
	rb->jobs = xcalloc(rb->n + 1, sizeof(*rb->jobs));
	for (size_t i = 0; i < rb->n; i++) {
		struct job *j = &rb->jobs[i];
		if (i < nt) {
			probe_target_reset(&ts[i]);
			j->dst_t = &ts[i];
			j->work_t = (struct target){ .dsn = xstrdup(ts[i].dsn), .connect_ms = NAN, .query_ms = NAN };
		} else {
			probe_bouncer_reset(&bs[i - nt]);
			j->dst_b = &bs[i - nt];
			j->work_b = (struct bouncer){ .dsn = xstrdup(bs[i - nt].dsn), .connect_ms = NAN };
		}
	}
	return rb;
}

static void abandon(struct job *j, double timeout_ms)
{
	j->abandoned = true;
	struct probe_error *e = j->dst_t ? &j->dst_t->err : &j->dst_b->err;
	conn_error_free(e);
	e->kind = FAIL_TIMEOUT;
	e->message = xasprintf("no answer within %.1fs (--timeout): libpq did not return, most likely "
			       "resolving the host name (DNS)", timeout_ms / 1000);
	e->hint = xstrdup("check the resolver, or give the address (hostaddr=) in the DSN");
}

void probe_run_all(struct target *ts, size_t nt, struct bouncer *bs, size_t nb,
		   const struct probe_opts *o)
{
	struct run_block *rb = block_new(ts, nt, bs, nb, o);
	size_t n = rb->n;
	pthread_t *threads = xcalloc(n + 1, sizeof(*threads));
	bool *join = xcalloc(n + 1, sizeof(*join));
	pthread_mutex_lock(&rb->mu);
	for (size_t i = 0; i < n; i++) {
		struct job_arg *a = xmalloc(sizeof(*a));
		*a = (struct job_arg){ rb, i };
		if (pthread_create(&threads[i], NULL, run_job, a) == 0) {
			rb->refs++, rb->pending++;
			join[i] = true;
		} else {
			free(a);
			abandon(&rb->jobs[i], 0);
			rb->jobs[i].finished = true;
		}
	}
	/* A grace period past the deadline: the probes stop themselves at the deadline. */
	double until = rb->deadline_ms + 250; /* now_ms() is CLOCK_MONOTONIC too */
	struct timespec ts_until = { (time_t)(until / 1000), (long)(fmod(until, 1000) * 1e6) };
	while (rb->pending && pthread_cond_timedwait(&rb->cond, &rb->mu, &ts_until) == 0)
		;
	for (size_t i = 0; i < n; i++) {
		if (!rb->jobs[i].finished && join[i]) {
			abandon(&rb->jobs[i], o->timeout_ms);
			pthread_detach(threads[i]);
			join[i] = false;
		}
	}
	block_release(rb);
	/* Finished threads are only returning: joining them lets their thread-local state
	 * (libpq's, OpenSSL's) go before the process does. */
	for (size_t i = 0; i < n; i++)
		if (join[i])
			pthread_join(threads[i], NULL);
	free(join);
	free(threads);
}
