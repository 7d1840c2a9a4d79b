/*
 * The exact pass: after the scan, the top-N candidates of the big-key tables are measured
 * again with MEMORY USAGE ... SAMPLES 0, which walks every element. That costs the server
 * O(elements) per key, so a key with more elements than redis.exact_max_elements keeps its
 * sampled size, marked "estimated". Strings are never sampled by the server: exact as read.
 * Only the few listed keys are measured; the scan's cost per key does not change.
 */
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

const char *const exact_method_names[SZ_COUNT] = { "sampled", "exact", "estimated" };

/* A command on the node's connection; NULL when it failed. A broken connection only ends
 * this pass on the node (the scan's result stands), so node->error is left alone. */
static redisReply *key_command(struct node *n, const char *cmd, const char *sub, const struct key_entry *e,
			       bool *broken)
{
	struct key_argv a;
	conn_key_argv(&a, cmd, sub, e->key, e->len, strcmp(cmd, "MEMORY") ? NULL : "0");
	redisReply *r = redisCommandArgv(n->c, a.argc, a.argv, a.len);
	if (!r) {
		*broken = true;
		return NULL;
	}
	if (r->type != REDIS_REPLY_INTEGER) {   /* an error, or nil: the key is gone */
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* Measures one entry; false when the node's connection broke. */
static bool measure(struct node *n, const struct settings *s, struct key_entry *e)
{
	if (e->type == KT_STRING || s->samples == 0) {
		e->size_method = SZ_EXACT;
		return true;
	}
	const char *len_cmd = agg_length_cmd(e->type);
	if (!len_cmd)
		return true;   /* a module type: no element count to bound the walk by */
	bool broken = false;
	redisReply *r = key_command(n, len_cmd, NULL, e, &broken);
	if (!r)
		return !broken;
	long long elements = r->integer;
	freeReplyObject(r);
	if (elements > s->exact_max_elements) {
		e->size_method = SZ_ESTIMATED;
		return true;
	}
	if ((r = key_command(n, "MEMORY", "USAGE", e, &broken))) {
		e->memory = (u64)(r->integer > 0 ? r->integer : 0);
		e->size_method = SZ_EXACT;
		freeReplyObject(r);
	}
	return !broken;
}

static struct key_entry *find_in(struct topn *t, const struct key_entry *e)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].node == e->node && t->v[i].len == e->len && !memcmp(t->v[i].key, e->key, e->len))
			return &t->v[i];
	return NULL;
}

static void measure_table(struct node *nodes, size_t nn, const struct settings *s, struct topn *t,
			  struct topn *measured, bool *node_done)
{
	for (size_t i = 0; i < t->n; i++) {
		struct key_entry *e = &t->v[i];
		struct key_entry *known = measured ? find_in(measured, e) : NULL;
		if (known) {
			e->memory = known->memory;
			e->size_method = known->size_method;
			continue;
		}
		if (e->node < 0 || (size_t)e->node >= nn || node_done[e->node])
			continue;
		struct node *n = &nodes[e->node];
		if (!n->connected || !n->c || n->error || n->no_memory)
			node_done[e->node] = true;
		else if (!measure(n, s, e))
			node_done[e->node] = true;
	}
}

void exact_pass(struct node *nodes, size_t nn, const struct settings *s, struct agg *total)
{
	bool *node_done = xcalloc(nn + 1, sizeof(*node_done));
	measure_table(nodes, nn, s, &total->top_all, NULL, node_done);
	for (int k = 0; k < KT_COUNT; k++)
		measure_table(nodes, nn, s, &total->top_type[k], &total->top_all, node_done);
	free(node_done);
}
