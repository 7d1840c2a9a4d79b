/*
 * ops-envcheck — shared declarations of the tool's modules. Each module leans only on
 * the ones listed below it and on lib/; main.c is the only one that calls the checks.
 *  main.c         options, config, subcommand dispatch (lint, print, compare, env)
 *  discover.c     directories as operands: their env files (-r, --exclude)
 *  stack.c        --stack: the files a loader stack reads, and where each key comes from
 *  compare.c      `compare`: drift against .env.example
 *  compose.c      --compose: a docker-compose.yml's ${VAR} and env_file
 *  fix.c          --fix for the safe, mechanical findings
 *  print.c        `print`: the loaded values as one JSON object
 *  portability.c  values that parse differently in another dialect
 *  secrets.c      credential formats found, git tracking and history, file permissions
 *  schema.c       --schema: key types, ranges, cross-key rules; built-in defaults
 *  schema_load.c  reads a schema file (schema.h)
 *  verify.c       --verify: asks a credential's issuer whether it works (provider table)
 *  creds.c        cloud / TTS credentials (Google service account, Azure, AWS, ElevenLabs)
 *  types.c        the value types a schema names (types.h)
 *  env_file.c     loading .env files, key lookup, env file names
 *  mask.c         the one owner of masking: registers a parsed source's secrets (env_file.c,
 *                 the history checks and compose call it right after parsing)
 *  lint.c         style checks (dotenv-linter's set) and their line model (lint.h)
 *  secret_rules.c which keys and values are secret, credential formats, placeholders
 *                 (secret_rules.h)
 *  suppress.c     every check is made here: disable comments, envcheck.ignore, baseline
 */
#ifndef OPSKIT_ENVCHECK_H
#define OPSKIT_ENVCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "dotenv.h"
#include "report.h"

/* The tool's option state: command line, config and defaults merged (main.c). */
struct envcheck_opts {
	enum dotenv_dialect dialect;
	bool expand;
	const char *schema_path;
	const char *compose_path;
	bool fix;
	bool dry_run;         /* --fix --dry-run: print the diff, write nothing */
	bool backup;          /* --fix --backup: keep FILE.bak */
	bool git;             /* check whether files with secrets are tracked */
	int history_commits;  /* how many of HEAD's commits the history checks read */
	const char *environment; /* --environment: which required_in keys are required */
	bool recursive;            /* -r: directories operands are walked */
	struct cli_list exclude;   /* --exclude GLOB: names or paths skipped */
	const char *stack;         /* --stack NAME: DIR operands are that stack's files */
	const char *mode;          /* --mode: the stack's mode (NODE_ENV, RAILS_ENV) */
	bool show_values;          /* `env`: the origins table shows each value (masked) */
	bool shows_other_dialects; /* lint, env: the portability check quotes what the other
				    * dialects load, so mask_source() masks that too */
	const char *const *secret_patterns; /* extra secret-looking key globs (config) */
	size_t nsecret_patterns;
	const char *const *ignore; /* check ids never reported (config envcheck.ignore) */
	size_t nignore;
	const char *baseline_path; /* --baseline: findings listed there are not reported */
	bool write_baseline;       /* --write-baseline: write the findings there instead */
	bool verify;               /* --verify: ask each credential's issuer (network) */
	long verify_timeout_ms;    /* bound on one --verify request */
	struct cli_list verify_allow; /* token URIs --verify may use besides the issuer's own */
	dotenv_lookup_fn lookup;   /* interpolation's environment; NULL: the process's */
	void *lookup_ctx;
};

struct env_file {
	const char *path;
	char *buf;
	size_t len;
	struct dotenv_result res;   /* in the chosen dialect */
};

/* ---- env_file.c ---- */
struct strbuf;
/* Reads and parses path (registers secret values). Returns -1 with errno set when the
 * file cannot be read. */
int env_file_load(struct env_file *f, const char *path, const struct envcheck_opts *o);
void env_file_free(struct env_file *f);
/* The loaded value of key across files (last file wins), or NULL; *where if present. */
const struct dotenv_entry *env_file_find(struct env_file *files, size_t nfiles, const char *key,
					 const struct env_file **where);
/* A name that is an env file's (.env, .env.*, *.env). */
bool env_file_named(const char *name);
/* --exclude matches the name or the path. */
bool env_file_excluded(const char *name, const char *path, const struct envcheck_opts *o);
/* A directory never searched for env files (node_modules, .git, vendored trees). */
bool env_file_skipped_dir(const char *name);
/* dir/name (to free); name alone when dir is ".", so paths print as the user typed them. */
char *env_file_path_in(const char *dir, const char *name);
/* A value fit for output: "***" for a secret value, else the value itself. */
const char *env_file_shown(const char *key, const char *value, const struct envcheck_opts *o);
/* A key quoted in a message: at most KEY_SHOWN_MAX bytes, then "..." (a 10 MB bare word
 * is a key too). Use as "%.*s%s" with KEY_SHOWN(key, len). */
#define KEY_SHOWN_MAX 128
#define KEY_SHOWN(key, len) (int)((len) > KEY_SHOWN_MAX ? KEY_SHOWN_MAX : (len)), (key), \
	((len) > KEY_SHOWN_MAX ? "..." : "")

/* ---- mask.c: the one owner of masking ---- */
/* Registers every secret text of a source just parsed (f->buf NULL: entries only, as a
 * compose service's environment:), before any check or output: secret values, values
 * holding a credential format, what the other portable dialects load for them, lines of
 * an unclosed quote, NAME VALUE pairs of lines the loader did not read as written. A
 * value taken from the checker's environment (from_env) makes its key secret. */
void mask_source(const struct env_file *f, const struct envcheck_opts *o);
/* A secret a check makes from a masked value or obtains at run time (a decoded
 * credential, a signed JWT, an issuer's access token): not there at parse time. */
void mask_derived(const char *secret);

/* ---- discover.c ---- */
/* The files the operands stand for (a directory: its env files); *out and each path are
 * allocated. Returns how many. */
size_t discover_files(char **operands, int noperands, const struct envcheck_opts *o, char ***out);

/* ---- stack.c ---- */
bool stack_known(const char *name);
/* The stack's files found in dir, lowest precedence first (allocated). */
size_t stack_files(const char *name, const char *mode, const char *dir, char ***out);
/* The compose file of a `--stack compose` operand (DIR or the file itself), allocated:
 * the first of compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml that
 * exists, else DIR/compose.yaml (reported unreadable). *dir: its directory (allocated). */
char *stack_compose_file(const char *operand, char **dir);
/* The "stack" check and the key origins table. */
void stack_report(struct report *r, struct env_file *files, size_t nfiles, const struct envcheck_opts *o);

/* ---- verify.c ---- */
struct strbuf;
/* Whether --verify knows how to try a credential of this schema type. */
bool verify_supported(const char *type);
/* Tries the credential at its issuer: OK (it works), CRITICAL (refused: msg holds the
 * issuer's error) or UNKNOWN (not tried, or no answer). Never puts the credential in msg. */
enum status verify_credential(const char *type, const char *value, const struct envcheck_opts *o,
			      struct strbuf *msg, struct strbuf *hint);

/* ---- suppress.c: every check goes through these ---- */
struct check *ec_report(struct report *r, const char *id, enum status st, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void ec_location(struct check *c, const char *file, int line, int column);
/* Reads a file the check was given (an env file, the compose file, a schema, a
 * baseline) into sb, at most 64 MiB: -1 with errno set when it cannot (EFBIG past the
 * cap, as /dev/zero gives). Here, below every reader, so that none calls up to env_file.c. */
int env_file_read(struct strbuf *sb, const char *path);
/* "cannot read PATH: why" (errno): the one message of every file the check cannot read
 * (to free). */
char *ec_unreadable_message(const char *path);
/* UNKNOWN check id: path cannot be read (errno says why), located at path. */
struct check *ec_report_unreadable(struct report *r, const char *id, const char *path);
/* Reads the baseline; -1 with *err (to free) when it cannot. */
int suppress_init(const struct envcheck_opts *o, char **err);
/* Records the "# ops-envcheck: disable=" comments of a loaded file. */
void suppress_scan(const struct env_file *f);
/* Applies the baseline, writes it (--write-baseline); -1 with *err when it cannot. */
int suppress_finish(char **err);

/* ---- the checks and subcommands ---- */
int print_file(const char *path, const struct envcheck_opts *o);
/* A UTF-16 file (CRITICAL: true, the other checks are pointless) or one that is not
 * UTF-8 (WARNING): one finding. */
bool lint_encoding(struct report *r, const struct env_file *f);
void lint_style(struct report *r, const struct env_file *f, const struct envcheck_opts *o);
/* The dialects a repository's services commonly share a .env between (compose, python,
 * node, shell): the portability check compares them, mask.c masks what each loads. */
#define ENV_PORTABLE_DIALECTS 4
void portability_check(struct report *r, const struct env_file *f, const struct envcheck_opts *o);
void lint_diagnostics(struct report *r, const struct env_file *f);
void secrets_check(struct report *r, const struct env_file *f, const struct envcheck_opts *o);
/* secret-in-history for the env files under directory dir (a subdirectory's with -r)
 * that HEAD's history holds with a credential but the work tree no longer does. */
void secrets_history_sweep(struct report *r, const char *dir, const struct envcheck_opts *o);
/* Loads the schema only to mark its secret keys; -1 with *err (to free) when unreadable. */
int schema_mark_secrets(const char *path, char **err);
int schema_check(struct report *r, struct env_file *files, size_t nfiles, const struct envcheck_opts *o);
struct schema;
/* The --schema, read once to be applied several times (schema_free, schema.h); NULL,
 * reported as schema-invalid, when it cannot be read. */
struct schema *schema_open(struct report *r, const struct envcheck_opts *o);
/* --stack compose: s applied to one service's environment (files lowest precedence
 * first), or without s the built-in credential checks; each finding's subject is
 * SERVICE/KEY and its message names the service. */
void schema_check_service(struct report *r, const struct schema *s, const char *service, struct env_file *files,
			  size_t nfiles, const struct envcheck_opts *o);
void schema_check_defaults(struct report *r, struct env_file *files, size_t nfiles,
			   const struct envcheck_opts *o);
int compare_files(struct report *r, const char *env_path, const char *example_path,
		  const struct envcheck_opts *o);
int compose_check(struct report *r, struct env_file *files, size_t nfiles, const struct envcheck_opts *o);
int fix_file(struct report *r, const struct env_file *f, const struct envcheck_opts *o);

#endif
