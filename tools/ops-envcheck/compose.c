/*
 * compose: --compose docker-compose.yml. Every ${VAR} the compose file interpolates
 * must be defined in the env files given (the project's .env) or the environment —
 * a variable only in a service's env_file does not count, as Compose interpolates
 * from .env and the shell only. Every env_file a service names must exist and load,
 * and gets the secret checks of an operand (secrets.c), once per file.
 * With --stack compose, each service's container environment: per key the source that
 * wins (its env_file list in order, then environment:) and the sources it shadows; with
 * --schema, the schema applied to that environment, service by service (without one,
 * the built-in credential checks).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "envcheck.h"
#include "schema.h"
#include "util.h"

struct cctx {
	struct report *r;
	struct env_file *files;
	size_t nfiles;
	const struct envcheck_opts *o;
	const char *path;
	char *dir;
	yaml_document_t *doc;
	struct env_file *env_files;   /* loaded env_file: entries */
	size_t nenv_files;
	size_t nvars;
	const struct schema *schema;  /* --stack compose --schema: applied per service */
	bool used_env;                /* interpolate() took a value from the process environment */
};

static const struct env_file *only_in_env_file(struct cctx *c, const char *name)
{
	for (size_t i = 0; i < c->nenv_files; i++)
		if (dotenv_lookup(&c->env_files[i].res, name))
			return &c->env_files[i];
	return NULL;
}

/* The value Compose interpolates name with: the environment, then the project .env
 * (the env files given); NULL when unset. */
static const char *project_value(struct cctx *c, const char *name)
{
	const char *env = getenv(name);
	if (env)
		return env;
	const struct dotenv_entry *e = env_file_find(c->files, c->nfiles, name, NULL);
	return e && e->value ? e->value : NULL;
}

static void use_variable(struct cctx *c, const char *name, size_t len, char op, bool colon, int line)
{
	char *n = xstrndup(name, len);
	c->nvars++;
	const char *v = project_value(c, n);
	bool set = v != NULL;
	bool empty = set && !*v;
	bool has_default = op == '-' || op == '+';
	if (!set && !has_default && op != '?') {
		const struct env_file *ef = only_in_env_file(c, n);
		struct check *chk = ec_report(c->r, "compose-undefined", ST_CRITICAL, n,
						 "%s is interpolated at %s:%d but defined nowhere Compose looks%s%s%s", n,
						 c->path, line, ef ? " (it is only in env_file " : "", ef ? ef->path : "",
						 ef ? ", which sets the container's environment, not ${} in the compose file)" : "");
		ec_location(chk, c->path, line, 1);
		check_hint(chk, "define %s in .env (or the environment), or give a default: ${%s:-value}", n, n);
	} else if (op == '?' && (!set || (colon && empty))) {
		struct check *chk = ec_report(c->r, "compose-undefined", ST_CRITICAL, n,
						 "%s is required by %s:%d (${%s:?...}) but is %s", n, c->path, line, n,
						 set ? "empty" : "not set");
		ec_location(chk, c->path, line, 1);
		check_hint(chk, "set %s in .env", n);
	}
	free(n);
}

/* Appends the value of name, noting whether the process environment gave it. */
static void substitute(struct cctx *c, struct strbuf *out, const char *name, const char *v)
{
	if (getenv(name))
		c->used_env = true;
	sb_addstr(out, v);
}

/* Walks s as Compose's template does: every variable it would look up is checked
 * (use_variable) and, when out is given, the result is appended to it. A default
 * ${A:-${B}} is only looked at when A is unset (or empty with the colon), an
 * alternative ${A:+${B}} only when A is set. check: report what is undefined. */
static void interpolate(struct cctx *c, const char *s, size_t len, int line, struct strbuf *out, bool check,
			int depth)
{
	if (depth > 32)
		return;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '$' || i + 1 >= len) {
			if (out)
				sb_addch(out, s[i]);
			continue;
		}
		if (s[i + 1] == '$') {
			if (out)
				sb_addch(out, '$');
			i++;
			continue;
		}
		bool braced = s[i + 1] == '{';
		size_t j = i + 1 + braced, start = j;
		if (j >= len || !shell_name_start(s[j])) {
			if (out)
				sb_addch(out, s[i]);
			continue;
		}
		while (j < len && shell_name_char(s[j]))
			j++;
		char *name = xstrndup(s + start, j - start);
		const char *v = project_value(c, name);
		if (!braced) {
			if (check)
				use_variable(c, s + start, j - start, 0, false, line);
			if (out && v)
				substitute(c, out, name, v);
			free(name);
			i = j - 1;
			continue;
		}
		size_t close = dotenv_closing_brace(s, len, i);
		if (close == (size_t)-1)
			close = len;
		bool colon = j < close && s[j] == ':';
		char op = j + colon < close ? s[j + colon] : 0;
		if (op != '-' && op != '?' && op != '+')
			op = 0;
		if (check)
			use_variable(c, s + start, j - start, op, colon, line);
		bool set = v && (!colon || *v);
		const char *arg = op ? s + j + colon + 1 : NULL;
		size_t arg_len = op && close > j + colon + 1 ? close - (j + colon + 1) : 0;
		if ((op == '-' && !set) || (op == '+' && set))
			interpolate(c, arg, arg_len, line, out, check, depth + 1);
		else if (out && op != '+' && v)
			substitute(c, out, name, v);
		free(name);
		i = close;
	}
}

static void scan_scalar(struct cctx *c, const char *s, int line)
{
	interpolate(c, s, strlen(s), line, NULL, true, 0);
}

static void walk(struct cctx *c, yaml_node_t *n, int depth)
{
	if (!n || depth > 64)
		return;
	if (n->type == YAML_SCALAR_NODE) {
		scan_scalar(c, (const char *)n->data.scalar.value, (int)n->start_mark.line + 1);
	} else if (n->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
			walk(c, yaml_document_get_node(c->doc, *it), depth + 1);
	} else if (n->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
			walk(c, yaml_document_get_node(c->doc, p->value), depth + 1);
	}
}

static yaml_node_t *get(struct cctx *c, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(c->doc, p->value);
	}
	return NULL;
}

/* Inside an env_file, ${VAR} is looked up in the environment, then the project .env. */
static const char *env_file_lookup(const char *name, void *ctx)
{
	return project_value(ctx, name);
}

static bool same_file(const char *path, const struct stat *st)
{
	struct stat other;
	return stat(path, &other) == 0 && other.st_dev == st->st_dev && other.st_ino == st->st_ino;
}

/* The file st is an operand, or another service's env_file loaded before this one (the
 * last loaded): its secret checks ran, once per file however it is named. */
static bool checked_already(struct cctx *c, const struct stat *st)
{
	for (size_t i = 0; i < c->nfiles; i++)
		if (same_file(c->files[i].path, st))
			return true;
	for (size_t i = 0; i + 1 < c->nenv_files; i++)
		if (same_file(c->env_files[i].path, st))
			return true;
	return false;
}

static void load_env_file(struct cctx *c, const char *service, const char *written, bool required,
			  const char *format, int line)
{
	/* the path is interpolated like every other string of the compose file (its
	 * variables were checked by walk()) */
	struct strbuf name_sb = STRBUF_INIT;
	interpolate(c, written, strlen(written), line, &name_sb, false, 0);
	const char *name = sb_str(&name_sb);
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	char *path = name[0] == '/' ? xstrdup(name) : xasprintf("%s/%s", c->dir, name);
	sb_release(&name_sb);
	c->env_files = xrealloc(c->env_files, (c->nenv_files + 1) * sizeof(*c->env_files));
	struct env_file *f = &c->env_files[c->nenv_files];
	struct envcheck_opts o = *c->o;
	o.dialect = format && !strcmp(format, "raw") ? DOTENV_DOCKER : DOTENV_COMPOSE;
	o.lookup = env_file_lookup;
	o.lookup_ctx = c;
	/* the compose file may come from a pull request: env_file: /dev/zero or a FIFO
	 * would never end or block the check */
	struct stat st;
	bool found = stat(path, &st) == 0, special = found && !S_ISREG(st.st_mode);
	if (!found || special || env_file_load(f, path, &o) < 0) {
		const char *why = special ? "not a regular file" : strerror(errno);
		if (required) {
			struct check *chk = ec_report(c->r, "compose-env-file", ST_CRITICAL, service,
							 "service %s names env_file %s, which cannot be read: %s", service,
							 path, why);
			ec_location(chk, c->path, line, 1);
			check_hint(chk, "create %s (see its .example) or mark it required: false", path);
		}
		free(path);
		return;
	}
	f->path = path; /* owned: freed with the context */
	c->nenv_files++;
	lint_diagnostics(c->r, f);
	/* as an operand is: its disable comments, tracked, history, permissions, formats
	 * (its secrets are masked already: env_file_load) */
	if (!checked_already(c, &st)) {
		suppress_scan(f);
		secrets_check(c->r, f, c->o);
	}
	ec_report(c->r, "compose-env-file", ST_OK, service, "service %s: env_file %s loads %zu keys", service, path,
		     f->res.nkeys);
}

/* env_file: FILE | {path, required, format} | [FILE | {path, required, format}...] */
static void load_service_env_files(struct cctx *c, const char *svc, yaml_node_t *ef)
{
	yaml_node_item_t one = 0;
	yaml_node_item_t *first = &one, *last = &one + 1;
	if (ef->type == YAML_SEQUENCE_NODE) {
		first = ef->data.sequence.items.start;
		last = ef->data.sequence.items.top;
	}
	for (yaml_node_item_t *it = first; it < last; it++) {
		yaml_node_t *item = it == &one ? ef : yaml_document_get_node(c->doc, *it);
		bool map = item && item->type == YAML_MAPPING_NODE;
		yaml_node_t *pn = map ? get(c, item, "path") : item;
		yaml_node_t *rq = map ? get(c, item, "required") : NULL;
		yaml_node_t *fm = map ? get(c, item, "format") : NULL;
		bool required = !(rq && rq->type == YAML_SCALAR_NODE &&
				  !strcmp((const char *)rq->data.scalar.value, "false"));
		const char *format = fm && fm->type == YAML_SCALAR_NODE ? (const char *)fm->data.scalar.value : NULL;
		if (pn && pn->type == YAML_SCALAR_NODE)
			load_env_file(c, svc, (const char *)pn->data.scalar.value, required, format,
				      (int)pn->start_mark.line + 1);
	}
}

/* --stack compose: where each key of a service's container environment comes from. */
struct origin {
	char *key, *from, *value; /* value NULL: none, or not to be shown */
	struct strbuf shadowed;
};
struct origins {
	struct origin *v;
	size_t n;
};

/* A later source of key: it wins, the one before is shadowed (listed first). */
static void origin_set(struct origins *os, const char *key, char *from, char *value)
{
	for (size_t i = 0; i < os->n; i++) {
		struct origin *x = &os->v[i];
		if (strcmp(x->key, key))
			continue;
		struct strbuf sh = STRBUF_INIT;
		sb_addf(&sh, "%s%s%s", x->from, x->shadowed.len ? ", " : "", sb_str(&x->shadowed));
		sb_release(&x->shadowed);
		free(x->from);
		free(x->value);
		*x = (struct origin){ x->key, from, value, sh };
		return;
	}
	os->v = xrealloc(os->v, (os->n + 1) * sizeof(*os->v));
	os->v[os->n++] = (struct origin){ xstrdup(key), from, value, STRBUF_INIT };
}

/* KEY without a value (environment: [KEY] or KEY: with nothing): Compose takes it from
 * the process environment, whose value is never shown. The entry goes in the service's
 * table (os) and, for the schema, its environment (env, when given); a value from the
 * process environment, whole or interpolated, is from_env there: mask_source() makes
 * it secret, as in an env file. */
static void environment_entry(struct cctx *c, struct origins *os, struct dotenv_result *env, const char *key,
			      size_t keylen, const char *value, int line)
{
	char *k = xstrndup(key, keylen);
	char *v = NULL, *from;
	const char *given = getenv(k);
	if (value) {
		struct strbuf out = STRBUF_INIT;
		c->used_env = false;
		interpolate(c, value, strlen(value), line, &out, false, 0);
		v = xstrdup(sb_str(&out));
		sb_release(&out);
		if (env)
			dotenv_result_add(env, k, v, line, 1)->from_env = c->used_env;
		from = xasprintf("%s:%d environment", c->path, line);
	} else {
		if (env && given) /* in CI the process environment holds secrets: never shown */
			dotenv_result_add(env, k, given, line, 1)->from_env = true;
		from = xasprintf("%s:%d environment, %s", c->path, line,
				 given ? "from the process environment (value not shown)"
				       : "not set in the process environment");
	}
	origin_set(os, k, from, v);
	free(k);
}

static bool yaml_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"));
}

static void environment_entries(struct cctx *c, struct origins *os, struct dotenv_result *env_res, yaml_node_t *env)
{
	if (env && env->type == YAML_MAPPING_NODE) {
		for (yaml_node_pair_t *p = env->data.mapping.pairs.start; p < env->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
			yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
			if (!k || k->type != YAML_SCALAR_NODE || !v || v->type != YAML_SCALAR_NODE)
				continue;
			const char *key = (const char *)k->data.scalar.value;
			const char *value = yaml_null(v) ? NULL : (const char *)v->data.scalar.value;
			environment_entry(c, os, env_res, key, strlen(key), value, (int)k->start_mark.line + 1);
		}
	} else if (env && env->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = env->data.sequence.items.start; it < env->data.sequence.items.top; it++) {
			yaml_node_t *n = yaml_document_get_node(c->doc, *it);
			if (!n || n->type != YAML_SCALAR_NODE)
				continue;
			const char *item = (const char *)n->data.scalar.value, *eq = strchr(item, '=');
			environment_entry(c, os, env_res, item, eq ? (size_t)(eq - item) : strlen(item), eq ? eq + 1 : NULL,
					  (int)n->start_mark.line + 1);
		}
	}
}

/* --schema (without one, the built-in credential checks) on a service's environment:
 * its env_files, then its environment: entries (env, located in the compose file), the
 * later winning. */
static void service_schema(struct cctx *c, const char *svc, size_t first_file, const struct dotenv_result *env)
{
	size_t n = c->nenv_files - first_file;
	struct env_file *files = xcalloc(n + 1, sizeof(*files));
	memcpy(files, c->env_files + first_file, n * sizeof(*files));
	files[n] = (struct env_file){ .path = c->path, .res = *env };
	schema_check_service(c->r, c->schema, svc, files, n + 1, c->o);
	free(files);
}

static void service_origins(struct cctx *c, struct rp_table *t, const char *svc, yaml_node_t *service,
			    size_t first_file)
{
	struct origins os = { 0 };
	struct dotenv_result env = { 0 };
	for (size_t f = first_file; f < c->nenv_files; f++)
		for (size_t i = 0; i < c->env_files[f].res.n; i++) {
			const struct dotenv_entry *e = &c->env_files[f].res.entries[i];
			if (!e->first)
				continue;
			const char *v = dotenv_lookup(&c->env_files[f].res, e->key)->value;
			origin_set(&os, e->key, xstrdup(c->env_files[f].path), v ? xstrdup(v) : NULL);
		}
	environment_entries(c, &os, &env, get(c, service, "environment"));
	mask_source(&(struct env_file){ .path = c->path, .res = env }, c->o);
	for (size_t i = 0; i < os.n; i++) {
		struct origin *x = &os.v[i];
		rp_table_str(t, svc);
		rp_table_str(t, x->key);
		rp_table_str(t, x->from);
		rp_table_str(t, x->shadowed.len ? sb_str(&x->shadowed) : NULL);
		if (c->o->show_values)
			rp_table_str(t, x->value ? env_file_shown(x->key, x->value, c->o) : NULL);
		free(x->key);
		free(x->from);
		free(x->value);
		sb_release(&x->shadowed);
	}
	free(os.v);
	service_schema(c, svc, first_file, &env);
	dotenv_result_free(&env);
}

static void env_files(struct cctx *c, yaml_node_t *root)
{
	yaml_node_t *services = get(c, root, "services");
	if (!services || services->type != YAML_MAPPING_NODE)
		return;
	struct rp_table *t = NULL;
	if (c->o->stack && !strcmp(c->o->stack, "compose")) {
		t = rp_table_new(c->r, "compose_keys", "container environment per service (the later source wins)");
		rp_table_col(t, "service", "SERVICE", COL_STR);
		rp_table_col(t, "key", "KEY", COL_STR);
		rp_table_col(t, "from", "FROM", COL_STR);
		rp_table_col(t, "shadowed", "SHADOWED", COL_STR);
		if (c->o->show_values)
			rp_table_col(t, "value", "VALUE", COL_STR);
	}
	for (yaml_node_pair_t *p = services->data.mapping.pairs.start; p < services->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *service = yaml_document_get_node(c->doc, p->value);
		yaml_node_t *ef = get(c, service, "env_file");
		const char *svc = k && k->type == YAML_SCALAR_NODE ? (const char *)k->data.scalar.value : "?";
		size_t first_file = c->nenv_files;
		if (ef)
			load_service_env_files(c, svc, ef);
		if (t)
			service_origins(c, t, svc, service, first_file);
	}
	if (t)
		rp_table_end(t);
}

int compose_check(struct report *r, struct env_file *files, size_t nfiles, const struct envcheck_opts *o)
{
	/* read as env files are, under their cap: a compose file from a pull request may be
	 * /dev/zero or a FIFO, which libyaml's own reading would follow forever */
	struct strbuf text = STRBUF_INIT;
	if (env_file_read(&text, o->compose_path) < 0) {
		int err = errno;
		sb_release(&text);
		errno = err;
		ec_report_unreadable(r, "compose-unreadable", o->compose_path);
		return -1;
	}
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)sb_str(&text), text.len);
	int ok = yaml_parser_load(&parser, &doc);
	sb_release(&text);
	if (!ok) {
		struct check *chk = ec_report(r, "compose-unreadable", ST_UNKNOWN, o->compose_path, "%s:%lu:%lu: %s",
						 o->compose_path, (unsigned long)parser.problem_mark.line + 1,
						 (unsigned long)parser.problem_mark.column + 1,
						 parser.problem ? parser.problem : "bad YAML");
		ec_location(chk, o->compose_path, (int)parser.problem_mark.line + 1, (int)parser.problem_mark.column + 1);
		yaml_parser_delete(&parser);
		return -1;
	}
	char *copy = xstrdup(o->compose_path);
	struct cctx c = { .r = r, .files = files, .nfiles = nfiles, .o = o, .path = o->compose_path,
			  .dir = xstrdup(dirname(copy)), .doc = &doc };
	free(copy);
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	struct schema *schema = o->schema_path && o->stack && !strcmp(o->stack, "compose") ? schema_open(r, o) : NULL;
	c.schema = schema;
	env_files(&c, root);
	walk(&c, root, 0);
	ec_report(r, "compose", ST_OK, o->compose_path, "%zu interpolations and %zu env_file(s) checked", c.nvars,
		     c.nenv_files);
	for (size_t i = 0; i < c.nenv_files; i++) {
		free((char *)c.env_files[i].path);
		env_file_free(&c.env_files[i]);
	}
	free(c.env_files);
	free(c.dir);
	if (schema)
		schema_free(schema);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return 0;
}
