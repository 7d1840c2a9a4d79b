/*
 * stack: --stack NAME [--mode MODE] DIR. The files a known loader stack reads in DIR,
 * lowest precedence first, so that the later file wins as in every other lookup here;
 * then, per key, the file it comes from and the files it shadows. A key set in the
 * process environment wins over every file (dotenv never overrides it): said so, its
 * value never shown.
 *   dotenv       .env
 *   nextjs       .env, .env.MODE, .env.local (not in test mode), .env.MODE.local
 *   dotenv-flow  as nextjs
 *   rails        as nextjs (dotenv-rails; MODE is RAILS_ENV)
 *   vite         .env, .env.local, .env.MODE, .env.MODE.local
 *   compose      .env (interpolation only); per service its env_file list, later
 *                winning, then environment: (compose.c reports those origins)
 */
#define _GNU_SOURCE
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "envcheck.h"
#include "util.h"

static const char *const stacks[] = { "dotenv", "nextjs", "dotenv-flow", "rails", "vite", "compose" };

bool stack_known(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(stacks); i++)
		if (!strcmp(name, stacks[i]))
			return true;
	return false;
}

static bool regular_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *stack_compose_file(const char *operand, char **dir)
{
	if (regular_file(operand)) {
		char *copy = xstrdup(operand);
		*dir = xstrdup(dirname(copy));
		free(copy);
		return xstrdup(operand);
	}
	/* Compose's own order of preference */
	static const char *const names[] = { "compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml" };
	*dir = xstrdup(operand);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *path = env_file_path_in(operand, names[i]);
		if (regular_file(path))
			return path;
		free(path);
	}
	return env_file_path_in(operand, names[0]);
}

size_t stack_files(const char *name, const char *mode, const char *dir, char ***out)
{
	const char *m = mode && *mode ? mode : "development";
	bool test = !strcmp(m, "test");
	char *names[4];
	size_t n = 0;
	names[n++] = xstrdup(".env");
	if (!strcmp(name, "vite")) {
		names[n++] = xstrdup(".env.local");
		names[n++] = xasprintf(".env.%s", m);
		names[n++] = xasprintf(".env.%s.local", m);
	} else if (strcmp(name, "dotenv") && strcmp(name, "compose")) {
		names[n++] = xasprintf(".env.%s", m);
		if (!test)
			names[n++] = xstrdup(".env.local");
		names[n++] = xasprintf(".env.%s.local", m);
	}
	*out = xcalloc(n, sizeof(char *));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char *path = env_file_path_in(dir, names[i]);
		if (regular_file(path))
			(*out)[k++] = path;
		else
			free(path);
		free(names[i]);
	}
	return k;
}

void stack_report(struct report *r, struct env_file *files, size_t nfiles, const struct envcheck_opts *o)
{
	if (!strcmp(o->stack, "compose")) {
		struct check *c = ec_report(r, "stack", ST_OK, o->stack, "stack compose: %s, with %s for ${VAR}",
					    o->compose_path, nfiles ? files[0].path : "no project .env");
		check_hint(c, "per service: its env_file list in order, the later file winning, then environment:; "
			   "the process environment only fills ${VAR} and environment: entries without a value");
		return;
	}
	struct strbuf order = STRBUF_INIT;
	for (size_t i = nfiles; i-- > 0;)
		sb_addf(&order, "%s%s", order.len ? " > " : "", files[i].path);
	struct check *c = ec_report(r, "stack", ST_OK, o->stack, "stack %s (%s): %s%s", o->stack,
				    o->mode ? o->mode : "development", nfiles ? "the environment > " : "no file found",
				    sb_str(&order));
	check_hint(c, "later files in this list lose to earlier ones; a key set in the environment wins over all");
	sb_release(&order);
	struct rp_table *t = rp_table_new(r, "stack_keys", "key origins (highest precedence first)");
	rp_table_col(t, "key", "KEY", COL_STR);
	rp_table_col(t, "from", "FROM", COL_STR);
	rp_table_col(t, "shadowed", "SHADOWED", COL_STR);
	if (o->show_values)
		rp_table_col(t, "value", "VALUE", COL_STR);
	for (size_t f = nfiles; f-- > 0;)
		for (size_t i = 0; i < files[f].res.n; i++) {
			const struct dotenv_entry *e = &files[f].res.entries[i];
			if (!e->first)
				continue;
			bool seen = false; /* listed already with a file of higher precedence */
			for (size_t g = f + 1; g < nfiles && !seen; g++)
				seen = dotenv_lookup(&files[g].res, e->key) != NULL;
			if (seen)
				continue;
			struct strbuf sh = STRBUF_INIT;
			bool env = getenv(e->key) != NULL;
			if (env)
				sb_addstr(&sh, files[f].path);
			for (size_t g = f; g-- > 0;)
				if (dotenv_lookup(&files[g].res, e->key))
					sb_addf(&sh, "%s%s", sh.len ? ", " : "", files[g].path);
			rp_table_str(t, e->key);
			rp_table_str(t, env ? "environment (value not shown)" : files[f].path);
			rp_table_str(t, sh.len ? sb_str(&sh) : NULL);
			const char *value = dotenv_lookup(&files[f].res, e->key)->value;
			if (o->show_values) /* the environment's value is the one used: never shown */
				rp_table_str(t, env ? NULL : env_file_shown(e->key, value, o));
			sb_release(&sh);
		}
	rp_table_end(t);
}
