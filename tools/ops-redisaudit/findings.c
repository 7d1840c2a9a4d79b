/* Findings: each a check with a stable id (see ops-redisaudit(1), CHECKS). */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redisaudit.h"
#include "util.h"

/* SLOWLOG entries read per node: the server's default slowlog-max-len. */
#define SLOWLOG_ENTRIES 128
#define CALLERS_MAX 100

/* ---- who calls KEYS (read before the scan: our own commands would fill SLOWLOG) ---- */

static struct keys_caller *caller_for(struct caller_list *l, const char *node, const char *addr,
				      const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].node, node) && !strcmp(l->v[i].addr, addr) && !strcmp(l->v[i].name, name))
			return &l->v[i];
	if (l->n >= CALLERS_MAX)
		return NULL;
	l->v = xrealloc(l->v, sizeof(*l->v) * (l->n + 1));
	struct keys_caller *c = &l->v[l->n++];
	memset(c, 0, sizeof(*c));
	c->node = xstrdup(node);
	c->addr = xstrdup(addr);
	c->name = xstrdup(name);
	c->source = xstrdup("");
	return c;
}

static void caller_add_source(struct keys_caller *c, const char *source)
{
	if (strstr(c->source, source))
		return;
	char *s = xasprintf("%s%s%s", c->source, *c->source ? "," : "", source);
	free(c->source);
	c->source = s;
}

/* A command whose refusal (ACL NOPERM, renamed command) is noted, not fatal: the
 * keys-command check then says what it could not read. */
static redisReply *observe(struct node *n, struct caller_list *out, const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(n->c, fmt, ap);
	va_end(ap);
	if (!r || r->type != REDIS_REPLY_ERROR)
		return r;   /* a broken connection shows up as the scan's error */
	struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "%s%s%s on %s: %s", out->unreadable ? out->unreadable : "",
		out->unreadable ? "; " : "", what, n->label, r->str);
	free(out->unreadable);
	out->unreadable = sb_detach(&sb);
	freeReplyObject(r);
	return NULL;
}

static void collect_commandstats(struct node *n, struct caller_list *out)
{
	redisReply *r = observe(n, out, "INFO commandstats", "INFO commandstats");
	if (!r)
		return;
	const char *p = r->type == REDIS_REPLY_STRING ? strstr(r->str, "cmdstat_keys:calls=") : NULL;
	if (p)
		out->commandstat_calls += atoll(p + strlen("cmdstat_keys:calls="));
	freeReplyObject(r);
}

static void collect_slowlog(struct node *n, struct caller_list *out)
{
	redisReply *r = observe(n, out, "SLOWLOG GET", "SLOWLOG GET %d", SLOWLOG_ENTRIES);
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		if (r)
			freeReplyObject(r);
		return;
	}
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *e = r->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 6)
			continue;
		redisReply *args = e->element[3];
		if (args->type != REDIS_REPLY_ARRAY || !args->elements || !args->element[0]->str ||
		    strcasecmp(args->element[0]->str, "keys"))
			continue;
		struct keys_caller *c = caller_for(out, n->label, e->element[4]->str ? e->element[4]->str : "",
						   e->element[5]->str ? e->element[5]->str : "");
		if (!c)
			continue;
		caller_add_source(c, "slowlog");
		c->calls++;
		if (!c->detail && args->elements > 1 && args->element[1]->str) {
			char *pat = prefix_key_display(args->element[1]->str, args->element[1]->len);
			c->detail = xasprintf("KEYS \"%s\" took %lld us", pat, e->element[2]->integer);
			free(pat);
		}
	}
	freeReplyObject(r);
}

/* "name=value" of a CLIENT LIST line into out. */
static void client_field(const char *line, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);
	out[0] = '\0';
	for (const char *p = line; p; p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL) {
		if (!strncmp(p, name, nl) && p[nl] == '=') {
			size_t n = strcspn(p + nl + 1, " \r\n");
			if (n >= outsz)
				n = outsz - 1;
			memcpy(out, p + nl + 1, n);
			out[n] = '\0';
			return;
		}
	}
}

static void collect_client_list(struct node *n, struct caller_list *out)
{
	redisReply *r = observe(n, out, "CLIENT LIST", "CLIENT LIST");
	if (!r || r->type != REDIS_REPLY_STRING) {
		if (r)
			freeReplyObject(r);
		return;
	}
	char *save = NULL, *text = xstrdup(r->str);
	freeReplyObject(r);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char cmd[64], addr[128], name[128];
		client_field(line, "cmd", cmd, sizeof(cmd));
		if (strcasecmp(cmd, "keys"))
			continue;
		client_field(line, "addr", addr, sizeof(addr));
		client_field(line, "name", name, sizeof(name));
		struct keys_caller *c = caller_for(out, n->label, addr, name);
		if (c)
			caller_add_source(c, "client-list");
	}
	free(text);
}

void findings_collect_callers(struct node *n, struct caller_list *out)
{
	collect_commandstats(n, out);
	collect_slowlog(n, out);
	collect_client_list(n, out);
}

void findings_callers_free(struct caller_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].node);
		free(l->v[i].addr);
		free(l->v[i].name);
		free(l->v[i].source);
		free(l->v[i].detail);
	}
	free(l->v);
	free(l->unreadable);
	memset(l, 0, sizeof(*l));
}

static void report_keys_callers(struct report *r, const struct settings *s, const struct caller_list *cl)
{
	(void)s;
	for (size_t i = 0; i < cl->n; i++) {
		const struct keys_caller *c = &cl->v[i];
		struct check *ck = report_check(r, "keys-command", ST_WARNING, c->addr,
						"client %s%s%s on %s called KEYS (seen in %s)%s%s",
						c->addr, *c->name ? " name=" : "", c->name, c->node, c->source,
						c->detail ? ": " : "", c->detail ? c->detail : "");
		check_hint(ck, "KEYS blocks the server while it walks every key; use SCAN in that client");
	}
	if (!cl->n && cl->commandstat_calls > 0) {
		struct check *ck = report_check(r, "keys-command", ST_WARNING, NULL,
						"KEYS was called %lld time%s since the stats were reset; "
						"no caller is in SLOWLOG or CLIENT LIST now", cl->commandstat_calls,
						cl->commandstat_calls == 1 ? "" : "s");
		check_hint(ck, "lower slowlog-log-slower-than for a while to catch the client, or "
			       "rename KEYS away with rename-command");
		check_metric(ck, "keys_calls", (double)cl->commandstat_calls, "c", THRESHOLDS_NONE);
	}
	if (!cl->n && !cl->commandstat_calls && !cl->unreadable)
		report_check(r, "keys-command", ST_OK, NULL, "no client called KEYS");
	else if (!cl->n && !cl->commandstat_calls)
		check_hint(report_check(r, "keys-command", ST_UNKNOWN, NULL,
					"cannot tell who calls KEYS: the server refused %s", cl->unreadable),
			   "grant the audit user +info +slowlog|get +client|list");
}

/* ---- keys without TTL ---- */

static void report_expire_patterns(struct report *r, const struct settings *s, const struct agg *a)
{
	for (size_t i = 0; i < s->n_expire_patterns; i++) {
		const struct pattern_hits *h = &a->patterns[i];
		if (!h->keys) {
			report_check(r, "no-ttl-pattern", ST_OK, s->expire_patterns[i],
				     "every key matching %s has a TTL", s->expire_patterns[i]);
			continue;
		}
		char *ex = prefix_key_display(h->example, h->example_len);
		struct check *c = report_check(r, "no-ttl-pattern", ST_WARNING, s->expire_patterns[i],
					       "%llu keys matching %s have no TTL (e.g. \"%s\")", h->keys,
					       s->expire_patterns[i], ex);
		check_hint(c, "set a TTL where these keys are written (SET ... EX, EXPIRE); "
			      "existing keys stay until deleted or expired by hand");
		check_metric(c, "no_ttl_keys", (double)h->keys, "", THRESHOLDS_NONE);
		free(ex);
	}
}

static void report_ttl_heuristic(struct report *r, const struct settings *s, const struct agg *a)
{
	struct prefix_entry **v = agg_prefix_sorted(&a->prefixes);
	size_t found = 0;
	for (size_t i = 0; i < a->prefixes.n; i++) {
		const struct prefix_entry *p = v[i];
		if (!p->len || (long long)p->st.keys < s->ttl_heuristic_min || !p->st.no_ttl)
			continue;
		double with_ttl = 100.0 * (double)(p->st.keys - p->st.no_ttl) / (double)p->st.keys;
		if (with_ttl < s->ttl_heuristic_pct)
			continue;
		char *name = prefix_key_display(p->name, p->len);
		char *ex = prefix_key_display(p->example_no_ttl ? p->example_no_ttl : "", p->example_len);
		struct check *c = report_check(r, "no-ttl-prefix", ST_WARNING, name,
					       "%llu of %llu keys under %s have no TTL while %.1f%% expire (e.g. \"%s\")",
					       p->st.no_ttl, p->st.keys, name, with_ttl, ex);
		check_hint(c, "a code path writes these keys without EX/EXPIRE; they will never leave");
		check_metric(c, "no_ttl_keys", (double)p->st.no_ttl, "", THRESHOLDS_NONE);
		free(name);
		free(ex);
		found++;
	}
	free(v);
	if (!found)
		report_check(r, "no-ttl-prefix", ST_OK, NULL,
			     "no prefix mixes expiring keys with keys that never expire");
}

/* ---- big keys ---- */

static void report_big_keys(struct report *r, const struct settings *s, struct node *nodes,
			    const struct agg *a)
{
	if (a->memory_refused) {   /* sizes unknown: never OK */
		struct check *c = report_check(r, "big-key", ST_UNKNOWN, NULL,
					       "cannot size %llu keys: MEMORY USAGE is unavailable (%s); element "
					       "counts are judged instead (big-key-elements)", a->memory_refused,
					       a->memory_error ? a->memory_error : "refused");
		check_hint(c, "grant the audit user +memory|usage, or undo the rename-command of MEMORY");
	}
	struct key_entry *top = agg_topn_sorted(&a->top_all);
	size_t shown = 0;
	for (size_t i = 0; i < a->top_all.n; i++) {
		const struct key_entry *e = &top[i];
		enum status st = (double)e->memory >= s->big_crit ? ST_CRITICAL
			       : (double)e->memory >= s->big_warn ? ST_WARNING : ST_OK;
		if (st == ST_OK)
			break;
		char *k = prefix_key_display(e->key, e->len);
		struct check *c = report_check(r, "big-key", st, k, "%s key \"%s\" on %s uses %s (threshold %s)",
					       agg_ktype_names[e->type], k, nodes[e->node].label, human_bytes((double)e->memory),
					       human_bytes(st == ST_CRITICAL ? s->big_crit : s->big_warn));
		check_hint(c, "split the value, or delete it with UNLINK (not DEL) to free it off the main thread");
		check_metric(c, "key_memory_bytes", (double)e->memory, "B",
			     (struct thresholds){ s->big_warn, s->big_crit, 0, NAN });
		free(k);
		shown++;
	}
	free(top);
	/* big_warn counts a key SCAN returned twice twice: only a full heap can have left
	 * big keys out */
	if (a->big_warn > shown && a->top_all.n == a->top_all.max) {
		size_t crit_shown = 0;
		for (size_t i = 0; i < a->top_all.n; i++)
			crit_shown += (double)a->top_all.v[i].memory >= s->big_crit;
		enum status st = a->big_crit > crit_shown ? ST_CRITICAL : ST_WARNING;
		if (shown)
			report_check(r, "big-key", st, NULL, "%llu keys are over %s (%llu over %s); the %zu largest are listed",
				     a->big_warn, human_bytes(s->big_warn), a->big_crit, human_bytes(s->big_crit), shown);
		else
			report_check(r, "big-key", st, NULL, "%llu keys are over %s (%llu over %s); none listed (--top 0)",
				     a->big_warn, human_bytes(s->big_warn), a->big_crit, human_bytes(s->big_crit));
	}
	if (!a->big_warn && !a->memory_refused)
		report_check(r, "big-key", ST_OK, NULL, "no key uses %s or more", human_bytes(s->big_warn));
}

static void report_big_lengths(struct report *r, const struct settings *s, struct node *nodes,
			       const struct agg *a)
{
	if (!s->lengths && !a->memory_refused)
		return;
	struct key_entry *top = agg_topn_sorted(&a->top_len);
	size_t shown = 0;
	for (size_t i = 0; i < a->top_len.n; i++) {
		const struct key_entry *e = &top[i];
		enum status st = (double)e->length >= s->big_len_crit ? ST_CRITICAL
			       : (double)e->length >= s->big_len_warn ? ST_WARNING : ST_OK;
		if (st == ST_OK)
			break;
		char *k = prefix_key_display(e->key, e->len);
		struct check *c = report_check(r, "big-key-elements", st, k, "%s key \"%s\" on %s has %lld elements",
					       agg_ktype_names[e->type], k, nodes[e->node].label, e->length);
		check_metric(c, "key_elements", (double)e->length, "",
			     (struct thresholds){ s->big_len_warn, s->big_len_crit, 0, NAN });
		free(k);
		shown++;
	}
	free(top);
	if (!shown)
		report_check(r, "big-key-elements", ST_OK, NULL, "no key has %.0f elements or more", s->big_len_warn);
}

/* ---- streams over their MAXLEN ---- */

static void report_streams(struct report *r, const struct settings *s, struct node *nodes, size_t nn,
			   const struct agg *a)
{
	const char *assumed = NULL;   /* a node whose stream-node-max-entries was not readable */
	for (size_t i = 0; i < s->n_streams; i++)
		for (size_t j = 0; j < nn && isnan(s->streams[i].tolerance); j++)
			if (nodes[j].connected && nodes[j].config_refused && !assumed)
				assumed = nodes[j].label;
	for (size_t i = 0; i < a->n_stream_hits; i++) {
		const struct stream_hit *h = &a->stream_hits[i];
		const struct stream_rule *rule = &s->streams[h->rule];
		char *k = prefix_key_display(h->e.key, h->e.len);
		enum status st = h->e.length > 2 * rule->maxlen ? ST_CRITICAL : ST_WARNING;
		struct check *c = report_check(r, "stream-maxlen", st, k,
					       "stream \"%s\" on %s has %lld entries, over its MAXLEN %lld (rule %s)",
					       k, nodes[h->e.node].label, h->e.length, rule->maxlen, rule->name);
		if (assumed)
			check_hint(c, "the producer does not trim: use XADD ... MAXLEN ~ %lld, or XTRIM it once "
				      "(tolerance: stream-node-max-entries assumed 100, CONFIG GET refused on %s)",
				   rule->maxlen, assumed);
		else
			check_hint(c, "the producer does not trim: use XADD ... MAXLEN ~ %lld, or XTRIM it once",
				   rule->maxlen);
		check_metric(c, "stream_length", (double)h->e.length, "",
			     (struct thresholds){ (double)rule->maxlen, 2.0 * (double)rule->maxlen, 0, NAN });
		free(k);
	}
	if (a->stream_hits_dropped)
		report_check(r, "stream-maxlen", ST_WARNING, NULL, "%llu more streams are over their MAXLEN",
			     a->stream_hits_dropped);
	if (s->n_streams && !a->n_stream_hits)
		report_check(r, "stream-maxlen", ST_OK, NULL, "every configured stream is within its MAXLEN%s%s%s",
			     assumed ? " (tolerance: stream-node-max-entries assumed 100, CONFIG GET refused on " : "",
			     assumed ? assumed : "", assumed ? ")" : "");
}

/* ---- maxmemory and eviction ---- */

static void report_maxmemory(struct report *r, const struct settings *s, struct node *n)
{
	if (!n->connected)
		return;   /* its connect error is on the scan check */
	const struct stats *t = &n->agg.total;
	/* a scanned replica's setting is its primary's: named as read (replica.c) */
	const char *subject = n->facts_from ? n->facts_from : n->label;
	double no_ttl_pct = t->keys ? 100.0 * (double)t->no_ttl / (double)t->keys : 0;
	if (n->maxmemory == 0 && s->require_maxmemory) {
		struct check *c = report_check(r, "maxmemory", ST_WARNING, subject,
					       "maxmemory is unset: Redis grows until the host runs out of memory");
		check_hint(c, "set maxmemory (and a maxmemory-policy) below the memory the host can give");
		return;
	}
	if (n->maxmemory > 0 && str_starts_with(n->maxmemory_policy, "volatile-") && t->no_ttl) {
		struct check *c = report_check(r, "maxmemory", ST_WARNING, subject,
					       "policy %s evicts only keys with a TTL, but %.1f%% of keys (%llu) have none",
					       n->maxmemory_policy, no_ttl_pct, t->no_ttl);
		check_hint(c, "give those keys a TTL, or use an allkeys-* policy if they may be evicted");
		return;
	}
	if (n->maxmemory < 0) {
		check_hint(report_check(r, "maxmemory", ST_UNKNOWN, subject, "INFO did not report maxmemory"),
			   "grant the audit user +info");
		return;
	}
	report_check(r, "maxmemory", ST_OK, subject, "maxmemory %s, policy %s",
		     n->maxmemory ? human_bytes((double)n->maxmemory) : "unset", n->maxmemory_policy);
}

void findings_report(struct report *r, const struct settings *s, struct node *nodes, size_t nn,
		     const struct agg *total, const struct caller_list *callers)
{
	report_expire_patterns(r, s, total);
	report_ttl_heuristic(r, s, total);
	report_big_keys(r, s, nodes, total);
	report_big_lengths(r, s, nodes, total);
	report_streams(r, s, nodes, nn, total);
	findings_report_server(r, s, nodes, nn, callers);
}

void findings_report_server(struct report *r, const struct settings *s, struct node *nodes, size_t nn,
			    const struct caller_list *callers)
{
	report_keys_callers(r, s, callers);
	for (size_t i = 0; i < nn; i++)
		report_maxmemory(r, s, &nodes[i]);
}
