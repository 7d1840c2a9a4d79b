/*
 * Slot coverage of a cluster scan. The slot map is read before and after the scan (CLUSTER
 * NODES: owners, flags, and each node's own MIGRATING/IMPORTING slots, which only that node
 * shows). A slot no healthy primary serves, or one that changed hands or was migrating,
 * makes the answer partial: keys of such a slot may be counted twice or not at all, and the
 * report says so instead of presenting the sums as the key space.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

/* The owner number of a node id (1-based), added when new. */
static uint16_t owner_of(struct slot_map *m, const char *id, const char *addr, bool healthy)
{
	for (size_t i = 0; i < m->n_owners; i++)
		if (!strcmp(m->owners[i].id, id))
			return (uint16_t)(i + 1);
	m->owners = xrealloc(m->owners, sizeof(*m->owners) * (m->n_owners + 1));
	m->owners[m->n_owners] = (struct slot_owner){ xstrdup(id), xstrdup(addr), healthy };
	return (uint16_t)++m->n_owners;
}

/* "0-5460", "5461", or "[5461->-id]" / "[5461-<-id]" (migrating / importing). */
static void parse_slot_field(struct slot_map *m, const char *f, uint16_t owner, bool myself)
{
	long lo, hi;
	char *end;
	if (f[0] == '[') {
		lo = strtol(f + 1, &end, 10);
		if (myself && end != f + 1 && lo >= 0 && lo < CLUSTER_SLOTS)
			m->migrating[lo] = true;
		return;
	}
	lo = strtol(f, &end, 10);
	if (end == f)
		return;
	hi = *end == '-' ? strtol(end + 1, NULL, 10) : lo;
	for (long s = lo < 0 ? 0 : lo; s <= hi && s < CLUSTER_SLOTS; s++)
		m->owner[s] = owner;
}

/* One CLUSTER NODES line: "<id> <addr> <flags> <primary> <ping> <pong> <epoch> <link> <slot>...".
 * Only the answering node (flag myself) lists its migrating slots; owners come from
 * whoever answers first (want_owners). */
static void parse_line(struct slot_map *m, char *line, bool want_owners)
{
	char *save = NULL, *f[8];
	for (int i = 0; i < 8; i++)
		if (!(f[i] = strtok_r(i ? NULL : line, " ", &save)))
			return;
	bool myself = conn_has_flag(f[2], "myself");
	if (!want_owners && !myself)
		return;
	bool primary = conn_has_flag(f[2], "master");
	f[1][strcspn(f[1], "@")] = '\0';
	uint16_t owner = primary ? owner_of(m, f[0], f[1], !conn_flags_unhealthy(f[2])) : 0;
	for (char *slot; (slot = strtok_r(NULL, " ", &save));)
		if (primary && (want_owners || slot[0] == '['))
			parse_slot_field(m, slot, owner, myself);
}

static void parse_nodes_text(struct slot_map *m, const char *text, bool want_owners)
{
	char *copy = xstrdup(text), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		parse_line(m, line, want_owners);
	free(copy);
}

int slots_read(struct slot_map *m, struct node *nodes, size_t nn)
{
	memset(m, 0, sizeof(*m));
	bool have_owners = false;
	for (size_t i = 0; i < nn; i++) {
		if (!nodes[i].connected || !nodes[i].c)
			continue;
		redisReply *r = conn_node_command(&nodes[i], "CLUSTER NODES");
		if (r && r->type == REDIS_REPLY_STRING) {
			parse_nodes_text(m, r->str, !have_owners);
			have_owners = true;
		}
		if (r)
			freeReplyObject(r);
	}
	m->valid = have_owners;
	return have_owners ? 0 : -1;
}

void slots_free(struct slot_map *m)
{
	for (size_t i = 0; i < m->n_owners; i++) {
		free(m->owners[i].id);
		free(m->owners[i].addr);
	}
	free(m->owners);
	memset(m, 0, sizeof(*m));
}

static const struct slot_owner *owner_at(const struct slot_map *m, int slot)
{
	return m->owner[slot] ? &m->owners[m->owner[slot] - 1] : NULL;
}

/* Whether the ", "-separated list already names item. */
static bool listed(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = list; p; p = strstr(p, ", ") ? strstr(p, ", ") + 2 : NULL)
		if (!strncmp(p, item, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* Lists the unhealthy primaries owning slots, for the message. */
static void name_unhealthy(const struct slot_map *m, struct strbuf *sb)
{
	for (size_t i = 0; i < m->n_owners; i++) {
		if (m->owners[i].healthy || listed(sb_str(sb), m->owners[i].addr))
			continue;
		for (int s = 0; s < CLUSTER_SLOTS; s++) {
			if (m->owner[s] == i + 1) {
				sb_addf(sb, "%s%s", sb->len ? ", " : "", m->owners[i].addr);
				break;
			}
		}
	}
}

void slots_compare(const struct slot_map *before, const struct slot_map *after, struct slot_coverage *out)
{
	memset(out, 0, sizeof(*out));
	for (int s = 0; s < CLUSTER_SLOTS; s++) {
		const struct slot_owner *b = owner_at(before, s), *a = owner_at(after, s);
		if (!b || !a || !b->healthy || !a->healthy)
			out->uncovered++;
		else if (strcmp(b->id, a->id) || before->migrating[s] || after->migrating[s])
			out->migrating++;
	}
	struct strbuf sb = STRBUF_INIT;
	name_unhealthy(before, &sb);
	name_unhealthy(after, &sb);
	out->failed_nodes = sb.len ? sb_detach(&sb) : NULL;
	sb_release(&sb);
}
