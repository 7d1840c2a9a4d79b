/*
 * dotenv dialect "shell": what `set -a; . FILE` leaves exported in bash, computed
 * without running anything. Supported: assignments (NAME=, NAME+=), several per line,
 * `;`, `export`/`readonly` with assignments, comments, \-continuations, '...', "...",
 * $'...', $NAME, ${NAME}, ${NAME:-w} ${NAME-w} ${NAME:=w} ${NAME=w} ${NAME:+w}
 * ${NAME+w} ${NAME:?w} ${#NAME}, and ~ at the start of a value or after ':'.
 * Anything bash would execute (a command, $(...), `...`, $((...)), pipes, redirections)
 * is reported as DOTENV_NOT_RUN and its assignment is not loaded.
 */
#define _GNU_SOURCE
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dotenv_impl.h"

#define MAX_WORDS 256

struct sh {
	struct dotenv_parser *p;
	size_t pos;
	size_t stmt;
	bool stop;
	bool exits;            /* the shell itself exits: nothing is exported */
};

struct raw_word {
	size_t start, end;
};

/* What expanding a word found that we refuse or cannot know. */
struct expansion {
	struct strbuf out;
	const char *refused;   /* static description, NULL when fine */
	char quote;            /* first quote character seen */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_meta(char c)
{
	return c == ';' || c == '&' || c == '|' || c == '<' || c == '>' || c == '(' || c == ')' ||
	       c == '\n' || is_blank(c);
}

/* Offset just past the construct opened at i (quotes, $(, ${, `), or -1 if unterminated
 * or nested deeper than MAX_NESTING (bounded recursion on hostile input). */
#define MAX_NESTING 64
static long skip_construct(const char *s, size_t n, size_t i, int depth);

static long skip_until_depth(const char *s, size_t n, size_t i, char close, bool escapes, int depth)
{
	if (depth > MAX_NESTING)
		return -1;
	for (; i < n; i++) {
		if (escapes && s[i] == '\\') {
			i++;
			continue;
		}
		if (s[i] == close)
			return (long)i + 1;
		if (close != '\'' && close != '`' && (s[i] == '$' || s[i] == '`' || (close != '"' && (s[i] == '"' || s[i] == '\'')))) {
			if (s[i] == '$' && (i + 1 >= n || (s[i + 1] != '(' && s[i + 1] != '{')))
				continue;
			long e = skip_construct(s, n, i, depth + 1);
			if (e < 0)
				return -1;
			i = (size_t)e - 1;
		}
	}
	return -1;
}

static long skip_until(const char *s, size_t n, size_t i, char close, bool escapes)
{
	return skip_until_depth(s, n, i, close, escapes, 0);
}

static long skip_construct(const char *s, size_t n, size_t i, int depth)
{
	switch (s[i]) {
	case '\'':
		return skip_until_depth(s, n, i + 1, '\'', false, depth);
	case '"':
		return skip_until_depth(s, n, i + 1, '"', true, depth);
	case '`':
		return skip_until_depth(s, n, i + 1, '`', true, depth);
	case '$':
		if (i + 1 < n && s[i + 1] == '(')
			return skip_until_depth(s, n, i + 2, ')', true, depth);
		if (i + 1 < n && s[i + 1] == '{')
			return skip_until_depth(s, n, i + 2, '}', true, depth);
		if (i + 1 < n && s[i + 1] == '\'') {
			for (size_t j = i + 2; j < n; j++) {
				if (s[j] == '\\')
					j++;
				else if (s[j] == '\'')
					return (long)j + 1;
			}
			return -1;
		}
		return (long)i + 1;
	default:
		return (long)i + 1;
	}
}

/* Reads one word at x->pos; returns false on an unterminated quote. */
static bool read_word(struct sh *x, struct raw_word *w)
{
	const char *s = x->p->s;
	size_t n = x->p->n, i = x->pos;
	w->start = i;
	while (i < n && !is_meta(s[i])) {
		if (s[i] == '\\') {
			i += 2;
			continue;
		}
		if (s[i] == '\'' || s[i] == '"' || s[i] == '`' || s[i] == '$') {
			long e = skip_construct(s, n, i, 0);
			if (e < 0)
				return false;
			i = (size_t)e;
			continue;
		}
		i++;
	}
	w->end = i > n ? n : i;
	x->pos = w->end;
	return true;
}

static void expand_span(struct sh *x, const char *s, size_t n, struct expansion *e, bool assignment);

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h)
		return h;
	struct passwd *pw = getpwuid(getuid());
	return pw ? pw->pw_dir : NULL;
}

/* ${...} with the operators listed at the top; body is between the braces. */
static void braced(struct sh *x, const char *b, size_t n, struct expansion *e)
{
	bool length = n && b[0] == '#';
	size_t i = length, name_len = 0;
	if (i < n && shell_name_start(b[i]))
		while (i + name_len < n && shell_name_char(b[i + name_len]))
			name_len++;
	if (!name_len) {
		e->refused = "a special parameter or unsupported ${...}";
		return;
	}
	bool found;
	const char *val = dp_var(x->p, b + i, name_len, true, &found);
	size_t op = i + name_len;
	if (op == n) {
		if (length)
			sb_addf(&e->out, "%zu", strlen(val));
		else
			sb_addstr(&e->out, val);
		return;
	}
	bool colon = b[op] == ':';
	size_t o = op + colon;
	if (length || o >= n || !strchr("-=+?", b[o])) {
		e->refused = "an unsupported ${...} operator";
		return;
	}
	bool set = found && (!colon || *val);
	struct expansion w = { STRBUF_INIT, NULL, 0 };
	expand_span(x, b + o + 1, n - o - 1, &w, false);
	if (w.refused)
		e->refused = w.refused;
	if (b[o] == '-' || b[o] == '=')
		sb_addstr(&e->out, set ? val : sb_str(&w.out));
	else if (b[o] == '+')
		sb_addstr(&e->out, set ? sb_str(&w.out) : "");
	else if (set)
		sb_addstr(&e->out, val);
	else {
		dp_diag(x->p, DOTENV_FATAL, x->stmt, "${%.*s:?} fails: bash exits here and exports nothing",
			(int)name_len, b + i);
		x->stop = true;
		x->exits = true;
	}
	if (b[o] == '=' && !set && !e->refused) {
		struct dp_span sp = { .key = x->stmt, .start = x->stmt, .end = x->stmt, .vstart = x->stmt, .vend = x->stmt };
		struct strbuf v = STRBUF_INIT;
		sb_addstr(&v, sb_str(&w.out));
		dp_add(x->p, b + i, name_len, &v, &sp);
		sb_release(&v);
	}
	sb_release(&w.out);
}

/* $... at s[*i]; advances *i past it. */
static void dollar(struct sh *x, const char *s, size_t n, size_t *i, struct expansion *e)
{
	size_t j = *i + 1;
	if (j < n && s[j] == '{') {
		long end = skip_until(s, n, j + 1, '}', true);
		if (end < 0) {
			e->refused = "an unterminated ${";
			*i = n;
			return;
		}
		braced(x, s + j + 1, (size_t)end - j - 2, e);
		*i = (size_t)end;
	} else if (j < n && shell_name_start(s[j])) {
		size_t k = j;
		while (k < n && shell_name_char(s[k]))
			k++;
		bool found;
		sb_addstr(&e->out, dp_var(x->p, s + j, k - j, true, &found));
		*i = k;
	} else if (j < n && s[j] == '(') {
		e->refused = "a command substitution $(...)";
		long end = skip_until(s, n, j + 1, ')', true);
		*i = end < 0 ? n : (size_t)end;
	} else if (j < n && strchr("0123456789@*#?-$!", s[j])) {
		e->refused = "a special parameter";
		*i = j + 1;
	} else {
		sb_addch(&e->out, '$');
		*i = j;
	}
}

static char ansi_escape(const char *s, size_t n, size_t *i)
{
	static const char from[] = "abefnrtv\\'\"?", to[] = "\a\b\033\f\n\r\t\v\\'\"?";
	char c = s[*i];
	const char *hit = c ? strchr(from, c) : NULL;
	if (hit) {
		(*i)++;
		return to[hit - from];
	}
	if (c >= '0' && c <= '7') {
		int v = 0;
		for (int k = 0; k < 3 && *i < n && s[*i] >= '0' && s[*i] <= '7'; k++)
			v = v * 8 + (s[(*i)++] - '0');
		return (char)v;
	}
	return '\\';
}

static void ansi_c_quoted(const char *s, size_t n, size_t *i, struct expansion *e)
{
	size_t j = *i + 2;
	while (j < n && s[j] != '\'') {
		if (s[j] == '\\' && j + 1 < n) {
			j++;
			char c = ansi_escape(s, n, &j);
			sb_addch(&e->out, c);
			if (c == '\\' && s[j] != '\\')
				continue;
			continue;
		}
		sb_addch(&e->out, s[j++]);
	}
	*i = j + 1;
}

static void double_quoted(struct sh *x, const char *s, size_t n, size_t *i, struct expansion *e)
{
	size_t j = *i + 1;
	while (j < n && s[j] != '"') {
		if (s[j] == '\\' && j + 1 < n && strchr("$`\"\\\n", s[j + 1])) {
			if (s[j + 1] != '\n')
				sb_addch(&e->out, s[j + 1]);
			j += 2;
		} else if (s[j] == '$') {
			dollar(x, s, n, &j, e);
		} else if (s[j] == '`') {
			e->refused = "a command substitution `...`";
			long end = skip_until(s, n, j + 1, '`', true);
			j = end < 0 ? n : (size_t)end;
		} else {
			sb_addch(&e->out, s[j++]);
		}
	}
	*i = j + 1;
}

static void tilde(const char *s, size_t n, size_t *i, struct expansion *e)
{
	const char *h = home_dir();
	if (h && (*i + 1 >= n || s[*i + 1] == '/' || s[*i + 1] == ':')) {
		sb_addstr(&e->out, h);
		(*i)++;
	} else {
		sb_addch(&e->out, '~');
		(*i)++;
	}
}

static void expand_span(struct sh *x, const char *s, size_t n, struct expansion *e, bool assignment)
{
	for (size_t i = 0; i < n && !x->stop;) {
		char c = s[i];
		if ((c == '\'' || c == '"' || c == '`') && !e->quote)
			e->quote = c;
		if (c == '\\') {
			if (i + 1 < n && s[i + 1] != '\n')
				sb_addch(&e->out, s[i + 1]);
			else if (i + 1 >= n)
				sb_addch(&e->out, '\\');
			i += 2;
		} else if (c == '\'') {
			const char *q = memchr(s + i + 1, '\'', n - i - 1);
			size_t end = q ? (size_t)(q - s) : n;
			sb_add(&e->out, s + i + 1, end - i - 1);
			i = end + 1;
		} else if (c == '"') {
			double_quoted(x, s, n, &i, e);
		} else if (c == '$' && i + 1 < n && s[i + 1] == '\'') {
			ansi_c_quoted(s, n, &i, e);
		} else if (c == '$' && i + 1 < n && s[i + 1] == '"') {
			i++;
		} else if (c == '$') {
			dollar(x, s, n, &i, e);
		} else if (c == '`') {
			e->refused = "a command substitution `...`";
			long end = skip_until(s, n, i + 1, '`', true);
			i = end < 0 ? n : (size_t)end;
		} else if (c == '~' && assignment && (i == 0 || s[i - 1] == ':')) {
			tilde(s, n, &i, e);
		} else {
			sb_addch(&e->out, c);
			i++;
		}
	}
}

/* NAME= or NAME+= at the start of a raw word: returns the name length, 0 if not. */
static size_t assignment_name(const char *s, const struct raw_word *w, bool *append)
{
	size_t i = w->start;
	if (i >= w->end || !shell_name_start(s[i]))
		return 0;
	while (i < w->end && shell_name_char(s[i]))
		i++;
	*append = i + 1 < w->end && s[i] == '+' && s[i + 1] == '=';
	if (*append || (i < w->end && s[i] == '='))
		return i - w->start;
	return 0;
}

static void assign(struct sh *x, const struct raw_word *w, bool exported)
{
	const char *s = x->p->s;
	bool append;
	size_t nlen = assignment_name(s, w, &append);
	size_t v = w->start + nlen + 1 + append;
	struct expansion e = { STRBUF_INIT, NULL, 0 };
	expand_span(x, s + v, w->end - v, &e, true);
	if (x->stop) {
		sb_release(&e.out);
		return;
	}
	if (e.refused) {
		dp_diag(x->p, DOTENV_NOT_RUN, w->start, "%.*s is not loaded: its value needs %s, which is never run",
			(int)nlen, s + w->start, e.refused);
		sb_release(&e.out);
		return;
	}
	struct strbuf value = STRBUF_INIT;
	if (append) {
		bool found;
		sb_addstr(&value, dp_var(x->p, s + w->start, nlen, true, &found));
	}
	sb_add(&value, e.out.buf ? e.out.buf : "", e.out.len);
	struct dp_span sp = { .key = w->start, .start = w->start, .end = w->end, .vstart = v,
			      .vend = w->end, .quote = e.quote, .exported = exported };
	dp_add(x->p, s + w->start, nlen, &value, &sp);
	sb_release(&value);
	sb_release(&e.out);
}

/* export's arguments are ordinary words: `export \\nB=1` exports nB after quote
 * removal. Returns true when the expanded word was NAME=value (and was loaded). */
static bool expanded_assignment(struct sh *x, const struct raw_word *w)
{
	struct expansion e = { STRBUF_INIT, NULL, 0 };
	expand_span(x, x->p->s + w->start, w->end - w->start, &e, false);
	const char *t = sb_str(&e.out);
	size_t nlen = 0;
	if (shell_name_start(t[0]))
		while (shell_name_char(t[nlen]))
			nlen++;
	bool ok = !e.refused && !x->stop && nlen && t[nlen] == '=';
	if (ok) {
		struct strbuf value = STRBUF_INIT;
		sb_addstr(&value, t + nlen + 1);
		struct dp_span sp = { .key = w->start, .start = w->start, .end = w->end, .vstart = w->start,
				      .vend = w->end, .quote = e.quote, .exported = true };
		dp_add(x->p, t, nlen, &value, &sp);
		sb_release(&value);
	}
	sb_release(&e.out);
	return ok;
}

static void declaration(struct sh *x, const struct raw_word *words, size_t nw)
{
	const char *s = x->p->s;
	/* Diagnostics quote a word only while the words so far are names: in
	 * "export DB_PASSWORD = hunter2" the word after "=" is the value. */
	bool names_only = true;
	int cmd_len = (int)(words[0].end - words[0].start);
	for (size_t i = 1; i < nw && !x->stop; i++) {
		bool append;
		const struct raw_word *w = &words[i];
		size_t len = w->end - w->start;
		if (assignment_name(s, w, &append)) {
			assign(x, w, true);
		} else if (s[w->start] == '-') {
			/* -n, -rx: an option; a longer word may be the value of a key before it */
			bool plain = len <= 3;
			for (size_t k = 1; k < len && plain; k++)
				plain = (s[w->start + k] >= 'a' && s[w->start + k] <= 'z') ||
					(s[w->start + k] >= 'A' && s[w->start + k] <= 'Z');
			if (plain)
				dp_diag(x->p, DOTENV_NOT_RUN, w->start, "option %.*s of %.*s is not supported",
					(int)len, s + w->start, cmd_len, s + words[0].start);
			else
				dp_diag(x->p, DOTENV_NOT_RUN, w->start, "word %zu of this %.*s is an option, not supported",
					i + 1, cmd_len, s + words[0].start);
			return;
		} else if (expanded_assignment(x, w)) {
			continue;
		} else {
			bool found, name = shell_name_start(s[w->start]);
			for (size_t k = 1; k < len && name; k++)
				name = shell_name_char(s[w->start + k]);
			dp_var(x->p, s + w->start, len, true, &found);
			if (!found && name && names_only)
				dp_diag(x->p, DOTENV_SKIPPED, w->start, "%.*s is declared without a value: not exported",
					(int)len, s + w->start);
			else if (!found)
				dp_diag(x->p, DOTENV_SKIPPED, w->start, "word %zu of this %.*s is not a variable name: not exported",
					i + 1, cmd_len, s + words[0].start);
			names_only &= name;
		}
	}
}

static bool expands_to_nothing(struct sh *x, const struct raw_word *w)
{
	struct expansion e = { STRBUF_INIT, NULL, 0 };
	expand_span(x, x->p->s + w->start, w->end - w->start, &e, false);
	bool nothing = !e.refused && !e.quote && !e.out.len;
	sb_release(&e.out);
	return nothing;
}

static void run_statement(struct sh *x, const struct raw_word *words, size_t nw)
{
	const char *s = x->p->s;
	if (!nw)
		return;
	size_t first_len = words[0].end - words[0].start;
	if ((first_len == 6 && !memcmp(s + words[0].start, "export", 6)) ||
	    (first_len == 8 && !memcmp(s + words[0].start, "readonly", 8))) {
		declaration(x, words, nw);
		return;
	}
	size_t k = 0;
	bool append;
	while (k < nw && assignment_name(s, &words[k], &append))
		k++;
	/* the remaining words are expanded first; when they all vanish (unset, unquoted
	 * variables) there is no command and the assignments stay, as in bash */
	size_t nassign = k;
	while (k < nw && expands_to_nothing(x, &words[k]))
		k++;
	size_t cmd_len = k < nw ? words[k].end - words[k].start : 0;
	if (k > 0 && k < nw && ((cmd_len == 6 && !memcmp(s + words[k].start, "export", 6)) ||
				(cmd_len == 8 && !memcmp(s + words[k].start, "readonly", 8)))) {
		declaration(x, words + k, nw - k); /* A=1 export B=2: bash (non-POSIX) keeps only B */
		return;
	}
	if (k < nw) {
		/* the word is not quoted: it may be the second half of a secret value */
		dp_diag(x->p, DOTENV_NOT_RUN, words[k].start,
			"bash would run word %zu of this line as a command; it is not run and nothing on this line "
			"is loaded", k + 1);
		return;
	}
	for (size_t i = 0; i < nassign && !x->stop; i++)
		assign(x, &words[i], false);
}

static void skip_line(struct sh *x)
{
	const char *nl = memchr(x->p->s + x->pos, '\n', x->p->n - x->pos);
	x->pos = nl ? (size_t)(nl - x->p->s) + 1 : x->p->n;
}

/* One statement, up to ; or a line break. Returns false at the end. */
static bool statement(struct sh *x)
{
	const char *s = x->p->s;
	size_t n = x->p->n;
	struct raw_word words[MAX_WORDS];
	size_t nw = 0;
	while (x->pos < n && (is_blank(s[x->pos]) || s[x->pos] == '\n' ||
			      (s[x->pos] == '\\' && x->pos + 1 < n && s[x->pos + 1] == '\n')))
		x->pos += s[x->pos] == '\\' ? 2 : 1;
	if (x->pos >= n || x->stop)
		return false;
	x->stmt = x->pos;
	for (;;) {
		while (x->pos < n && (is_blank(s[x->pos]) ||
				      (s[x->pos] == '\\' && x->pos + 1 < n && s[x->pos + 1] == '\n')))
			x->pos += s[x->pos] == '\\' ? 2 : 1;
		if (x->pos < n && s[x->pos] == ';' && !nw) {
			dp_diag(x->p, DOTENV_FATAL, x->pos, "syntax error near ';': bash stops reading the file here");
			x->stop = true;
			return false;
		}
		if (x->pos >= n || s[x->pos] == '\n' || s[x->pos] == ';')
			break;
		if (s[x->pos] == '#') {
			skip_line(x);
			x->pos--;
			break;
		}
		if (is_meta(s[x->pos])) {
			dp_diag(x->p, DOTENV_NOT_RUN, x->pos, "shell syntax '%c' is not supported: the line is not loaded",
				s[x->pos]);
			skip_line(x);
			return true;
		}
		if (nw == MAX_WORDS || !read_word(x, &words[nw])) {
			dp_diag(x->p, DOTENV_FATAL, x->stmt,
				nw == MAX_WORDS ? "too many words in one command" :
				"unterminated quote: bash stops reading the file here");
			x->stop = true;
			return false;
		}
		nw++;
	}
	if (x->pos < n && s[x->pos] == ';') {
		/* bash parses the whole line first: "A=1;;" is a syntax error before A is set */
		size_t q = x->pos + 1;
		while (q < n && is_blank(s[q]))
			q++;
		if (q < n && s[q] == ';') {
			dp_diag(x->p, DOTENV_FATAL, q, "syntax error near ';;': bash stops reading the file here");
			x->stop = true;
			return false;
		}
	}
	if (x->pos < n)
		x->pos++;
	run_statement(x, words, nw);
	return !x->stop;
}

void dotenv_parse_shell(struct dotenv_parser *p)
{
	struct sh x = { .p = p };
	while (statement(&x))
		;
	if (x.exits)
		dp_forget_entries(p);
}
