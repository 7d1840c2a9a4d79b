/*
 * pool_model — how many connections an application may open, as deployed:
 *
 *     ceil(pods x surge) x processes x concurrency x (pool_max + overflow)
 *
 * pods: replicas (Kubernetes, a fleet); surge: the rolling deploy's factor (old and new
 * pods run at once: maxSurge 25% is 1.25); processes: workers per pod (gunicorn, puma,
 * WEB_CONCURRENCY); concurrency: Celery's prefork children per worker, each its own
 * pool; pool_max + overflow: one pool (SQLAlchemy pool_size + max_overflow).
 * Each declared application is also held to its word: one that holds more server
 * connections than it may open leaks them, or runs more copies than declared.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pgprobe.h"
#include "util.h"

#define POOL_NUM_MAX 1000000 /* any one factor: keeps the product exact in a double */

void pool_spec_init(struct pool_spec *p, char *name)
{
	*p = (struct pool_spec){ .name = name, .pods = 1, .concurrency = 1, .surge = 1 };
}

bool pool_spec_applies(const struct pool_spec *p, const struct target *t)
{
	return !p->target || !strcmp(p->target, t->name);
}

double pool_model_peak(const struct pool_spec *p)
{
	double instances = ceil((double)p->pods * p->surge - 1e-9);
	return instances * (double)p->workers * (double)p->concurrency * ((double)p->pool_max + (double)p->overflow);
}

/* "web 8 x (10 + 5) = 120" as before; the factors that are not 1 are spelled out. */
void pool_model_formula(struct strbuf *sb, const struct pool_spec *p)
{
	sb_addf(sb, "%s ", p->name);
	if (p->pods != 1 || p->surge != 1) {
		if (p->surge != 1)
			sb_addf(sb, "%.0f pods (%lld x surge %g) x ", ceil((double)p->pods * p->surge - 1e-9), p->pods, p->surge);
		else
			sb_addf(sb, "%lld pods x ", p->pods);
	}
	sb_addf(sb, "%lld x ", p->workers);
	if (p->concurrency != 1)
		sb_addf(sb, "concurrency %lld x ", p->concurrency);
	sb_addf(sb, "(%lld + %lld) = %.0f", p->pool_max, p->overflow, pool_model_peak(p));
}

static int parse_factor(const char *v, long long *out)
{
	return parse_ll(v, out) || *out < 0 || *out > POOL_NUM_MAX ? -1 : 0;
}

/* One key=value of the long form; -1 with *why for a wrong key or value. */
static int pool_key(struct pool_spec *p, const char *key, const char *v, char **why)
{
	static const struct { const char *key; size_t off; } ints[] = {
		{ "pods", offsetof(struct pool_spec, pods) },
		{ "processes", offsetof(struct pool_spec, workers) },
		{ "workers", offsetof(struct pool_spec, workers) },
		{ "concurrency", offsetof(struct pool_spec, concurrency) },
		{ "pool", offsetof(struct pool_spec, pool_max) },
		{ "pool_max", offsetof(struct pool_spec, pool_max) },
		{ "min", offsetof(struct pool_spec, pool_min) },
		{ "pool_min", offsetof(struct pool_spec, pool_min) },
		{ "overflow", offsetof(struct pool_spec, overflow) },
	};
	if (!strcmp(key, "app") || !strcmp(key, "target")) {
		char **dst = !strcmp(key, "app") ? &p->name : &p->target;
		if (!*v || *dst) {
			*why = xasprintf("%s wants one non-empty value", key);
			return -1;
		}
		*dst = xstrdup(v);
		return 0;
	}
	if (!strcmp(key, "surge")) {
		if (parse_double(v, &p->surge) || !(p->surge >= 1 && p->surge <= 10)) {
			*why = xasprintf("surge must be a factor from 1 to 10 (1.25 for maxSurge 25%%), got \"%s\"", v);
			return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
		if (strcmp(key, ints[i].key))
			continue;
		if (parse_factor(v, (long long *)((char *)p + ints[i].off)) == 0)
			return 0;
		*why = xasprintf("%s must be a whole number from 0 to %d, got \"%s\"", key, POOL_NUM_MAX, v);
		return -1;
	}
	*why = xasprintf("unknown key \"%s\" (app, pods, processes, concurrency, pool, min, overflow, surge, target)", key);
	return -1;
}

/* app=NAME,pods=6,processes=4,pool=5,overflow=10,surge=1.25 */
static int parse_long_form(const char *arg, struct pool_spec *p, char **why)
{
	char *copy = xstrdup(arg), *save = NULL;
	int rc = 0;
	bool have_pool = false;
	p->workers = 1;
	for (char *item = strtok_r(copy, ",", &save); item && !rc; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (!eq) {
			*why = xasprintf("\"%s\" is not key=value", item);
			rc = -1;
			break;
		}
		*eq = '\0';
		have_pool |= !strcmp(item, "pool") || !strcmp(item, "pool_max");
		rc = pool_key(p, item, eq + 1, why);
	}
	free(copy);
	if (!rc && (!p->name || !have_pool)) {
		*why = xstrdup("needs app=NAME and pool=N");
		rc = -1;
	}
	if (!rc && p->pool_min > p->pool_max) {
		*why = xstrdup("min is larger than pool");
		rc = -1;
	}
	return rc;
}

/* NAME=WxP[+O] (web=8x10+5) */
static int parse_short_form(const char *arg, const char *eq, struct pool_spec *p)
{
	char *spec = xstrdup(eq + 1), *x = strchr(spec, 'x'), *plus;
	int rc = -1;
	if (x) {
		*x = '\0';
		if ((plus = strchr(x + 1, '+')))
			*plus = '\0';
		if (!parse_factor(spec, &p->workers) && !parse_factor(x + 1, &p->pool_max) &&
		    (!plus || !parse_factor(plus + 1, &p->overflow)))
			rc = 0;
	}
	free(spec);
	if (!rc)
		p->name = xstrndup(arg, (size_t)(eq - arg));
	return rc;
}

int pool_model_parse(const char *arg, struct pool_spec *p, char **why)
{
	const char *eq = strchr(arg, '=');
	pool_spec_init(p, NULL);
	*why = NULL;
	/* The long form starts with a key; the short one with the name, then a digit. */
	int rc = eq && eq != arg && (eq[1] >= '0' && eq[1] <= '9') ? parse_short_form(arg, eq, p)
								   : parse_long_form(arg, p, why);
	if (rc) {
		char *detail = *why;
		if (detail)
			*why = xasprintf("wants app=NAME,pods=N,processes=N,concurrency=N,pool=N,overflow=N,surge=F: %s", detail);
		else
			*why = xasprintf("wants NAME=WORKERSxPOOL_MAX[+OVERFLOW] (web=8x10+5) or app=NAME,pool=N,..., got \"%s\"", arg);
		free(detail);
		free(p->name);
		free(p->target);
		p->name = p->target = NULL;
	}
	return rc;
}

/* Connections the application holds on the server: its rows of the by-application
 * groups (the statement keeps the largest 100). */
static double held_on_server(const json_t *snap, const char *app)
{
	const json_t *groups = json_object_get(snap, "groups"), *g;
	size_t i;
	double n = 0;
	json_array_foreach(groups, i, g) {
		const char *a = checks_json_str(g, "application");
		if (a && !strcmp(a, app))
			n += checks_json_num(g, "total");
	}
	return n;
}

/* What the application's pools hold: its server sessions, or its PgBouncer clients when
 * more (behind a pooler its pools connect to PgBouncer, where clients may wait for a
 * server connection; in session mode both count the same connections, so no sum). */
static double held_by(const json_t *snap, const char *app, const struct bouncer *bs, size_t nb)
{
	double n = held_on_server(snap, app), via_bouncers = 0;
	for (size_t i = 0; i < nb; i++) {
		double c = bouncer_clients_named(&bs[i], app);
		via_bouncers += isnan(c) ? 0 : c;
	}
	return fmax(n, via_bouncers);
}

void pool_model_held_checks(struct report *r, const struct target *t, const struct probe_opts *o,
			    const struct bouncer *bs, size_t nb)
{
	struct strbuf over = STRBUF_INIT, fine = STRBUF_INIT;
	double excess = 0;
	size_t n = 0;
	for (size_t i = 0; t->snap && i < o->npools; i++) {
		const struct pool_spec *p = &o->pools[i];
		if (!pool_spec_applies(p, t))
			continue;
		double held = held_by(t->snap, p->name, bs, nb), peak = pool_model_peak(p);
		struct strbuf *sb = held > peak ? &over : &fine;
		sb_addf(sb, "%s%s %.0f of %.0f", sb->len ? ", " : "", p->name, held, peak);
		excess += fmax(0, held - peak);
		n++;
	}
	if (n) {
		struct check *c;
		if (over.len) {
			c = report_check(r, "pool-held", ST_WARNING, t->name, "holding more connections than declared: %s",
					 sb_str(&over));
			check_hint(c, "an application holding more than its pools may open leaks connections (sessions not "
				      "returned to the pool), or runs more pods/processes than declared: fix the declaration or the leak");
		} else {
			c = report_check(r, "pool-held", ST_OK, t->name, "every application holds at most its declared maximum: %s",
					 sb_str(&fine));
		}
		check_metric(c, "pool_connections_held_excess", excess, "", THRESHOLDS_NONE);
	}
	sb_release(&over);
	sb_release(&fine);
}
