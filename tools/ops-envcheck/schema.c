/*
 * schema: apply a schema to the loaded keys of the env files: required keys, types,
 * ranges, enums, patterns, deprecations, requires, unknown keys, cross-key rules and
 * features (credential groups that may be absent, but never half present or broken).
 * With --stack compose, to each service's environment instead, each finding naming it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "envcheck.h"
#include "secret_rules.h"
#include "schema.h"
#include "types.h"
#include "util.h"

struct ctx {
	struct report *r;
	struct env_file *files;
	size_t nfiles;
	const struct envcheck_opts *o;
	const struct schema *s;
	const char *service;  /* --stack compose: the service whose environment this is */
};

/* ec_report, scoped to the service when there is one: its name before the subject
 * (SERVICE/KEY) and the message ("service SERVICE: ..."). */
static struct check *scoped_report(struct ctx *c, const char *id, enum status st, const char *subject,
				   const char *fmt, ...) PRINTF_LIKE(5, 6);

static struct check *scoped_report(struct ctx *c, const char *id, enum status st, const char *subject,
				   const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	struct check *chk;
	if (c->service) {
		char *scoped = xasprintf("%s/%s", c->service, subject);
		chk = ec_report(c->r, id, st, scoped, "service %s: %s", c->service, msg);
		free(scoped);
	} else {
		chk = ec_report(c->r, id, st, subject, "%s", msg);
	}
	free(msg);
	return chk;
}

static const struct dotenv_entry *find(struct ctx *c, const char *key, const struct env_file **where)
{
	const struct dotenv_entry *e = env_file_find(c->files, c->nfiles, key, where);
	return e && e->value ? e : NULL;
}

static struct check *key_check(struct ctx *c, const char *id, enum status st, const char *key,
			       const char *fmt, ...) PRINTF_LIKE(5, 6);

static struct check *key_check(struct ctx *c, const char *id, enum status st, const char *key,
			       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	const struct env_file *where = NULL;
	const struct dotenv_entry *e = env_file_find(c->files, c->nfiles, key, &where);
	struct check *chk = scoped_report(c, id, st, key, "%s", msg);
	free(msg);
	if (e && where)
		ec_location(chk, where->path, e->line, e->column);
	else if (c->nfiles) /* a missing key: the file it is missing from (SARIF needs one) */
		ec_location(chk, c->files[c->nfiles - 1].path, 0, 0);
	return chk;
}

/* --verify: the issuer's answer, after the local checks passed. */
static void verify_key(struct ctx *c, const struct schema_key *k, const char *value)
{
	struct strbuf msg = STRBUF_INIT, hint = STRBUF_INIT;
	enum status st = verify_credential(k->type, value, c->o, &msg, &hint);
	struct check *chk = key_check(c, "credential-verify", st, k->name, "%s: %s", k->name, sb_str(&msg));
	if (hint.len)
		check_hint(chk, "%s", sb_str(&hint));
	sb_release(&msg);
	sb_release(&hint);
}

static bool gcp_type(const char *type)
{
	return type && (!strcmp(type, "gcp-service-account-b64") || !strcmp(type, "gcp-service-account-file") ||
			!strcmp(type, "gcp-service-account-json"));
}

/* What to do about a broken service account, by the step that failed. */
static void credentials_hint(struct check *chk, const struct schema_key *k, const char *why, const char *value)
{
	bool b64 = !strcmp(k->type, "gcp-service-account-b64");
	if (strstr(why, "escaped twice")) /* the key is fine: its text is not */
		check_hint(chk, "unescape it: replace each \\\\n in private_key by \\n (one backslash) in the "
			   "JSON%s; do not regenerate the key", b64 ? ", then base64 -w0 key.json again" : "");
	else if (strstr(why, "JSON itself")) /* pasted where a path or base64 belongs */
		check_hint(chk, "%s", b64 ? "store its base64 instead: base64 -w0 key.json"
					  : "write the JSON to a file only the service reads (chmod 600) and put its path here");
	else if (str_starts_with(why, "step 1 (file)")) /* the key may be fine: it is not there */
		check_hint(chk, "fix the path in %s, or make the key file readable where it points "
			   "(in a container: mount it)", k->name);
	else if (str_starts_with(why, "step 2") && strchr(value, '\n')) /* the loader made \n line breaks */
		check_hint(chk, "the loader turned the \\n escapes of private_key into line breaks, which JSON "
			   "does not allow in a string: quote the value with single quotes");
	else
		check_hint(chk, "regenerate the service-account key in the cloud console and store it again%s",
			   b64 ? " (base64 -w0 key.json)" : "");
}

static void credentials(struct ctx *c, const struct schema_key *k, const char *value)
{
	struct strbuf ok = STRBUF_INIT, why = STRBUF_INIT;
	struct stat st;
	/* a compose service's path is its container's: a mounted secret is not here */
	if (c->service && !strcmp(k->type, "gcp-service-account-file") && !is_service_account_value(value) &&
	    stat(value, &st) < 0 && errno == ENOENT) {
		struct check *chk = key_check(c, "credentials", ST_OK, k->name, "%s: %s is not on this machine, "
					      "not checked (the path is the container's)", k->name, value);
		check_hint(chk, "check it where it is mounted: ops-envcheck inside the container");
		return;
	}
	int rc = !strcmp(k->type, "gcp-service-account-b64")	? creds_gcp_b64(value, &ok, &why)
		 : !strcmp(k->type, "gcp-service-account-json") ? creds_gcp_json(value, &ok, &why)
								 : creds_gcp_file(value, &ok, &why);
	if (rc < 0) {
		struct check *chk = key_check(c, "credentials", ST_CRITICAL, k->name, "%s is set but broken: %s",
					      k->name, sb_str(&why));
		credentials_hint(chk, k, sb_str(&why), value);
	} else if (rc > 0) {
		struct check *chk = key_check(c, "credentials", ST_WARNING, k->name, "%s: %s; %s", k->name, sb_str(&ok),
					      sb_str(&why));
		check_hint(chk, "store it as standard base64 on one line: base64 -w0 key.json");
	} else {
		key_check(c, "credentials", ST_OK, k->name, "%s: %s", k->name, sb_str(&ok));
	}
	if (rc >= 0 && c->o->verify && verify_supported(k->type))
		verify_key(c, k, value);
	sb_release(&ok);
	sb_release(&why);
}

static bool in_range(struct ctx *c, const struct schema_key *k, const char *value)
{
	const struct env_type *t = k->type ? types_find(k->type) : NULL;
	bool duration = k->type && !strcmp(k->type, "duration");
	double v;
	if ((k->has_min || k->has_max) && ((t && t->numeric) || duration) &&
	    (duration ? parse_duration_ms(value, &v) : parse_double(value, &v)) == 0) {
		if ((k->has_min && v < k->min) || (k->has_max && v > k->max)) {
			const char *shown = env_file_shown(k->name, value, c->o);
			struct check *chk = key_check(c, "schema-range", ST_CRITICAL, k->name, "%s=%s is out of range",
						      k->name, shown);
			if (k->has_min && k->has_max)
				check_hint(chk, "use a value from %g to %g%s", k->min, k->max, duration ? " ms" : "");
			else
				check_hint(chk, "use a value %s %g%s", k->has_min ? ">=" : "<=", k->has_min ? k->min : k->max,
					   duration ? " ms" : "");
			return false;
		}
	}
	long len = (long)strlen(value);
	if ((k->min_length >= 0 && len < k->min_length) || (k->max_length >= 0 && len > k->max_length)) {
		struct check *chk = key_check(c, "schema-range", ST_CRITICAL, k->name, "%s has %ld characters", k->name, len);
		check_hint(chk, "the schema wants %ld to %ld characters", k->min_length < 0 ? 0 : k->min_length,
			   k->max_length < 0 ? 999999 : k->max_length);
		return false;
	}
	return true;
}

static bool of_type(struct ctx *c, const struct schema_key *k, const char *value)
{
	struct strbuf why = STRBUF_INIT;
	const struct env_type *t = k->type ? types_find(k->type) : NULL;
	bool ok = true;
	if (t && t->check && t->check(value, &why) < 0)
		ok = false;
	if (ok && k->nvalues) {
		ok = false;
		for (size_t i = 0; i < k->nvalues; i++)
			ok |= !strcmp(value, k->values[i]);
		if (!ok)
			sb_addstr(&why, "is not one of the allowed values");
	}
	if (ok && k->pattern) {
		regex_t re;
		if (regcomp(&re, k->pattern, REG_EXTENDED | REG_NOSUB) == 0) {
			ok = regexec(&re, value, 0, NULL, 0) == 0;
			regfree(&re);
			if (!ok)
				sb_addf(&why, "does not match the pattern %s", k->pattern);
		}
	}
	if (!ok) {
		struct check *chk = key_check(c, "schema-type", ST_CRITICAL, k->name, "%s=%s %s", k->name,
					      env_file_shown(k->name, value, c->o), sb_str(&why));
		if (k->nvalues) {
			struct strbuf vals = STRBUF_INIT;
			for (size_t i = 0; i < k->nvalues; i++)
				sb_addf(&vals, "%s%s", i ? ", " : "", k->values[i]);
			check_hint(chk, "use one of: %s", sb_str(&vals));
			sb_release(&vals);
		} else if (k->example && !k->secret) {
			check_hint(chk, "a %s, e.g. %s", k->type ? k->type : "value", k->example);
		} else {
			check_hint(chk, "set a valid %s", k->type ? k->type : "value");
		}
	}
	sb_release(&why);
	return ok;
}

/* required: true, or required_in the environment --environment names. */
static bool is_required(struct ctx *c, const struct schema_key *k)
{
	if (k->required)
		return true;
	for (size_t i = 0; i < k->nrequired_in && c->o->environment; i++)
		if (!strcmp(k->required_in[i], c->o->environment))
			return true;
	return false;
}

static void check_key(struct ctx *c, const struct schema_key *k)
{
	const struct dotenv_entry *e = find(c, k->name, NULL);
	bool required = is_required(c, k);
	/* required means non-empty: API_TOKEN= is missing, unless allow_empty says not */
	bool empty = e && !*e->value && !k->allow_empty;
	if (!e || (required && empty)) {
		if (!required)
			return;
		struct check *chk = key_check(c, "schema-required", ST_CRITICAL, k->name, "%s is required but %s%s%s%s%s",
					      k->name, e ? "empty" : "not set", !k->required ? " in " : "",
					      !k->required ? c->o->environment : "", k->description ? ": " : "",
					      k->description ? k->description : "");
		if (e)
			check_hint(chk, "give %s a value (or allow_empty: true in the schema)", k->name);
		else
			check_hint(chk, "add %s=%s", k->name, k->example && !k->secret ? k->example : "...");
		return;
	}
	if (!*e->value && k->allow_empty)
		return; /* allowed empty: not a bad int or url either */
	if (k->deprecated) {
		struct check *chk = key_check(c, "schema-deprecated", ST_WARNING, k->name, "%s is deprecated", k->name);
		check_hint(chk, "%s", k->deprecated);
	}
	for (size_t i = 0; i < k->nrequires; i++)
		if (!find(c, k->requires[i], NULL)) {
			struct check *chk = key_check(c, "schema-requires", ST_CRITICAL, k->name,
						      "%s is set but %s, which it requires, is not", k->name, k->requires[i]);
			check_hint(chk, "set %s too, or remove %s", k->requires[i], k->name);
		}
	if (gcp_type(k->type)) {
		credentials(c, k, e->value);
		return;
	}
	if (of_type(c, k, e->value))
		in_range(c, k, e->value);
}

static void check_unknown(struct ctx *c)
{
	if (c->s->unknown_keys == ST_OK)
		return;
	for (size_t f = 0; f < c->nfiles; f++)
		for (size_t i = 0; i < c->files[f].res.n; i++) {
			const struct dotenv_entry *e = &c->files[f].res.entries[i];
			const struct env_file *where = NULL;
			if (!e->first || schema_find_key(c->s, e->key))
				continue;
			/* a service has each key once: reported where its value comes from */
			if (c->service && env_file_find(c->files, c->nfiles, e->key, &where) && where != &c->files[f])
				continue;
			const char *close = NULL;
			for (size_t k = 0; k < c->s->nkeys && !close; k++)
				if (edit_distance(e->key, c->s->keys[k].name, 2) <= 2)
					close = c->s->keys[k].name;
			struct check *chk = scoped_report(c, "schema-unknown", c->s->unknown_keys, e->key,
							  "%s is not in the schema %s", e->key, c->s->path);
			ec_location(chk, c->files[f].path, e->line, e->column);
			if (close)
				check_hint(chk, "did you mean %s?", close);
			else
				check_hint(chk, "add it to the schema or remove it");
		}
}

/* A rule operand: a key's numeric value or a literal number. */
static int operand(struct ctx *c, const char *op, double *out)
{
	if (!op)
		return -1;
	if (parse_double(op, out) == 0)
		return 0;
	const struct dotenv_entry *e = find(c, op, NULL);
	return e && parse_double(e->value, out) == 0 ? 0 : -1;
}

static void check_rule(struct ctx *c, const struct schema_rule *rule)
{
	double a, b, w, h = 0;
	if (rule->kind == RULE_LTE) {
		if (operand(c, rule->a, &a) < 0 || operand(c, rule->b, &b) < 0)
			return;
		struct check *chk = key_check(c, "schema-rule", a <= b ? ST_OK : ST_CRITICAL, rule->a,
					      "%s (%g) %s %s (%g)", rule->a, a, a <= b ? "<=" : "is greater than", rule->b, b);
		if (a > b)
			check_hint(chk, "lower %s or raise %s", rule->a, rule->b);
		return;
	}
	if (operand(c, rule->workers, &w) < 0 || operand(c, rule->a, &a) < 0 || operand(c, rule->b, &b) < 0 ||
	    (rule->headroom && operand(c, rule->headroom, &h) < 0))
		return;
	double need = w * a + h;
	struct check *chk = key_check(c, "pool-capacity", need <= b ? ST_OK : ST_CRITICAL, rule->a,
				      "%s (%g) x %s (%g) + headroom %g = %g connections, max_connections %g",
				      rule->workers, w, rule->a, a, h, need, b);
	check_metric(chk, "pool_connections", need, "", (struct thresholds){ NAN, b, 0, NAN });
	if (need > b)
		check_hint(chk, "lower %s or %s, or raise max_connections (put PgBouncer in front)", rule->workers, rule->a);
}

static void check_feature(struct ctx *c, const struct schema_feature *f)
{
	struct strbuf present = STRBUF_INIT, missing = STRBUF_INIT;
	size_t npresent = 0;
	for (size_t i = 0; i < f->nkeys; i++) {
		bool set = find(c, f->keys[i], NULL) != NULL;
		npresent += set;
		struct strbuf *sb = set ? &present : &missing;
		sb_addf(sb, "%s%s", sb->len ? ", " : "", f->keys[i]);
	}
	struct check *chk;
	if (!npresent) {
		chk = scoped_report(c, "feature-disabled", f->when_absent, f->name, "%s is disabled: %s%s %s set%s%s",
				   f->name, f->nkeys > 1 ? "none of " : "", sb_str(&missing), f->nkeys > 1 ? "is" : "is not",
				   f->description ? " - " : "", f->description ? f->description : "");
		check_hint(chk, "set %s to enable it", sb_str(&missing));
	} else if (f->all && npresent < f->nkeys) {
		chk = scoped_report(c, "feature-incomplete", ST_CRITICAL, f->name,
				   "%s is half configured: %s set but %s missing", f->name, sb_str(&present),
				   sb_str(&missing));
		check_hint(chk, "set %s, or remove %s", sb_str(&missing), sb_str(&present));
	} else {
		chk = scoped_report(c, "feature-enabled", ST_OK, f->name, "%s is configured (%s)", f->name,
				   sb_str(&present));
	}
	if (c->nfiles)
		ec_location(chk, c->files[c->nfiles - 1].path, 0, 0);
	sb_release(&present);
	sb_release(&missing);
}

static void check_builtin(const struct ctx *parent, const struct schema *s);

/* Marks the keys the schema calls secret before any file is read, so that mask_source()
 * masks their values as each file is parsed. */
int schema_mark_secrets(const char *path, char **err)
{
	struct schema *s = schema_load(path, err);
	if (!s)
		return -1;
	for (size_t i = 0; i < s->nkeys; i++)
		if (s->keys[i].secret)
			mark_secret_key(s->keys[i].name);
	schema_free(s);
	return 0;
}

struct schema *schema_open(struct report *r, const struct envcheck_opts *o)
{
	char *err = NULL;
	struct schema *s = schema_load(o->schema_path, &err);
	if (!s) {
		struct check *chk = ec_report(r, "schema-invalid", ST_UNKNOWN, o->schema_path, "%s", err);
		check_hint(chk, "see SCHEMA in ops-envcheck(1)");
		ec_location(chk, o->schema_path, 0, 0);
		free(err);
	}
	return s;
}

static void apply_schema(struct ctx *c)
{
	const struct schema *s = c->s;
	/* its secret keys were marked before any file was read (schema_mark_secrets), so
	 * their values are masked already */
	for (size_t i = 0; i < s->nkeys; i++)
		check_key(c, &s->keys[i]);
	check_unknown(c);
	for (size_t i = 0; i < s->nrules; i++)
		check_rule(c, &s->rules[i]);
	for (size_t i = 0; i < s->nfeatures; i++)
		check_feature(c, &s->features[i]);
	check_builtin(c, s);
	scoped_report(c, "schema", ST_OK, s->path, "%zu keys checked against %s", s->nkeys, s->path);
}

int schema_check(struct report *r, struct env_file *files, size_t nfiles, const struct envcheck_opts *o)
{
	struct schema *s = schema_open(r, o);
	struct ctx c = { r, files, nfiles, o, s, NULL };
	if (!s) {
		check_builtin(&c, NULL);
		return -1;
	}
	apply_schema(&c);
	schema_free(s);
	return 0;
}

void schema_check_service(struct report *r, const struct schema *s, const char *service, struct env_file *files,
			  size_t nfiles, const struct envcheck_opts *o)
{
	struct ctx c = { r, files, nfiles, o, s, service };
	if (s)
		apply_schema(&c);
	else
		check_builtin(&c, NULL);
}

/* A service account pasted as JSON under any other key (GOOGLE_CREDENTIALS='{...}'):
 * the key that wins, once, unless the schema or the list of known keys checks it. */
static void check_pasted_accounts(struct ctx *c, const struct schema *s, const struct schema_key *known,
				  size_t nknown)
{
	for (size_t f = 0; f < c->nfiles; f++)
		for (size_t i = 0; i < c->files[f].res.n; i++) {
			const struct dotenv_entry *e = &c->files[f].res.entries[i];
			const struct env_file *where = NULL;
			if (!e->first || (s && schema_find_key(s, e->key)))
				continue;
			bool listed = false;
			for (size_t k = 0; k < nknown && !listed; k++)
				listed = !strcmp(known[k].name, e->key);
			const struct dotenv_entry *last = find(c, e->key, &where);
			if (listed || !last || where != &c->files[f] || !is_service_account_value(last->value))
				continue;
			struct schema_key k = { .name = e->key, .type = "gcp-service-account-json", .min_length = -1,
						.max_length = -1 };
			check_key(c, &k);
		}
}

/* The well-known credential keys are checked when present, with a schema or without;
 * a schema that lists one of them checks it its own way. */
static void check_builtin(const struct ctx *parent, const struct schema *s)
{
	static const struct schema_key known[] = {
		{ .name = "GOOGLE_CLOUD_CREDENTIALS_B64", .type = "gcp-service-account-b64", .min_length = -1, .max_length = -1 },
		{ .name = "GOOGLE_APPLICATION_CREDENTIALS", .type = "gcp-service-account-file", .min_length = -1, .max_length = -1 },
		{ .name = "AWS_ACCESS_KEY_ID", .type = "aws-access-key-id", .min_length = -1, .max_length = -1 },
		{ .name = "AWS_SECRET_ACCESS_KEY", .type = "aws-secret-access-key", .min_length = -1, .max_length = -1 },
		{ .name = "SPEECH_KEY", .type = "azure-speech-key", .min_length = -1, .max_length = -1 },
		{ .name = "SPEECH_REGION", .type = "azure-region", .min_length = -1, .max_length = -1 },
		{ .name = "ELEVENLABS_API_KEY", .type = "elevenlabs-api-key", .min_length = -1, .max_length = -1 },
	};
	struct schema none = { .path = "(built-in)" };
	struct ctx c = *parent;
	c.s = &none;
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		if ((!s || !schema_find_key(s, known[i].name)) && find(&c, known[i].name, NULL))
			check_key(&c, &known[i]);
	check_pasted_accounts(&c, s, known, ARRAY_SIZE(known));
}

void schema_check_defaults(struct report *r, struct env_file *files, size_t nfiles, const struct envcheck_opts *o)
{
	struct ctx c = { r, files, nfiles, o, NULL, NULL };
	check_builtin(&c, NULL);
}
