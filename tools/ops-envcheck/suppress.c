/*
 * suppress: findings the project says to ignore. Every check of the tool is made through
 * ec_report() and located through ec_location(), which remember it; a finding is turned
 * OK (with a hint saying why) when
 *  - its id is in the config's envcheck.ignore list,
 *  - the env file says so: "# ops-envcheck: disable=ID[,ID]" at the end of the line it
 *    is on, or alone on the line above it; "# ops-envcheck: disable-file=ID[,ID]"
 *    anywhere in the file ("all" matches every id),
 *  - it is in the --baseline file: id, file, subject and message without its line
 *    (lines move), as printed (secrets masked).
 * --write-baseline writes every finding of the run there (the old file is not applied),
 * one a line, tab-separated.
 * Also here, below every check that reads a file it was given (env, compose, schema,
 * baseline): that bounded read and the one message for a file it cannot read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envcheck.h"
#include "redact.h"
#include "util.h"

struct seen {
	struct check *c;
	char *id, *subject, *file, *message;
	const char *why;   /* suppressed: by what */
	enum status st;
};

static struct seen *seen;
static size_t nseen;
static const struct envcheck_opts *opts;

/* disable comments of the files loaded: file, line (0: the whole file), ids */
struct disable {
	char *file;
	int line;
	char *ids;    /* ",a,b," */
};
static struct disable *disables;
static size_t ndisables;

static char **baseline;
static size_t nbaseline;

static bool id_in(const char *list, const char *id)
{
	if (strstr(list, ",all,"))
		return true;
	char *needle = xasprintf(",%s,", id);
	bool in = strstr(list, needle) != NULL;
	free(needle);
	return in;
}

static void add_disable(const char *file, int line, const char *ids, size_t n)
{
	disables = xrealloc(disables, (ndisables + 1) * sizeof(*disables));
	struct strbuf sb = STRBUF_INIT;
	sb_addch(&sb, ',');
	for (size_t i = 0; i < n; i++)
		if (ids[i] != ' ' && ids[i] != '\t')
			sb_addch(&sb, ids[i]);
	sb_addch(&sb, ',');
	disables[ndisables++] = (struct disable){ xstrdup(file), line, sb_detach(&sb) };
}

void suppress_scan(const struct env_file *f)
{
	static const char tag[] = "ops-envcheck:";
	int line = 1;
	for (size_t off = 0; off < f->len; line++) {
		const char *nl = memchr(f->buf + off, '\n', f->len - off);
		size_t end = nl ? (size_t)(nl - f->buf) : f->len;
		const char *hash = memchr(f->buf + off, '#', end - off);
		const char *t = hash ? memmem(hash, end - (size_t)(hash - f->buf), tag, sizeof(tag) - 1) : NULL;
		if (t) {
			const char *p = t + sizeof(tag) - 1, *e = f->buf + end;
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			bool whole = (size_t)(e - p) > 13 && !memcmp(p, "disable-file=", 13);
			bool one = !whole && (size_t)(e - p) > 8 && !memcmp(p, "disable=", 8);
			if (whole || one) {
				p += whole ? 13 : 8;
				size_t n = strcspn(p, " \t\r\n#");
				if (n > (size_t)(e - p))
					n = (size_t)(e - p);
				/* alone on its line: it is about the next line */
				size_t lead = off;
				while (lead < end && (f->buf[lead] == ' ' || f->buf[lead] == '\t'))
					lead++;
				int at = whole ? 0 : f->buf + lead == hash ? line + 1 : line;
				add_disable(f->path, at, p, n);
			}
		}
		if (!nl)
			break;
		off = end + 1;
	}
}

int suppress_init(const struct envcheck_opts *o, char **err)
{
	opts = o;
	/* --write-baseline replaces the file with every finding of this run: those the old
	 * file lists too, or rewriting it would drop them */
	if (!o->baseline_path || o->write_baseline)
		return 0;
	/* read as env files are, under their cap: --baseline /dev/zero or a FIFO must end */
	struct strbuf text = STRBUF_INIT;
	if (env_file_read(&text, o->baseline_path) < 0) {
		*err = ec_unreadable_message(o->baseline_path);
		sb_release(&text);
		return -1;
	}
	for (const char *line = sb_str(&text), *end = line + text.len; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
		if (len && line[0] != '#') {
			baseline = xrealloc(baseline, (nbaseline + 1) * sizeof(char *));
			baseline[nbaseline++] = xstrndup(line, len);
		}
		line += len + 1;
	}
	sb_release(&text);
	return 0;
}

/* Beyond any real env or compose file; bounds /dev/zero or a runaway generator named as one. */
#define MAX_ENV_FILE_BYTES (64u << 20)

int env_file_read(struct strbuf *sb, const char *path)
{
	return sb_read_file(sb, path, MAX_ENV_FILE_BYTES);
}

/* Turned OK; the hint saying why is set at the end (the check's own hint comes after). */
static void quiet(struct seen *s, const char *why)
{
	if (s->st == ST_OK)
		return;
	check_set_status(s->c, ST_OK);
	s->why = why;
	s->st = ST_OK;
}

struct check *ec_report(struct report *r, const char *id, enum status st, const char *subject, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	struct check *c = report_check(r, id, st, subject, "%s", msg);
	seen = xrealloc(seen, (nseen + 1) * sizeof(*seen));
	struct seen *s = &seen[nseen++];
	/* kept as made; masked when it is written (fingerprint), only with a baseline */
	*s = (struct seen){ c, xstrdup(id), xstrdup(subject ? subject : ""), NULL, msg, NULL, st };
	for (size_t i = 0; opts && i < opts->nignore; i++)
		if (!strcmp(opts->ignore[i], id) || !strcmp(opts->ignore[i], "all"))
			quiet(s, "envcheck.ignore");
	return c;
}

static struct seen *find_seen(const struct check *c)
{
	for (size_t i = nseen; i-- > 0;)
		if (seen[i].c == c)
			return &seen[i];
	return NULL;
}

char *ec_unreadable_message(const char *path)
{
	return xasprintf("cannot read %s: %s", path, read_failure(errno, MAX_ENV_FILE_BYTES));
}

struct check *ec_report_unreadable(struct report *r, const char *id, const char *path)
{
	char *msg = ec_unreadable_message(path);
	struct check *c = ec_report(r, id, ST_UNKNOWN, path, "%s", msg);
	free(msg);
	ec_location(c, path, 0, 0);
	return c;
}

void ec_location(struct check *c, const char *file, int line, int column)
{
	check_location(c, file, line, column);
	struct seen *s = find_seen(c);
	if (!s || !file)
		return;
	free(s->file);
	s->file = xstrdup(file);
	for (size_t i = 0; i < ndisables; i++)
		if (!strcmp(disables[i].file, file) && (!disables[i].line || disables[i].line == line) &&
		    id_in(disables[i].ids, s->id))
			quiet(s, disables[i].line ? "ops-envcheck: disable= on the line" : "ops-envcheck: disable-file=");
}

/* id, file, subject and message without its "file:line: " prefix (lines move). */
static char *fingerprint(const struct seen *s)
{
	char *safe = redact_text(s->message);
	const char *m = safe;
	size_t fl = s->file ? strlen(s->file) : 0;
	if (fl && !strncmp(m, s->file, fl) && m[fl] == ':') {
		const char *p = m + fl + 1;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p > m + fl + 1 && p[0] == ':' && p[1] == ' ')
			m = p + 2;
	}
	struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "%s\t%s\t%s\t", s->id, s->file ? s->file : "", s->subject);
	for (; *m; m++)
		sb_addch(&sb, *m == '\t' || *m == '\n' || *m == '\r' ? ' ' : *m);
	free(safe);
	return sb_detach(&sb);
}

int suppress_finish(char **err)
{
	for (size_t i = 0; i < nseen; i++) {
		if (seen[i].st == ST_OK || !nbaseline)
			continue;
		char *fp = fingerprint(&seen[i]);
		for (size_t k = 0; k < nbaseline; k++)
			if (!strcmp(baseline[k], fp)) {
				quiet(&seen[i], "in the baseline");
				break;
			}
		free(fp);
	}
	int rc = 0;
	if (opts && opts->write_baseline && opts->baseline_path) {
		FILE *out = fopen(opts->baseline_path, "w");
		if (!out) {
			*err = xasprintf("cannot write baseline %s: %s", opts->baseline_path, strerror(errno));
			rc = -1;
		} else {
			fprintf(out, "# ops-envcheck baseline: id, file, subject (tab-separated); findings listed "
				     "here are not reported\n");
			for (size_t i = 0; i < nseen; i++)
				if (seen[i].st != ST_OK) {
					char *fp = fingerprint(&seen[i]);
					bool dup = false;
					for (size_t k = 0; k < i && !dup; k++)
						if (seen[k].why && !strcmp(seen[k].why, "written to the baseline")) {
							char *other = fingerprint(&seen[k]);
							dup = !strcmp(other, fp);
							free(other);
						}
					if (!dup)
						fprintf(out, "%s\n", fp);
					free(fp);
					quiet(&seen[i], "written to the baseline");
				}
			if (fclose(out) != 0) {
				*err = xasprintf("cannot write baseline %s: %s", opts->baseline_path, strerror(errno));
				rc = -1;
			}
		}
	}
	for (size_t i = 0; i < nseen; i++) {
		if (seen[i].why)
			check_hint(seen[i].c, "suppressed (%s)", seen[i].why);
		free(seen[i].message);
		free(seen[i].id);
		free(seen[i].subject);
		free(seen[i].file);
	}
	free(seen);
	seen = NULL;
	nseen = 0;
	for (size_t i = 0; i < ndisables; i++) {
		free(disables[i].file);
		free(disables[i].ids);
	}
	free(disables);
	disables = NULL;
	ndisables = 0;
	for (size_t i = 0; i < nbaseline; i++)
		free(baseline[i]);
	free(baseline);
	baseline = NULL;
	nbaseline = 0;
	return rc;
}
