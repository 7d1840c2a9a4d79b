#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "msg.h"
#include "redact.h"
#include "util.h"

enum node_kind { NODE_SCALAR, NODE_MAP, NODE_LIST };

struct cnode {
	enum node_kind kind;
	char *key;
	char *value;           /* scalar, after ${VAR} expansion */
	int line, column;      /* 1-based position of the value */
	struct cnode **kids;
	size_t nkids;
	const char **strings;  /* child names (map) or item values (list), for getters */
};

struct config {
	char *path;
	struct cnode *root;
	char where[512];
};

struct loader {
	const char *file;
	yaml_document_t *doc;
	char *err;
};

static const struct cfg_key *const schema_tables[] = {
	opskit_schema_common, opskit_schema_promote, opskit_schema_pgprobe,
	opskit_schema_redisaudit, opskit_schema_envcheck,
};

static const struct cfg_key *schema_extra;

/* Every row of the tables, flattened once: lookups walk it for each key of a file and
 * each getter's default, so walking the tables anew each time was quadratic. */
static const struct cfg_key **schema_flat;
static size_t schema_nflat;
static bool schema_flat_ok;

void config_schema_set_extra(const struct cfg_key *table)
{
	schema_extra = table;
	schema_flat_ok = false;
}

static void flatten_schema(void)
{
	schema_nflat = 0;
	for (size_t t = 0; t <= ARRAY_SIZE(schema_tables); t++) {
		const struct cfg_key *table = t < ARRAY_SIZE(schema_tables) ? schema_tables[t] : schema_extra;
		for (size_t n = 0; table && table[n].path; n++) {
			schema_flat = xrealloc(schema_flat, sizeof(*schema_flat) * (schema_nflat + 1));
			schema_flat[schema_nflat++] = &table[n];
		}
	}
	schema_flat_ok = true;
}

const struct cfg_key *config_schema_key(size_t i)
{
	if (!schema_flat_ok)
		flatten_schema();
	return i < schema_nflat ? schema_flat[i] : NULL;
}

static void fail(struct loader *ld, const yaml_mark_t *mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct loader *ld, const yaml_mark_t *mark, const char *fmt, ...)
{
	if (ld->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	ld->err = xasprintf("%s:%zu:%zu: %s", ld->file, mark->line + 1, mark->column + 1, msg);
	free(msg);
}

/* ---- schema matching ---- */

/* Number of dot-separated segments, and the i-th one copied into buf. */
static size_t segment(const char *path, size_t i, char *buf, size_t bufsz)
{
	const char *p = path;
	for (size_t k = 0; k < i; k++) {
		p = strchr(p, '.');
		if (!p)
			return 0;
		p++;
	}
	size_t n = strcspn(p, ".");
	if (n >= bufsz)
		n = bufsz - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 1;
}

static size_t segment_count(const char *path)
{
	size_t n = 1;
	for (; *path; path++)
		n += *path == '.';
	return n;
}

/* Does the schema pattern's first depth+1 segments match the concrete segments? */
static bool pattern_prefix_matches(const char *pattern, char *const *segs, size_t depth)
{
	char seg[128];
	if (segment_count(pattern) < depth + 1)
		return false;
	for (size_t i = 0; i <= depth; i++) {
		segment(pattern, i, seg, sizeof(seg));
		if (strcmp(seg, "*") && strcmp(seg, segs[i]))
			return false;
	}
	return true;
}

struct schema_match {
	const struct cfg_key *leaf; /* pattern ends here */
	bool is_section;            /* pattern continues below */
	bool via_wildcard;          /* the last segment matched a "*" */
};

static struct schema_match schema_lookup(char *const *segs, size_t depth)
{
	struct schema_match m = { NULL, false, false };
	char seg[128];
	for (size_t i = 0; config_schema_key(i); i++) {
		const struct cfg_key *k = config_schema_key(i);
		if (!pattern_prefix_matches(k->path, segs, depth))
			continue;
		segment(k->path, depth, seg, sizeof(seg));
		if (!strcmp(seg, "*"))
			m.via_wildcard = true;
		if (segment_count(k->path) == depth + 1)
			m.leaf = k;
		else
			m.is_section = true;
	}
	return m;
}

/* The declared name closest to segs[depth] among siblings, or NULL. */
static const char *closest_sibling(char *const *segs, size_t depth, char *buf, size_t bufsz)
{
	int best = 3;
	const char *found = NULL;
	char seg[128];
	for (size_t i = 0; config_schema_key(i); i++) {
		const struct cfg_key *k = config_schema_key(i);
		if (depth > 0 && !pattern_prefix_matches(k->path, segs, depth - 1))
			continue;
		if (!segment(k->path, depth, seg, sizeof(seg)) || !strcmp(seg, "*"))
			continue;
		int d = edit_distance(segs[depth], seg, 2);
		if (d < best) {
			best = d;
			snprintf(buf, bufsz, "%s", seg);
			found = buf;
		}
	}
	return found;
}

/* ---- ${VAR} expansion ---- */

/* A value is secret by its key's own name: the names a user picks above it ("token" for
 * a registry entry, "auth" for a target) would make its host and url secret too, masked
 * in every message. */
static bool leaf_is_secret(const char *path)
{
	const char *dot = strrchr(path, '.');
	return redact_key_is_secret(dot ? dot + 1 : path);
}

/* Returns the expanded value or NULL after fail(). */
static char *expand_env(struct loader *ld, const yaml_node_t *node, const char *key)
{
	const char *in = (const char *)node->data.scalar.value;
	struct strbuf out = STRBUF_INIT;
	for (const char *p = in; *p;) {
		if (p[0] == '$' && p[1] == '$') {
			sb_addch(&out, '$');
			p += 2;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			sb_addch(&out, *p++);
			continue;
		}
		const char *close = strchr(p + 2, '}');
		if (!close) {
			fail(ld, &node->start_mark, "unterminated \"${\" in the value of %s", key);
			sb_release(&out);
			return NULL;
		}
		const char *name = p + 2;
		const char *dflt = strstr(name, ":-");
		size_t nlen = (dflt && dflt < close) ? (size_t)(dflt - name) : (size_t)(close - name);
		if (!shell_name_valid(name, nlen)) {
			fail(ld, &node->start_mark, "bad variable name in \"%.*s\" (use ${NAME} or ${NAME:-default})",
			     (int)(close - p + 1), p);
			sb_release(&out);
			return NULL;
		}
		char *var = xstrndup(name, nlen);
		const char *val = getenv(var);
		if (val && *val) {
			sb_addstr(&out, val);
			if (redact_key_is_secret(var) || leaf_is_secret(key))
				redact_add_secret(val);
		} else if (dflt && dflt < close) {
			sb_add(&out, dflt + 2, (size_t)(close - dflt - 2));
		} else if (!val) {
			fail(ld, &node->start_mark, "environment variable %s is not set (for %s; write ${%s:-default} to allow that)",
			     var, key, var);
			free(var);
			sb_release(&out);
			return NULL;
		}
		free(var);
		p = close + 1;
	}
	return sb_detach(&out);
}

/* ---- type checks ---- */

static bool is_null_scalar(const yaml_node_t *node)
{
	const char *v = (const char *)node->data.scalar.value;
	return node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"));
}

static int parse_bool_word(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int config_parse_bool(const char *v, bool *out)
{
	return parse_bool_word(v, out);
}

static const char *type_problem(enum cfg_type type, const char *v)
{
	long long ll;
	double d;
	bool b;
	switch (type) {
	case CFG_INT: return parse_ll(v, &ll) ? "must be a whole number" : NULL;
	case CFG_NUMBER: return parse_double(v, &d) ? "must be a number" : NULL;
	case CFG_BOOL: return parse_bool_word(v, &b) ? "must be true or false" : NULL;
	case CFG_DURATION:
		return parse_duration_ms(v, &d) ? "must be a duration such as 500ms, 30s, 5m, 1h" : NULL;
	case CFG_THRESHOLD:
		return parse_threshold(v, &d, &b) ? "must be a number, a percentage such as 80%, or a duration such as 30s" : NULL;
	default: return NULL;
	}
}

/* NULL when v (already of the right type) is within k's bounds. */
static const char *range_problem(const struct cfg_key *k, const char *v)
{
	double d;
	long long ll;
	switch (k->type) {
	case CFG_INT: return parse_ll(v, &ll) ? NULL : cfg_bounds_problem(k, (double)ll);
	case CFG_NUMBER: return parse_double(v, &d) ? NULL : cfg_bounds_problem(k, d);
	case CFG_DURATION: return parse_duration_ms(v, &d) ? NULL : cfg_bounds_problem(k, d);
	default: return NULL;
	}
}

const char *cfg_bounds_problem(const struct cfg_key *k, double v)
{
	static char msg[128];
	if (!k->bounded || (v >= k->min && v <= k->max))
		return NULL;
	bool ms = k->type == CFG_DURATION;
	const char *lo = ms ? human_duration(k->min / 1000) : NULL, *hi = ms ? human_duration(k->max / 1000) : NULL;
	if (k->max >= CFG_NO_MAX) {
		if (ms)
			snprintf(msg, sizeof(msg), "must be at least %s", lo);
		else
			snprintf(msg, sizeof(msg), "must be at least %g", k->min);
	} else if (ms) {
		snprintf(msg, sizeof(msg), "must be from %s to %s", lo, hi);
	} else {
		snprintf(msg, sizeof(msg), "must be from %g to %g", k->min, k->max);
	}
	return msg;
}

static struct cnode *new_node(enum node_kind kind, const char *key, const yaml_node_t *yn)
{
	struct cnode *n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->key = key ? xstrdup(key) : NULL;
	n->line = (int)yn->start_mark.line + 1;
	n->column = (int)yn->start_mark.column + 1;
	return n;
}

static void add_kid(struct cnode *parent, struct cnode *kid)
{
	parent->kids = xrealloc(parent->kids, sizeof(*parent->kids) * (parent->nkids + 1));
	parent->kids[parent->nkids++] = kid;
}

static void free_node(struct cnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		free_node(n->kids[i]);
	free(n->kids);
	free(n->strings);
	free(n->key);
	free(n->value);
	free(n);
}

static char *dotted(char *const *segs, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_addch(&sb, '.');
		sb_addstr(&sb, segs[i]);
	}
	return sb_detach(&sb);
}

static struct cnode *scalar_leaf(struct loader *ld, yaml_node_t *yn, const struct cfg_key *k, const char *path)
{
	if (is_null_scalar(yn) && k->type != CFG_STRING) {
		fail(ld, &yn->start_mark, "%s has no value", path);
		return NULL;
	}
	char *v = expand_env(ld, yn, path);
	if (!v)
		return NULL;
	const char *problem = type_problem(k->type, v);
	if (!problem)
		problem = range_problem(k, v);
	if (problem) {
		/* The value may be a secret from the environment: say what is wrong, not what it is. */
		bool from_env = strstr((const char *)yn->data.scalar.value, "${") != NULL;
		if (from_env || leaf_is_secret(path))
			fail(ld, &yn->start_mark, "%s %s", path, problem);
		else
			fail(ld, &yn->start_mark, "%s %s, not \"%s\"", path, problem, v);
		free(v);
		return NULL;
	}
	if (leaf_is_secret(path))
		redact_add_secret(v);
	if (str_ends_with(path, "dsn") || str_ends_with(path, "url"))
		free(redact_dsn(v));
	struct cnode *n = new_node(NODE_SCALAR, NULL, yn);
	n->value = v;
	return n;
}

static struct cnode *list_leaf(struct loader *ld, yaml_node_t *yn, const char *path)
{
	struct cnode *list = new_node(NODE_LIST, NULL, yn);
	if (yn->type == YAML_SCALAR_NODE) {
		struct cnode *item = is_null_scalar(yn) ? NULL : new_node(NODE_SCALAR, NULL, yn);
		if (item) {
			item->value = expand_env(ld, yn, path);
			add_kid(list, item);
		}
		return list;
	}
	for (yaml_node_item_t *it = yn->data.sequence.items.start; it < yn->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(ld->doc, *it);
		if (item->type != YAML_SCALAR_NODE) {
			fail(ld, &item->start_mark, "items of %s must be plain values", path);
			break;
		}
		struct cnode *kid = new_node(NODE_SCALAR, NULL, item);
		kid->value = expand_env(ld, item, path);
		add_kid(list, kid);
		if (!kid->value)
			break;
	}
	return list;
}

static struct cnode *convert(struct loader *ld, yaml_node_t *yn, char **segs, size_t depth);

static void convert_pair(struct loader *ld, struct cnode *map, yaml_node_pair_t *pair, char **segs, size_t depth)
{
	yaml_node_t *kn = yaml_document_get_node(ld->doc, pair->key);
	yaml_node_t *vn = yaml_document_get_node(ld->doc, pair->value);
	if (kn->type != YAML_SCALAR_NODE) {
		fail(ld, &kn->start_mark, "keys must be plain names");
		return;
	}
	const char *key = (const char *)kn->data.scalar.value;
	for (size_t i = 0; i < map->nkids; i++) {
		if (!strcmp(map->kids[i]->key, key)) {
			fail(ld, &kn->start_mark, "duplicate key \"%s\" (first at line %d)", key, map->kids[i]->line);
			return;
		}
	}
	segs[depth] = (char *)key;
	struct schema_match m = schema_lookup(segs, depth);
	char *path = dotted(segs, depth + 1);
	char hint[128];
	if (!m.leaf && !m.is_section) {
		const char *close = closest_sibling(segs, depth, hint, sizeof(hint));
		if (close) {
			char *parent = dotted(segs, depth);
			fail(ld, &kn->start_mark, "unknown key \"%s\" (did you mean \"%s%s%s\"?)", path,
			     parent, depth ? "." : "", close);
			free(parent);
		}
		else
			fail(ld, &kn->start_mark, "unknown key \"%s\" (see opskit.yaml(5))", path);
	} else if (m.via_wildcard && (!*key || strchr(key, '.'))) {
		fail(ld, &kn->start_mark, "the name \"%s\" may not be empty or contain '.'", key);
	} else {
		struct cnode *kid = NULL;
		if (m.leaf && m.leaf->type == CFG_STRLIST && vn->type != YAML_MAPPING_NODE)
			kid = list_leaf(ld, vn, path);
		else if (m.leaf && vn->type == YAML_SCALAR_NODE)
			kid = scalar_leaf(ld, vn, m.leaf, path);
		else if (m.leaf && !m.is_section)
			fail(ld, &vn->start_mark, "%s must be a single value", path);
		else
			kid = convert(ld, vn, segs, depth + 1);
		if (kid) {
			kid->key = xstrdup(key);
			add_kid(map, kid);
		}
	}
	free(path);
}

#define MAX_DEPTH 16

static struct cnode *convert(struct loader *ld, yaml_node_t *yn, char **segs, size_t depth)
{
	if (yn->type != YAML_MAPPING_NODE) {
		if (depth == 0 && yn->type == YAML_SCALAR_NODE && is_null_scalar(yn))
			return new_node(NODE_MAP, NULL, yn);
		char *path = dotted(segs, depth);
		fail(ld, &yn->start_mark, "%s%s must be a section of keys", depth ? path : "the file",
		     depth ? "" : "");
		free(path);
		return NULL;
	}
	if (depth >= MAX_DEPTH) {
		fail(ld, &yn->start_mark, "nesting deeper than %d levels", MAX_DEPTH);
		return NULL;
	}
	struct cnode *map = new_node(NODE_MAP, NULL, yn);
	for (yaml_node_pair_t *pair = yn->data.mapping.pairs.start;
	     pair < yn->data.mapping.pairs.top && !ld->err; pair++)
		convert_pair(ld, map, pair, segs, depth);
	return map;
}

/* "file:line:column: YAML syntax error: problem while context (started at line L, column C)" */
static char *yaml_syntax_error(const char *name, const yaml_parser_t *parser)
{
	const yaml_mark_t *m = parser->problem ? &parser->problem_mark : &parser->mark;
	struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "%s:%zu:%zu: YAML syntax error: %s", name, m->line + 1, m->column + 1,
		parser->problem ? parser->problem : "malformed document");
	if (parser->context) {
		sb_addf(&sb, " %s", parser->context);
		const yaml_mark_t *c = &parser->context_mark;
		if (c->line != m->line || c->column != m->column)
			sb_addf(&sb, " (started at line %zu, column %zu)", c->line + 1, c->column + 1);
	}
	return sb_detach(&sb);
}

/* A stream may hold several documents; opskit reads one, so a second is an error rather
 * than silently ignored. */
static char *extra_document_error(const char *name, yaml_parser_t *parser)
{
	yaml_document_t next;
	if (!yaml_parser_load(parser, &next))
		return yaml_syntax_error(name, parser);
	char *err = NULL;
	yaml_node_t *root = yaml_document_get_root_node(&next);
	if (root)
		err = xasprintf("%s:%zu:%zu: a second YAML document; the configuration is one document",
				name, root->start_mark.line + 1, root->start_mark.column + 1);
	yaml_document_delete(&next);
	return err;
}

static struct config *load_yaml(const char *name, const unsigned char *text, size_t len, char **err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct loader ld = { name, &doc, NULL };
	struct config *cfg = NULL;
	*err = NULL;
	if (!yaml_parser_initialize(&parser))
		die(3, "out of memory");
	yaml_parser_set_input_string(&parser, text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		*err = yaml_syntax_error(name, &parser);
		yaml_parser_delete(&parser);
		return NULL;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	char *segs[MAX_DEPTH + 1];
	struct cnode *tree = NULL;
	if (root)
		tree = convert(&ld, root, segs, 0);
	if (!ld.err)
		ld.err = extra_document_error(name, &parser);
	if (ld.err) {
		free_node(tree);
		*err = ld.err;
	} else {
		cfg = xcalloc(1, sizeof(*cfg));
		cfg->root = tree;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return cfg;
}

struct config *config_load_string(const char *name, const char *yaml, char **err)
{
	struct config *c = load_yaml(name, (const unsigned char *)yaml, strlen(yaml), err);
	if (c)
		c->path = xstrdup(name);
	return c;
}

#define CONFIG_MAX_BYTES (16u << 20)

static char *read_file(const char *path, size_t *len, char **err)
{
	struct strbuf sb = STRBUF_INIT;
	/* bounded: a config is a few KiB, and --config /dev/zero must not eat the memory */
	if (sb_read_file(&sb, path, CONFIG_MAX_BYTES) < 0) {
		*err = xasprintf("%s: cannot read config: %s", path,
				 errno == EFBIG ? "larger than 16 MiB" : strerror(errno));
		sb_release(&sb);
		return NULL;
	}
	*len = sb.len;
	return sb_detach(&sb);
}

static char *discover(const char *explicit_path, char **err)
{
	if (explicit_path)
		return xstrdup(explicit_path);
	const char *envp = getenv("OPSKIT_CONFIG");
	if (envp && *envp) {
		if (access(envp, F_OK) != 0) {
			*err = xasprintf("%s: cannot read config named by OPSKIT_CONFIG: %s", envp, strerror(errno));
			return NULL;
		}
		return xstrdup(envp);
	}
	char *candidates[3] = { xstrdup("opskit.yaml"), NULL, xstrdup("/etc/opskit/config.yaml") };
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (xdg && *xdg)
		candidates[1] = xasprintf("%s/opskit/config.yaml", xdg);
	else if (home && *home)
		candidates[1] = xasprintf("%s/.config/opskit/config.yaml", home);
	char *found = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(candidates); i++) {
		if (!found && candidates[i] && access(candidates[i], F_OK) == 0)
			found = candidates[i];
		else
			free(candidates[i]);
	}
	return found;
}

struct config *config_load(const char *explicit_path, char **err)
{
	*err = NULL;
	char *path = discover(explicit_path, err);
	if (*err)
		return NULL;
	if (!path)
		return xcalloc(1, sizeof(struct config));
	size_t len = 0;
	char *text = read_file(path, &len, err);
	struct config *c = text ? load_yaml(path, (const unsigned char *)text, len, err) : NULL;
	free(text);
	if (c)
		c->path = path;
	else
		free(path);
	return c;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	free_node(c->root);
	free(c->path);
	free(c);
}

const char *config_path(const struct config *c)
{
	return c->path;
}

/* ---- getters ---- */

static struct cnode *find(const struct config *c, const char *path)
{
	struct cnode *n = c ? c->root : NULL;
	const char *p = path;
	while (n && *p) {
		size_t len = strcspn(p, ".");
		struct cnode *next = NULL;
		for (size_t i = 0; n->kind == NODE_MAP && i < n->nkids; i++) {
			if (strlen(n->kids[i]->key) == len && !strncmp(n->kids[i]->key, p, len)) {
				next = n->kids[i];
				break;
			}
		}
		n = next;
		p += len;
		if (*p == '.')
			p++;
	}
	return n;
}

const struct cfg_key *config_schema_find(const char *path)
{
	size_t depth = segment_count(path);
	if (depth > MAX_DEPTH)
		return NULL;
	char bufs[MAX_DEPTH][128], *segs[MAX_DEPTH];
	for (size_t i = 0; i < depth; i++) {
		segment(path, i, bufs[i], sizeof(bufs[i]));
		segs[i] = bufs[i];
	}
	for (size_t i = 0; config_schema_key(i); i++) {
		const struct cfg_key *k = config_schema_key(i);
		if (segment_count(k->path) == depth && pattern_prefix_matches(k->path, segs, depth - 1))
			return k;
	}
	return NULL;
}

static const char *scalar_at(const struct config *c, const char *path)
{
	struct cnode *n = find(c, path);
	return n && n->kind == NODE_SCALAR ? n->value : NULL;
}

const char *cfg_default(const struct config *c, const char *path)
{
	const struct cfg_key *k = config_schema_find(path);
	if (!k)
		return NULL;
	const char *v = k->fallback ? scalar_at(c, k->fallback) : NULL;
	return v ? v : k->def;
}

/* The key's value, else its default; *present tells which. */
static const char *value_or_default(const struct config *c, const char *path, int *present)
{
	const char *v = scalar_at(c, path);
	*present = v != NULL;
	return v ? v : cfg_default(c, path);
}

int cfg_str(const struct config *c, const char *path, const char **out)
{
	int present;
	const char *v = value_or_default(c, path, &present);
	if (v)
		*out = v;
	return present;
}

/* Each typed getter: the value (or the default) converted; 1 only when present. */
#define TYPED_GETTER(name, type, parse)                                          \
	int name(const struct config *c, const char *path, type *out)            \
	{                                                                        \
		int present;                                                     \
		const char *v = value_or_default(c, path, &present);             \
		type parsed;                                                     \
		if (v && parse(v, &parsed) == 0) {                               \
			*out = parsed;                                           \
			return present;                                          \
		}                                                                \
		return 0;                                                        \
	}

TYPED_GETTER(cfg_int, long long, parse_ll)
TYPED_GETTER(cfg_double, double, parse_double)
TYPED_GETTER(cfg_bool, bool, parse_bool_word)
TYPED_GETTER(cfg_duration_ms, double, parse_duration_ms)

int cfg_threshold(const struct config *c, const char *path, double *out, bool *percent)
{
	int present;
	const char *v = value_or_default(c, path, &present);
	double d;
	bool pct;
	if (!v || parse_threshold(v, &d, &pct))
		return 0;
	*out = d;
	*percent = pct;
	return present;
}

static int node_strings(struct cnode *n, enum node_kind kind, const char *const **out, size_t *count)
{
	if (!n || n->kind != kind)
		return 0;
	if (!n->strings) {
		n->strings = xcalloc(n->nkids + 1, sizeof(*n->strings));
		for (size_t i = 0; i < n->nkids; i++)
			n->strings[i] = kind == NODE_MAP ? n->kids[i]->key : n->kids[i]->value;
	}
	*out = n->strings;
	*count = n->nkids;
	return 1;
}

int cfg_list(const struct config *c, const char *path, const char *const **out, size_t *n)
{
	return node_strings(find(c, path), NODE_LIST, out, n);
}

int cfg_children(const struct config *c, const char *path, const char *const **out, size_t *n)
{
	return node_strings(find(c, path), NODE_MAP, out, n);
}

const char *cfg_where(const struct config *c, const char *path)
{
	struct cnode *n = find(c, path);
	if (!n || !c->path)
		return "";
	struct config *mc = (struct config *)c;
	snprintf(mc->where, sizeof(mc->where), "%s:%d:%d", c->path, n->line, n->column);
	return mc->where;
}
