/*
 * secret_rules: which keys and values are secret — a schema's or the config's secret
 * keys, a secret-looking name unless the value is a path, a pasted service account —
 * and which values hold a credential format (one data row per format) or are only a
 * placeholder. Pure decisions on text: it registers nothing (mask.c does, right after
 * parsing) and calls no other module of the tool, so every module may lean on it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <fnmatch.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envcheck.h"
#include "redact.h"
#include "secret_rules.h"
#include "util.h"

/* Keys a schema marks secret; a run has a handful, so a list is enough. */
static char **schema_secret_keys;
static size_t nschema_secret_keys;

void mark_secret_key(const char *key)
{
	for (size_t i = 0; i < nschema_secret_keys; i++)
		if (!strcmp(schema_secret_keys[i], key))
			return;
	schema_secret_keys = xrealloc(schema_secret_keys, (nschema_secret_keys + 1) * sizeof(char *));
	schema_secret_keys[nschema_secret_keys++] = xstrdup(key);
}

void forget_secret_keys(void)
{
	for (size_t i = 0; i < nschema_secret_keys; i++)
		free(schema_secret_keys[i]);
	free(schema_secret_keys);
	schema_secret_keys = NULL;
	nschema_secret_keys = 0;
}

/* Secret because the schema or the config says so, not by its name alone. */
static bool declared_secret(const char *key, const struct envcheck_opts *o)
{
	for (size_t i = 0; i < nschema_secret_keys; i++)
		if (!strcmp(schema_secret_keys[i], key))
			return true;
	for (size_t i = 0; i < o->nsecret_patterns; i++)
		if (!fnmatch(o->secret_patterns[i], key, 0))
			return true;
	return false;
}

bool is_secret_key(const char *key, const struct envcheck_opts *o)
{
	return redact_key_is_secret(key) || declared_secret(key, o);
}

/* By its text, never by the key's name, and without parsing it: the JSON may be broken
 * (that is what the credentials check then says), and it is secret all the same. */
bool is_service_account_value(const char *value)
{
	if (!value)
		return false;
	value += strspn(value, " \t\r\n");
	if (*value != '{')
		return false;
	for (const char *p = strstr(value, "\"type\""); p; p = strstr(p + 1, "\"type\"")) {
		const char *v = p + 6;
		v += strspn(v, " \t\r\n");
		if (*v != ':')
			continue;
		v += 1 + strspn(v + 1, " \t\r\n");
		if (str_starts_with(v, "\"service_account\""))
			return true;
	}
	return false;
}

bool is_secret_value(const char *key, const char *value, const struct envcheck_opts *o)
{
	if (declared_secret(key, o) || is_service_account_value(value))
		return true;
	return redact_key_is_secret(key) && !redact_value_is_path(key, value);
}

/* The credential formats, as data: one row each. literal: a string every match holds
 * (checked before the regex, so ordinary values cost a strstr); placeholder_suffix: a
 * match ending so is documentation's fake (AWS's ...EXAMPLE keys); needs: a key that
 * must be set beside it (a temporary AWS key is useless without its session token). */
static const struct credential_rule rules[] = {
	{ "private-key", "a private key", { "PRIVATE KEY" }, "-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----", NULL, NULL },
	{ "aws-access-key-id", "an AWS access key id", { "AKIA", "A3T", "ABIA", "ACCA" },
	  "(^|[^A-Z0-9])(AKIA|A3T[A-Z0-9]|ABIA|ACCA)[A-Z0-9]{16}([^A-Z0-9]|$)", "EXAMPLE", NULL },
	{ "aws-temporary-key-id", "an AWS temporary access key id", { "ASIA" },
	  "(^|[^A-Z0-9])ASIA[A-Z0-9]{16}([^A-Z0-9]|$)", "EXAMPLE", "AWS_SESSION_TOKEN" },
	{ "github-token", "a GitHub token", { "ghp_", "gho_", "ghu_", "ghs_", "ghr_" }, "gh[pousr]_[A-Za-z0-9]{36}", NULL, NULL },
	{ "github-fine-grained-token", "a GitHub token", { "github_pat_" }, "github_pat_[A-Za-z0-9_]{60,}", NULL, NULL },
	{ "gitlab-token", "a GitLab token", { "glpat-" }, "glpat-[A-Za-z0-9_-]{20,}", NULL, NULL },
	{ "slack-token", "a Slack token", { "xox" }, "xox[abprs]-[A-Za-z0-9-]{10,}", NULL, NULL },
	{ "slack-webhook", "a Slack webhook URL", { "hooks.slack.com/services/" },
	  "hooks\\.slack\\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,}", NULL, NULL },
	{ "stripe-secret-key", "a Stripe secret key", { "sk_live_", "rk_live_" }, "(sk|rk)_live_[A-Za-z0-9]{20,}", NULL, NULL },
	{ "twilio-api-key", "a Twilio API key", { "SK" }, "(^|[^A-Za-z0-9])SK[0-9a-f]{32}([^A-Za-z0-9]|$)", NULL, NULL },
	{ "anthropic-api-key", "an Anthropic API key", { "sk-ant-" }, "sk-ant-(api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,}", NULL, NULL },
	{ "openai-api-key", "an OpenAI API key", { "sk-proj-", "sk-svcacct-", "sk-admin-", "T3BlbkFJ" },
	  "sk-(proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}", NULL, NULL },
	{ "google-api-key", "a Google API key", { "AIza" }, "AIza[0-9A-Za-z_-]{35}", NULL, NULL },
};

/* Compiled once, kept for the run. */
static regex_t rule_re[ARRAY_SIZE(rules)];
static bool rule_ok[ARRAY_SIZE(rules)], rules_compiled;

/* The first match of rule i in value: 1 when it is a real-looking one, 0 when none or
 * only a placeholder (AKIAIOSFODNN7EXAMPLE). */
static int matches_rule(size_t i, const char *value)
{
	bool literal = false;
	for (size_t k = 0; k < ARRAY_SIZE(rules[i].literal) && rules[i].literal[k] && !literal; k++)
		literal = strstr(value, rules[i].literal[k]) != NULL;
	if (!literal)
		return 0;
	if (!rules_compiled) {
		for (size_t k = 0; k < ARRAY_SIZE(rules); k++)
			rule_ok[k] = regcomp(&rule_re[k], rules[k].pattern, REG_EXTENDED) == 0;
		rules_compiled = true;
	}
	regmatch_t m;
	if (!rule_ok[i] || regexec(&rule_re[i], value, 1, &m, 0) != 0)
		return 0;
	if (rules[i].placeholder_suffix) {
		size_t sl = strlen(rules[i].placeholder_suffix), end = (size_t)m.rm_eo;
		while (end > (size_t)m.rm_so && !isalnum((unsigned char)value[end - 1]))
			end--;
		if (end - (size_t)m.rm_so >= sl && !memcmp(value + end - sl, rules[i].placeholder_suffix, sl))
			return 0;
	}
	return 1;
}

static double entropy(const char *s)
{
	size_t count[256] = { 0 }, n = 0;
	for (; s[n]; n++)
		count[(unsigned char)s[n]]++;
	double h = 0;
	for (int i = 0; i < 256; i++)
		if (count[i]) {
			double p = (double)count[i] / (double)n;
			h -= p * log2(p);
		}
	return h;
}

/* A word of a placeholder, alone or followed by digits (changeme123). */
static bool placeholder_word(const char *w, size_t n)
{
	static const char *const words[] = { "changeme", "change", "me", "example", "examples", "placeholder",
					     "your", "yours", "my", "here", "todo", "tbd", "fixme", "secret", "password",
					     "passwd", "pass", "dummy", "test", "testing", "fake", "sample", "replace",
					     "insert", "put", "enter", "value", "token", "key", "api", "apikey", "foo",
					     "bar", "baz", "none", "null", "empty", "redacted", "xxx", "the", "a", "an",
					     "with", "this", "some", "set", "default", "user", "username", "id",
					     "access", "private", "client", "app", "s3cr3t", "letmein", "hunter" };
	size_t alpha = n;
	while (alpha && isdigit((unsigned char)w[alpha - 1]))
		alpha--;
	if (!alpha)
		return n <= 1; /* "0", "1" glue words together; a number is not a placeholder */
	if (strspn(w, "xX*") >= alpha)
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strlen(words[i]) == alpha && !strncasecmp(w, words[i], alpha))
			return true;
	return false;
}

/* Empty, short, or written as a placeholder: <your-token>, ${TOKEN}, xxxx, changeme,
 * your_api_key_here, AKIA...EXAMPLE. A real value that merely contains such a word
 * (a DSN to db.latest.internal, a password "attestation-Q9v...") is not one: every word
 * of the value must be a placeholder word. */
bool is_placeholder_value(const char *v)
{
	size_t len = strlen(v);
	if (!*v || len < 8)
		return true;
	if (strchr(v, '<') || strstr(v, "${") || strspn(v, "x*.-_0") == len)
		return true;
	if (len >= 7 && !strcmp(v + len - 7, "EXAMPLE"))
		return true;
	for (const char *p = v; *p;) {
		if (!isalnum((unsigned char)*p)) {
			p++;
			continue;
		}
		size_t n = 0;
		while (isalnum((unsigned char)p[n]))
			n++;
		if (!placeholder_word(p, n))
			return false;
		p += n;
	}
	return true;
}

/* The rule a value matches, or -1. */
static int rule_of(const char *value)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (matches_rule(i, value))
			return (int)i;
	return -1;
}

const struct credential_rule *credential_rule_of(const char *value)
{
	int i = rule_of(value);
	return i >= 0 ? &rules[i] : NULL;
}

const char *credential_format(const char *key, const char *value, const struct envcheck_opts *o)
{
	int i = rule_of(value);
	if (i >= 0)
		return rules[i].what;
	if (is_secret_value(key, value, o) && strlen(value) >= 20 && entropy(value) >= 3.5 &&
	    !is_placeholder_value(value))
		return "a high-entropy secret";
	return NULL;
}

const char *credential_kind(const struct dotenv_entry *e, const struct envcheck_opts *o)
{
	if (!e->value || !*e->value || str_starts_with(e->value, "encrypted:") ||
	    str_starts_with(e->key, "DOTENV_PUBLIC_KEY"))
		return NULL;
	const char *w = credential_format(e->key, e->value, o);
	if (!w && is_secret_value(e->key, e->value, o) && !is_placeholder_value(e->value))
		w = "a secret value";
	return w;
}

