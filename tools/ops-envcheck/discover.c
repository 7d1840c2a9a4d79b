/*
 * discover: directories given as FILE operands. A directory stands for the env files in
 * it (.env, .env.*, *.env); with -r/--recursive, in its whole tree too, in name order,
 * skipping node_modules, .git, vendored trees (vendor, third_party, bower_components,
 * .venv, venv, __pycache__) and whatever --exclude GLOB matches (a name or a path).
 * Symbolic links to directories are not followed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "envcheck.h"
#include "util.h"

#define MAX_DEPTH 32

static void add(char ***out, size_t *n, char *path)
{
	*out = xrealloc(*out, (*n + 1) * sizeof(char *));
	(*out)[(*n)++] = path;
}

static void walk(const char *dir, int depth, const struct envcheck_opts *o, char ***out, size_t *n)
{
	struct dirent **ents;
	int cnt = scandir(dir, &ents, NULL, alphasort);
	if (cnt < 0)
		return;
	for (int i = 0; i < cnt; i++) {
		const char *name = ents[i]->d_name;
		if (!strcmp(name, ".") || !strcmp(name, "..")) {
			free(ents[i]);
			continue;
		}
		char *path = env_file_path_in(dir, name);
		struct stat st;
		if (lstat(path, &st) == 0 && !env_file_excluded(name, path, o)) {
			if (S_ISDIR(st.st_mode)) {
				if (o->recursive && depth < MAX_DEPTH && !env_file_skipped_dir(name)) {
					walk(path, depth + 1, o, out, n);
				}
			} else if (env_file_named(name) && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))) {
				add(out, n, path);
				path = NULL;
			}
		}
		free(path);
		free(ents[i]);
	}
	free(ents);
}

size_t discover_files(char **operands, int noperands, const struct envcheck_opts *o, char ***out)
{
	size_t n = 0;
	*out = NULL;
	for (int i = 0; i < noperands; i++) {
		struct stat st;
		if (stat(operands[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			char *dir = xstrdup(operands[i]);
			size_t l = strlen(dir);
			while (l > 1 && dir[l - 1] == '/')
				dir[--l] = '\0';
			walk(dir, 0, o, out, &n);
			free(dir);
		} else {
			add(out, &n, xstrdup(operands[i]));
		}
	}
	return n;
}
