/*
 * fix: --fix rewrites the safe, mechanical findings (trailing whitespace, blanks
 * around =, unneeded quotes, extra blank lines, the missing final line break). The
 * result is parsed again and written only when every loaded value in the chosen
 * dialect is unchanged; the original is kept as FILE.bak.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envcheck.h"
#include "lint.h"
#include "util.h"

static bool starts_multiline(const struct env_file *f, int line)
{
	for (size_t i = 0; i < f->res.n; i++)
		if (f->res.entries[i].line == line && f->res.entries[i].end_line > line)
			return true;
	return false;
}

/* One statement line, rewritten into out; returns how many fixes it made. */
static int fix_line(const struct env_file *f, const struct lint_line *l, struct strbuf *out)
{
	const char *s = f->buf;
	size_t end = l->end;
	int fixes = 0;
	while (end > l->start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
		end--;
	fixes += end != l->end;
	if (l->blank || l->comment || !l->has_eq || !shell_name_valid(s + l->key, l->key_len)) {
		sb_add(out, s + l->start, end - l->start);
		return fixes;
	}
	sb_add(out, s + l->start, l->key + l->key_len - l->start);
	sb_addch(out, '=');
	size_t v = l->value;
	while (v < end && (s[v] == ' ' || s[v] == '\t'))
		v++;
	fixes += l->space_before_eq || l->space_after_eq;
	char q = v < end ? s[v] : 0;
	const char *close = (q == '"' || q == '\'') && v + 1 < end ? memchr(s + v + 1, q, end - v - 1) : NULL;
	if (close && (size_t)(close - s) + 1 == end && close > s + v + 1 &&
	    strcspn(s + v + 1, " \t#$'\"\\`=") >= (size_t)(close - s - v - 1)) {
		sb_add(out, s + v + 1, (size_t)(close - s) - v - 1);
		return fixes + 1;
	}
	sb_add(out, s + v, end - v);
	return fixes;
}

static char *rewrite(const struct env_file *f, size_t *len, int *fixes)
{
	struct lint_line *lines;
	size_t n;
	lint_lines(f, &lines, &n);
	struct strbuf out = STRBUF_INIT;
	*fixes = 0;
	for (size_t i = 0; i < n; i++) {
		const struct lint_line *l = &lines[i];
		bool last = i + 1 == n;
		if (last && l->start == f->len)
			break; /* the empty "line" after the final line break */
		if (l->continuation || starts_multiline(f, l->no)) {
			sb_add(&out, f->buf + l->start, l->end - l->start);
		} else if (l->blank && i > 0 && lines[i - 1].blank && !lines[i - 1].continuation) {
			(*fixes)++;
			continue;
		} else {
			*fixes += fix_line(f, l, &out);
		}
		sb_addstr(&out, l->crlf ? "\r\n" : "\n");
		if (last && f->len && f->buf[f->len - 1] != '\n')
			(*fixes)++;
	}
	free(lines);
	*len = out.len;
	return out.buf ? sb_detach(&out) : xstrdup("");
}

/* The loaded view is the same: keys in order, each with its last value. */
static bool same_loaded(const struct dotenv_result *a, const struct dotenv_result *b)
{
	if (a->nkeys != b->nkeys)
		return false;
	size_t j = 0;
	for (size_t i = 0; i < a->n; i++) {
		if (!a->entries[i].first)
			continue;
		while (j < b->n && !b->entries[j].first)
			j++;
		if (j >= b->n || strcmp(a->entries[i].key, b->entries[j].key))
			return false;
		const struct dotenv_entry *x = dotenv_lookup(a, a->entries[i].key);
		const struct dotenv_entry *y = dotenv_lookup(b, b->entries[j].key);
		if (!x->value != !y->value ||
		    (x->value && (x->value_len != y->value_len || memcmp(x->value, y->value, x->value_len))))
			return false;
		j++;
	}
	return true;
}

/* Writes through a fresh temporary file and rename(2). mkstemp creates it 0600 and never
 * follows a symlink planted under a guessable name (FILE.envcheck-tmp, in a directory
 * others may write); it gets the original's mode and, when we may, its owner, so
 * `sudo ops-envcheck --fix` does not leave the service a root-owned file it cannot read. */
static int write_file(const char *path, const char *data, size_t len, const struct stat *orig)
{
	char *tmp = xasprintf("%s.envcheck-XXXXXX", path);
	int fd = mkstemp(tmp);
	FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
	int rc = -1;
	if (fd >= 0 && !fp)
		close(fd);
	if (fp && fwrite(data, 1, len, fp) == len && fflush(fp) == 0 &&
	    fchmod(fileno(fp), orig->st_mode & 07777) == 0) {
		if (fchown(fileno(fp), orig->st_uid, orig->st_gid) < 0) {
			/* not root: the file stays ours, as a new file would */
		}
		rc = fclose(fp);
		fp = NULL;
		if (rc == 0)
			rc = rename(tmp, path);
	}
	int saved = errno;
	if (fp)
		fclose(fp);
	if (rc && fd >= 0)
		unlink(tmp);
	free(tmp);
	errno = saved;
	return rc;
}

int fix_file(struct report *r, const struct env_file *f, const struct envcheck_opts *o)
{
	size_t len;
	int fixes;
	char *fixed = rewrite(f, &len, &fixes);
	if (!fixes || (len == f->len && !memcmp(fixed, f->buf, len))) {
		free(fixed);
		return 0;
	}
	struct dotenv_options dopts;
	dotenv_options_init(&dopts, o->dialect);
	dopts.expand = o->expand;
	struct dotenv_result after;
	dotenv_parse(fixed, len, &dopts, &after);
	bool same = same_loaded(&f->res, &after);
	dotenv_result_free(&after);
	struct check *c;
	struct stat st;
	char *backup = xasprintf("%s.bak", f->path);
	/* a symlinked .env (to a shared or mounted file) is rewritten where it points,
	 * not replaced by a regular file */
	char *target = realpath(f->path, NULL);
	if (!same) {
		c = ec_report(r, "fix", ST_WARNING, f->path, "%s: not rewritten: the fixes would change a loaded "
				 "value in the %s dialect", f->path, dotenv_dialect_name(o->dialect));
		check_hint(c, "fix the findings by hand");
	} else if (!target || stat(target, &st) < 0 || write_file(backup, f->buf, f->len, &st) < 0 ||
		   write_file(target, fixed, len, &st) < 0) {
		c = ec_report(r, "fix", ST_CRITICAL, f->path, "%s: cannot rewrite: %s", f->path, strerror(errno));
	} else {
		c = ec_report(r, "fix", ST_OK, f->path, "%s: %d fixes written, the original is in %s", f->path, fixes,
				 backup);
	}
	ec_location(c, f->path, 0, 0);
	free(target);
	free(backup);
	free(fixed);
	return same ? 0 : -1;
}
