/*
 * fix: --fix rewrites the safe, mechanical findings (trailing whitespace, blanks
 * around =, unneeded quotes, extra blank lines, the missing final line break). The
 * result is parsed again and written only when every loaded value in the chosen
 * dialect is unchanged; CRLF line ends become LF. --backup keeps the original as
 * FILE.bak (not by default: beside a git-ignored .env, a .env.bak full of secrets would
 * show up untracked); --dry-run prints a unified diff and writes nothing.
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
#include "redact.h"
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

/* What became of each original line: [ns, ne) of the new text (ns == ne: deleted). */
struct line_fate {
	size_t ns, ne;
	bool deleted;
};

static char *rewrite(const struct env_file *f, size_t *len, int *fixes, struct lint_line **lines_out, size_t *n_out,
		     struct line_fate **fate_out)
{
	struct lint_line *lines;
	size_t n;
	lint_lines(f, &lines, &n);
	struct line_fate *fate = xcalloc(n ? n : 1, sizeof(*fate));
	struct strbuf out = STRBUF_INIT;
	*fixes = 0;
	for (size_t i = 0; i < n; i++) {
		const struct lint_line *l = &lines[i];
		bool last = i + 1 == n;
		fate[i].ns = fate[i].ne = out.len;
		if (last && l->start == f->len)
			break; /* the empty "line" after the final line break */
		if (l->continuation || starts_multiline(f, l->no)) {
			sb_add(&out, f->buf + l->start, l->end - l->start);
		} else if (l->blank && i > 0 && lines[i - 1].blank && !lines[i - 1].continuation) {
			(*fixes)++;
			fate[i].deleted = true;
			continue;
		} else {
			*fixes += fix_line(f, l, &out);
		}
		/* CRLF line ends become LF (checked like every fix: the loaded values stay) */
		sb_addch(&out, '\n');
		*fixes += l->crlf;
		if (last && f->len && f->buf[f->len - 1] != '\n')
			(*fixes)++;
		fate[i].ne = out.len;
	}
	*lines_out = lines;
	*n_out = n;
	*fate_out = fate;
	*len = out.len;
	return out.buf ? sb_detach(&out) : xstrdup("");
}

/* A unified diff of the rewrite, three lines of context, from the fate of each line. */
static void unified_diff(struct strbuf *d, const struct env_file *f, const char *fixed, const struct lint_line *lines,
			 size_t n, const struct line_fate *fate)
{
	if (n && lines[n - 1].start == f->len)
		n--; /* the empty line after the final break */
	bool *changed = xcalloc(n ? n : 1, sizeof(bool));
	for (size_t i = 0; i < n; i++) {
		size_t ol = (i + 1 < n || (f->len && f->buf[f->len - 1] == '\n')) ? lines[i].end - lines[i].start + 1 +
			    lines[i].crlf : lines[i].end - lines[i].start;
		changed[i] = fate[i].deleted || fate[i].ne - fate[i].ns != ol ||
			     memcmp(fixed + fate[i].ns, f->buf + lines[i].start, ol);
	}
	sb_addf(d, "--- %s\n+++ %s\n", f->path, f->path);
	long shift = 0; /* new line number - old line number before the hunk */
	for (size_t i = 0; i < n;) {
		if (!changed[i]) {
			i++;
			continue;
		}
		size_t a = i >= 3 ? i - 3 : 0, b = i;
		for (size_t gap = 0; b < n && gap <= 6; b++)
			gap = changed[b] ? 0 : gap + 1;
		while (b > i && !changed[b - 1] && b - 1 >= i) {
			size_t tail = 0;
			for (size_t k = b; k-- > i && !changed[k];)
				tail++;
			if (tail <= 3)
				break;
			b--;
		}
		size_t old_n = b - a, new_n = 0;
		for (size_t k = a; k < b; k++)
			new_n += !fate[k].deleted;
		long new_start = (long)a + 1 + shift;
		sb_addf(d, "@@ -%zu,%zu +%ld,%zu @@\n", a + 1, old_n, new_start, new_n);
		for (size_t k = a; k < b; k++) {
			const char *os = f->buf + lines[k].start;
			size_t olen = lines[k].end - lines[k].start;
			bool no_nl = k + 1 == n && f->len && f->buf[f->len - 1] != '\n';
			if (lines[k].continuation) { /* inside a multi-line value: never fixed, maybe a key */
				sb_addstr(d, " " REDACTED "\n");
				continue;
			}
			if (!changed[k]) {
				sb_addch(d, ' ');
				sb_add(d, os, olen);
				sb_addch(d, '\n');
				continue;
			}
			sb_addch(d, '-');
			sb_add(d, os, olen + lines[k].crlf);
			sb_addch(d, '\n');
			if (no_nl)
				sb_addstr(d, "\\ No newline at end of file\n");
			if (!fate[k].deleted) {
				sb_addch(d, '+');
				sb_add(d, fixed + fate[k].ns, fate[k].ne - fate[k].ns);
			}
		}
		for (size_t k = a; k < b; k++)
			shift -= fate[k].deleted;
		i = b;
	}
	free(changed);
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
	size_t len, nlines;
	int fixes;
	struct lint_line *lines;
	struct line_fate *fate;
	char *fixed = rewrite(f, &len, &fixes, &lines, &nlines, &fate);
	if (!fixes || (len == f->len && !memcmp(fixed, f->buf, len))) {
		free(fixed);
		free(lines);
		free(fate);
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
	char *backup = o->backup ? xasprintf("%s.bak", f->path) : NULL;
	/* a symlinked .env (to a shared or mounted file) is rewritten where it points,
	 * not replaced by a regular file */
	char *target = realpath(f->path, NULL);
	if (!same) {
		c = ec_report(r, "fix", ST_WARNING, f->path, "%s: not rewritten: the fixes would change a loaded "
				 "value in the %s dialect", f->path, dotenv_dialect_name(o->dialect));
		check_hint(c, "fix the findings by hand");
	} else if (o->dry_run) {
		/* the diff shows the file's lines: secrets are masked in it as everywhere
		 * (a line holding one reads ***), so it is for review, not always for patch(1) */
		struct strbuf d = STRBUF_INIT, safe = STRBUF_INIT;
		unified_diff(&d, f, fixed, lines, nlines, fate);
		redact_bytes(&safe, d.buf ? d.buf : "", d.len);
		fwrite(safe.buf ? safe.buf : "", 1, safe.len, stdout);
		sb_release(&safe);
		fflush(stdout);
		sb_release(&d);
		c = ec_report(r, "fix", ST_OK, f->path, "%s: %d fixes (dry run: the diff above, nothing written)",
			      f->path, fixes);
	} else if (!target || stat(target, &st) < 0 || (backup && write_file(backup, f->buf, f->len, &st) < 0) ||
		   write_file(target, fixed, len, &st) < 0) {
		c = ec_report(r, "fix", ST_CRITICAL, f->path, "%s: cannot rewrite: %s", f->path, strerror(errno));
	} else if (backup) {
		c = ec_report(r, "fix", ST_OK, f->path, "%s: %d fixes written, the original is in %s", f->path, fixes,
			      backup);
	} else {
		c = ec_report(r, "fix", ST_OK, f->path, "%s: %d fixes written (no backup: --backup keeps one)", f->path,
			      fixes);
	}
	ec_location(c, f->path, 0, 0);
	free(target);
	free(backup);
	free(fixed);
	free(lines);
	free(fate);
	return same ? 0 : -1;
}
