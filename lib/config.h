/*
 * config — the one YAML file every opskit tool reads (see opskit.yaml(5)).
 *
 * Contract:
 *  - config_load() returns a fully validated config or NULL with a located message
 *    "file:line:column: message" in *err (callers exit 3). It never crashes on bad input
 *    and never substitutes a default for a bad value.
 *  - Every key is declared in the schema (lib/schema*.c, one table per tool). A key that
 *    is not declared is an error, with "did you mean" when a declared key is close.
 *    A "*" segment in a schema path stands for a name the user picks (a target, a
 *    pattern): "postgres.targets.*.dsn". Names may not contain '.'.
 *  - ${VAR} and ${VAR:-default} in scalar values expand from the environment ("$$" is a
 *    literal "$"); an unset ${VAR} without a default is a located error. Values that
 *    come from the environment under secret-looking names are registered with redact;
 *    a key's name is its last segment (a target or registry entry named "token" does
 *    not make its host secret).
 *  - Discovery: explicit path, $OPSKIT_CONFIG, ./opskit.yaml,
 *    $XDG_CONFIG_HOME/opskit/config.yaml (default ~/.config), /etc/opskit/config.yaml.
 *    An explicit path or $OPSKIT_CONFIG that does not exist is an error; finding no file
 *    otherwise gives an empty config (every getter reports "absent").
 *  - Getters take a concrete dotted path ("redis.targets.cache.url") and return 1 when
 *    the key is present, 0 when absent. Types and ranges were checked at load, so a
 *    present key always converts. The schema rows own the defaults: for an absent key a
 *    getter stores the row's fallback key's value, else the row's default, if either
 *    exists (and still returns 0); otherwise *out is left alone.
 */
#ifndef OPSKIT_CONFIG_H
#define OPSKIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum cfg_type {
	CFG_STRING,
	CFG_INT,       /* integer */
	CFG_NUMBER,    /* integer or decimal */
	CFG_BOOL,      /* true/false, yes/no, on/off */
	CFG_DURATION,  /* "30s", "250ms", "5m", bare number = seconds */
	CFG_THRESHOLD, /* number, "80%", or a duration */
	CFG_STRLIST,   /* a sequence of scalars (a single scalar is a list of one) */
};

struct cfg_key {
	const char *path;     /* dotted; "*" for a user-chosen name */
	enum cfg_type type;
	const char *doc;      /* one line, for `opskit-test-helper config-keys` */
	const char *def;      /* the default, written as in the file; NULL: none */
	const char *fallback; /* a key consulted before def when this one is absent */
	bool bounded;         /* INT, NUMBER and DURATION (in ms) values lie in [min, max] */
	double min, max;
};

/* One schema row: CFG_KEY("redis.count", CFG_INT, "doc", .def = "1000", CFG_RANGE(1, 100000)). */
#define CFG_KEY(p, t, d, ...) { .path = (p), .type = (t), .doc = (d), __VA_ARGS__ }
#define CFG_RANGE(lo, hi) .bounded = true, .min = (lo), .max = (hi)
#define CFG_NO_MAX 1e300
#define CFG_END { .path = NULL }

/* The keys of a tool's exporter mode (lib/exporter.h), in its section. */
#define CFG_EXPORTER_KEYS(section)                                                                   \
	CFG_KEY(section ".exporter.max_concurrent", CFG_INT, "probe scrapes at once; more are answered 503",   \
		.def = "4", CFG_RANGE(1, 256)),                                                               \
	CFG_KEY(section ".exporter.timeout", CFG_DURATION,                                                    \
		"bound on a probe when Prometheus sends no scrape timeout", .def = "10s",                    \
		CFG_RANGE(100, CFG_NO_MAX)),                                                                  \
	CFG_KEY(section ".exporter.allow_remote", CFG_BOOL, "may listen on an address that is not loopback",  \
		.def = "false"),                                                                              \
	CFG_KEY(section ".exporter.allow_any_target", CFG_BOOL,                                               \
		"may probe a DSN or URL given in the query string, not only named targets", .def = "false"), \
	CFG_KEY(section ".exporter.username", CFG_STRING, "basic auth user name of the exporter"),           \
	CFG_KEY(section ".exporter.password", CFG_STRING, "basic auth password of the exporter (use ${VAR})"), \
	CFG_KEY(section ".exporter.tls_cert_file", CFG_STRING, "PEM certificate: serve HTTPS"),              \
	CFG_KEY(section ".exporter.tls_key_file", CFG_STRING, "PEM private key of tls_cert_file")

/* The schema is the concatenation of these tables; each ends with {NULL}. */
extern const struct cfg_key opskit_schema_common[];
extern const struct cfg_key opskit_schema_promote[];
extern const struct cfg_key opskit_schema_pgprobe[];
extern const struct cfg_key opskit_schema_redisaudit[];
extern const struct cfg_key opskit_schema_envcheck[];

struct config;

struct config *config_load(const char *explicit_path, char **err);
/* Load a YAML string (tests); name is used in messages. */
struct config *config_load_string(const char *name, const char *yaml, char **err);
void config_free(struct config *c);
const char *config_path(const struct config *c); /* NULL when no file was found */

int cfg_str(const struct config *c, const char *path, const char **out);
int cfg_int(const struct config *c, const char *path, long long *out);
int cfg_double(const struct config *c, const char *path, double *out);
int cfg_bool(const struct config *c, const char *path, bool *out);
int cfg_duration_ms(const struct config *c, const char *path, double *out_ms);
int cfg_threshold(const struct config *c, const char *path, double *out, bool *percent);
/* Items of a list; *out points into the config (do not free). */
int cfg_list(const struct config *c, const char *path, const char *const **out, size_t *n);
/* Names of the children of a map (e.g. target names), in file order. */
int cfg_children(const struct config *c, const char *path, const char *const **out, size_t *n);
/* "file:line:column" of a key, for a tool's own semantic errors; "" when absent. */
const char *cfg_where(const struct config *c, const char *path);

/* "true"/"yes"/"on" and "false"/"no"/"off" (any of three cases), as the file takes them. */
int config_parse_bool(const char *v, bool *out);

/* Iterate the whole schema (for docs checks). Returns NULL past the end. */
const struct cfg_key *config_schema_key(size_t i);
/* The schema row a concrete path ("redis.streams.mail.maxlen") is an instance of. */
const struct cfg_key *config_schema_find(const char *path);
/* The value a getter gives an absent key (fallback key's value, else the row's default),
 * or NULL when there is none. */
const char *cfg_default(const struct config *c, const char *path);
/* NULL when v is within the row's bounds, else what is wrong ("must be at least 1").
 * v is in the row's unit (milliseconds for durations). Returns a static string. */
const char *cfg_bounds_problem(const struct cfg_key *k, double v);
/* One more table, searched after the tools' tables; NULL removes it. For the test helper,
 * which checks every type against a table of its own. */
void config_schema_set_extra(const struct cfg_key *table);

#endif
