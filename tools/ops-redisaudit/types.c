/*
 * Keys of module and newer data types. TYPE answers a module's own type name (ReJSON-RL,
 * TSDB-TYPE, MBbloom--, vectorset): those keys count as "other" in the per-type figures,
 * and their names are kept here, at most MODULE_TYPES_MAX per aggregate; keys of further
 * names are counted in other_keys only.
 */
#include <math.h>
#include <string.h>

#include "redisaudit.h"

static struct module_type *find_or_add(struct module_types *m, const char *name, size_t len)
{
	if (len >= sizeof(m->v[0].name))
		len = sizeof(m->v[0].name) - 1;   /* a type name is 9 bytes in the module API */
	for (size_t i = 0; i < m->n; i++)
		if (strlen(m->v[i].name) == len && !memcmp(m->v[i].name, name, len))
			return &m->v[i];
	if (m->n == MODULE_TYPES_MAX)
		return NULL;
	struct module_type *t = &m->v[m->n++];
	memcpy(t->name, name, len);
	t->name[len] = '\0';
	return t;
}

void modtypes_add(struct module_types *m, const char *name, size_t len, u64 keys, u64 memory)
{
	struct module_type *t = find_or_add(m, name, len);
	if (!t) {
		m->other_keys += keys;
		m->other_memory += memory;
		return;
	}
	t->keys += keys;
	t->memory += memory;
}

void modtypes_merge(struct module_types *into, const struct module_types *from)
{
	for (size_t i = 0; i < from->n; i++)
		modtypes_add(into, from->v[i].name, strlen(from->v[i].name), from->v[i].keys, from->v[i].memory);
	into->other_keys += from->other_keys;
	into->other_memory += from->other_memory;
}

void modtypes_put(struct report *r, const struct module_types *m, double scale)
{
	if (report_format_of(r) == FMT_TEXT) {
		if (!m->n)
			return;
		rp_text(r, "modules ");
		for (size_t i = 0; i < m->n; i++)
			rp_text(r, " %s %.0f (%s)", m->v[i].name, (double)m->v[i].keys * scale,
				human_bytes((double)m->v[i].memory * scale));
		if (m->other_keys)
			rp_text(r, " (more types) %.0f", (double)m->other_keys * scale);
		rp_text(r, "\n\n");
		return;
	}
	rp_open_object(r, "module_types");
	for (size_t i = 0; i < m->n; i++) {
		rp_open_object(r, m->v[i].name);
		rp_int(r, "keys", NULL, llround((double)m->v[i].keys * scale));
		rp_int(r, "memory_bytes", NULL, llround((double)m->v[i].memory * scale));
		rp_close_object(r);
	}
	rp_close_object(r);
	rp_int(r, "module_types_other_keys", NULL, llround((double)m->other_keys * scale));
}
