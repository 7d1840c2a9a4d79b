/*
 * schema_load: read an envcheck schema (YAML, see ops-envcheck(1) SCHEMA) into
 * struct schema. Every unknown field, type or bad value is a located error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "envcheck.h"
#include "schema.h"
#include "types.h"
#include "util.h"

struct loader {
	yaml_document_t *doc;
	const char *path;
	struct strbuf *err;
};

static int where_fail(struct loader *l, yaml_node_t *n, const char *fmt, ...) PRINTF_LIKE(3, 4);

static int where_fail(struct loader *l, yaml_node_t *n, const char *fmt, ...)
{
	if (!l->err->len) {
		sb_addf(l->err, "%s:%lu:%lu: ", l->path, n ? (unsigned long)n->start_mark.line + 1 : 0ul,
			n ? (unsigned long)n->start_mark.column + 1 : 0ul);
		va_list ap;
		va_start(ap, fmt);
		sb_vaddf(l->err, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int as_bool(struct loader *l, yaml_node_t *n, bool *out)
{
	const char *s = scalar(n);
	if (s && (!strcmp(s, "true") || !strcmp(s, "yes"))) {
		*out = true;
		return 0;
	}
	if (s && (!strcmp(s, "false") || !strcmp(s, "no"))) {
		*out = false;
		return 0;
	}
	return where_fail(l, n, "expected true or false%s", "");
}

/* A scalar or a sequence of scalars, as a NULL-free array pointing into the document. */
static int as_list(struct loader *l, yaml_node_t *n, const char ***out, size_t *count)
{
	free(*out);   /* a field given twice (any_of: twice leaked: found by fuzz-envschema) */
	*out = NULL;
	*count = 0;
	if (scalar(n)) {
		*out = xmalloc(sizeof(char *));
		(*out)[0] = scalar(n);
		*count = 1;
		return 0;
	}
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return where_fail(l, n, "expected a list%s", "");
	size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	*out = xcalloc(cnt ? cnt : 1, sizeof(char *));
	for (size_t i = 0; i < cnt; i++) {
		yaml_node_t *item = yaml_document_get_node(l->doc, n->data.sequence.items.start[i]);
		if (!scalar(item))
			return where_fail(l, item, "expected a scalar in the list%s", "");
		(*out)[i] = scalar(item);
	}
	*count = cnt;
	return 0;
}

static int key_number(struct loader *l, yaml_node_t *n, const char *type, double *out)
{
	const char *s = scalar(n);
	if (s && type && !strcmp(type, "duration"))
		return parse_duration_ms(s, out) < 0 ? where_fail(l, n, "expected a duration%s", "") : 0;
	return s && parse_double(s, out) == 0 ? 0 : where_fail(l, n, "expected a number%s", "");
}

static int key_field(struct loader *l, struct schema_key *k, const char *f, yaml_node_t *v)
{
	if (!strcmp(f, "type")) {
		k->type = scalar(v);
		if (!k->type || !types_find(k->type))
			return where_fail(l, v, "unknown type '%s'", k->type ? k->type : "");
	} else if (!strcmp(f, "required")) {
		return as_bool(l, v, &k->required);
	} else if (!strcmp(f, "allow_empty")) {
		return as_bool(l, v, &k->allow_empty);
	} else if (!strcmp(f, "required_in")) {
		return as_list(l, v, &k->required_in, &k->nrequired_in);
	} else if (!strcmp(f, "secret")) {
		return as_bool(l, v, &k->secret);
	} else if (!strcmp(f, "deprecated")) {
		k->deprecated = scalar(v);
	} else if (!strcmp(f, "description")) {
		k->description = scalar(v);
	} else if (!strcmp(f, "example")) {
		k->example = scalar(v);
	} else if (!strcmp(f, "pattern")) {
		k->pattern = scalar(v);
		regex_t re;
		int rc = k->pattern ? regcomp(&re, k->pattern, REG_EXTENDED | REG_NOSUB) : REG_BADPAT;
		if (rc) {
			char msg[128] = "expected a string";
			if (k->pattern)
				regerror(rc, &re, msg, sizeof(msg));
			return where_fail(l, v, "the pattern of %s does not compile as a POSIX extended regex: %s",
					  k->name, msg);
		}
		regfree(&re);
	} else if (!strcmp(f, "min") || !strcmp(f, "max")) {
		bool is_min = f[1] == 'i';
		const struct env_type *t = k->type ? types_find(k->type) : NULL;
		if (!(t && t->numeric) && !(k->type && !strcmp(k->type, "duration")))
			return where_fail(l, v, "%s of %s needs a numeric type (int, number, port or duration), not %s; "
					  "min_length/max_length bound a string", f, k->name, k->type ? k->type : "string");
		if (key_number(l, v, k->type, is_min ? &k->min : &k->max) < 0)
			return -1;
		*(is_min ? &k->has_min : &k->has_max) = true;
	} else if (!strcmp(f, "min_length") || !strcmp(f, "max_length")) {
		double d;
		if (key_number(l, v, NULL, &d) < 0)
			return -1;
		*(f[1] == 'i' ? &k->min_length : &k->max_length) = (long)d;
	} else if (!strcmp(f, "values")) {
		return as_list(l, v, &k->values, &k->nvalues);
	} else if (!strcmp(f, "requires")) {
		return as_list(l, v, &k->requires, &k->nrequires);
	} else {
		return where_fail(l, v, "unknown key field '%s' (type, required, required_in, allow_empty, "
			"secret, min, max, min_length, max_length, pattern, values, requires, deprecated, description, "
			"example)", f);
	}
	return 0;
}

static int load_key(struct loader *l, struct schema_key *k, const char *name, yaml_node_t *def)
{
	memset(k, 0, sizeof(*k));
	k->name = name;
	k->line = (int)def->start_mark.line + 1;
	k->min_length = k->max_length = -1;
	if (scalar(def) && !*scalar(def))
		return 0;
	if (def->type != YAML_MAPPING_NODE)
		return where_fail(l, def, "the definition of %s must be a mapping", name);
	/* type first: min/max of a duration are durations */
	for (yaml_node_pair_t *p = def->data.mapping.pairs.start; p < def->data.mapping.pairs.top; p++)
		if (scalar(yaml_document_get_node(l->doc, p->key)) &&
		    !strcmp(scalar(yaml_document_get_node(l->doc, p->key)), "type") &&
		    key_field(l, k, "type", yaml_document_get_node(l->doc, p->value)) < 0)
			return -1;
	for (yaml_node_pair_t *p = def->data.mapping.pairs.start; p < def->data.mapping.pairs.top; p++) {
		const char *f = scalar(yaml_document_get_node(l->doc, p->key));
		if (!f)
			return where_fail(l, def, "a field name must be a scalar%s", "");
		if (strcmp(f, "type") && key_field(l, k, f, yaml_document_get_node(l->doc, p->value)) < 0)
			return -1;
	}
	if (k->nvalues && !k->type)
		k->type = "enum";
	return 0;
}

static int load_keys(struct loader *l, struct schema *s, yaml_node_t *keys)
{
	if (keys->type != YAML_MAPPING_NODE)
		return where_fail(l, keys, "keys: must be a mapping of KEY: definition%s", "");
	size_t n = (size_t)(keys->data.mapping.pairs.top - keys->data.mapping.pairs.start);
	s->keys = xcalloc(n ? n : 1, sizeof(*s->keys));
	for (yaml_node_pair_t *p = keys->data.mapping.pairs.start; p < keys->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = yaml_document_get_node(l->doc, p->key);
		if (!scalar(kn))
			return where_fail(l, kn, "a key name must be a scalar%s", "");
		int rc = load_key(l, &s->keys[s->nkeys], scalar(kn), yaml_document_get_node(l->doc, p->value));
		s->nkeys++; /* counted even when it failed: schema_free frees what it holds */
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int severity(struct loader *l, yaml_node_t *n, enum status *out)
{
	const char *s = scalar(n);
	static const char *const names[] = { "ok", "warning", "critical" };
	for (int i = 0; s && i < 3; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum status)i;
			return 0;
		}
	return where_fail(l, n, "expected ok, warning or critical%s", "");
}

static int load_feature(struct loader *l, struct schema_feature *f, const char *name, yaml_node_t *def)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->when_absent = ST_WARNING;
	if (def->type != YAML_MAPPING_NODE)
		return where_fail(l, def, "feature %s must be a mapping", name);
	for (yaml_node_pair_t *p = def->data.mapping.pairs.start; p < def->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(l->doc, p->key));
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		int rc = 0;
		if (k && !strcmp(k, "any_of"))
			rc = as_list(l, v, &f->keys, &f->nkeys);
		else if (k && !strcmp(k, "all_of")) {
			rc = as_list(l, v, &f->keys, &f->nkeys);
			f->all = true;
		} else if (k && !strcmp(k, "when_absent"))
			rc = severity(l, v, &f->when_absent);
		else if (k && !strcmp(k, "description"))
			f->description = scalar(v);
		else
			rc = where_fail(l, v, "unknown feature field '%s' (any_of, all_of, when_absent, description)",
					k ? k : "");
		if (rc < 0)
			return -1;
	}
	return f->nkeys ? 0 : where_fail(l, def, "feature %s needs any_of or all_of", name);
}

static int load_features(struct loader *l, struct schema *s, yaml_node_t *n)
{
	if (n->type != YAML_MAPPING_NODE)
		return where_fail(l, n, "features: must be a mapping%s", "");
	size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	s->features = xcalloc(cnt ? cnt : 1, sizeof(*s->features));
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *name = scalar(yaml_document_get_node(l->doc, p->key));
		if (!name)
			return where_fail(l, n, "a feature name must be a scalar%s", "");
		int rc = load_feature(l, &s->features[s->nfeatures], name, yaml_document_get_node(l->doc, p->value));
		s->nfeatures++;
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* rules: - {lte: [A, B]} | {pool: {workers: W, pool_max: P, headroom: H, max_connections: M}} */
static int load_rule(struct loader *l, struct schema_rule *r, yaml_node_t *n)
{
	memset(r, 0, sizeof(*r));
	r->line = (int)n->start_mark.line + 1;
	if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
		return where_fail(l, n, "a rule is a mapping with one of lte, pool%s", "");
	yaml_node_pair_t *p = n->data.mapping.pairs.start;
	const char *kind = scalar(yaml_document_get_node(l->doc, p->key));
	yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
	if (kind && !strcmp(kind, "lte")) {
		const char **ops = NULL;
		size_t cnt;
		if (as_list(l, v, &ops, &cnt) < 0) {
			free(ops);
			return -1;
		}
		r->kind = RULE_LTE;
		r->a = cnt > 0 ? ops[0] : NULL;
		r->b = cnt > 1 ? ops[1] : NULL;
		free(ops);
		return cnt == 2 ? 0 : where_fail(l, v, "lte takes two operands%s", "");
	}
	if (!kind || strcmp(kind, "pool") || v->type != YAML_MAPPING_NODE)
		return where_fail(l, n, "unknown rule '%s' (lte, pool)", kind ? kind : "");
	r->kind = RULE_POOL;
	for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
		const char *f = scalar(yaml_document_get_node(l->doc, q->key));
		const char *val = scalar(yaml_document_get_node(l->doc, q->value));
		const char **slot = !f ? NULL : !strcmp(f, "workers") ? &r->workers : !strcmp(f, "pool_max") ? &r->a :
				    !strcmp(f, "headroom") ? &r->headroom : !strcmp(f, "max_connections") ? &r->b : NULL;
		if (!slot || !val)
			return where_fail(l, v, "unknown pool field '%s' (workers, pool_max, headroom, max_connections)",
					  f ? f : "");
		*slot = val;
	}
	return r->workers && r->a && r->b ? 0 : where_fail(l, v, "pool needs workers, pool_max and max_connections%s", "");
}

static int load_top(struct loader *l, struct schema *s, yaml_node_t *root)
{
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		const char *k = scalar(yaml_document_get_node(l->doc, p->key));
		yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
		int rc;
		if (k && ((!strcmp(k, "keys") && s->keys) || (!strcmp(k, "features") && s->features) ||
			  (!strcmp(k, "rules") && s->rules)))   /* (overflowed keys[]: found by fuzz-envschema) */
			rc = where_fail(l, yaml_document_get_node(l->doc, p->key), "'%s' is given twice", k);
		else if (k && !strcmp(k, "keys"))
			rc = load_keys(l, s, v);
		else if (k && !strcmp(k, "features"))
			rc = load_features(l, s, v);
		else if (k && !strcmp(k, "unknown_keys"))
			rc = severity(l, v, &s->unknown_keys);
		else if (k && !strcmp(k, "rules") && v->type == YAML_SEQUENCE_NODE) {
			size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
			s->rules = xcalloc(cnt ? cnt : 1, sizeof(*s->rules));
			rc = 0;
			for (size_t i = 0; i < cnt && !rc; i++, s->nrules++)
				rc = load_rule(l, &s->rules[i], yaml_document_get_node(l->doc, v->data.sequence.items.start[i]));
		} else
			rc = where_fail(l, v, "unknown top-level field '%s' (keys, features, rules, unknown_keys)", k ? k : "");
		if (rc < 0)
			return -1;
	}
	return 0;
}

struct schema *schema_load(const char *path, char **err)
{
	struct schema *s = xcalloc(1, sizeof(*s));
	s->unknown_keys = ST_WARNING;
	s->path = path;
	struct strbuf why = STRBUF_INIT;
	/* read as env files are, under their cap: --schema /dev/zero or a FIFO must end, and
	 * libyaml reading the file itself would follow either for ever */
	struct strbuf text = STRBUF_INIT;
	if (env_file_read(&text, path) < 0) {
		*err = ec_unreadable_message(path);
		sb_release(&text);
		free(s);
		return NULL;
	}
	yaml_parser_t parser;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)sb_str(&text), text.len);
	s->doc = xcalloc(1, sizeof(yaml_document_t));
	int loaded = yaml_parser_load(&parser, s->doc);
	sb_release(&text);
	struct loader l = { .doc = s->doc, .path = path, .err = &why };
	if (!loaded) {
		sb_addf(&why, "%s:%lu:%lu: %s", path, (unsigned long)parser.problem_mark.line + 1,
			(unsigned long)parser.problem_mark.column + 1, parser.problem ? parser.problem : "bad YAML");
		free(s->doc);
		s->doc = NULL;
	} else {
		yaml_node_t *root = yaml_document_get_root_node(s->doc);
		if (!root || root->type != YAML_MAPPING_NODE)
			where_fail(&l, root, "the schema must be a mapping with keys:%s", "");
		else
			load_top(&l, s, root);
	}
	yaml_parser_delete(&parser);
	if (why.len) {
		*err = sb_detach(&why);
		schema_free(s);
		return NULL;
	}
	return s;
}

void schema_free(struct schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nkeys; i++) {
		free(s->keys[i].values);
		free(s->keys[i].requires);
		free(s->keys[i].required_in);
	}
	for (size_t i = 0; i < s->nfeatures; i++)
		free(s->features[i].keys);
	free(s->keys);
	free(s->features);
	free(s->rules);
	if (s->doc) {
		yaml_document_delete(s->doc);
		free(s->doc);
	}
	free(s);
}

const struct schema_key *schema_find_key(const struct schema *s, const char *name)
{
	for (size_t i = 0; i < s->nkeys; i++)
		if (!strcmp(s->keys[i].name, name))
			return &s->keys[i];
	return NULL;
}
