/*
 * watch — a compact screen redrawn every N seconds until interrupted, like top: one
 * line per target and per PgBouncer, the sessions that matter, then only the checks
 * that are not OK. Each screen is composed in memory, redacted, clipped to the terminal
 * and written at once, so it neither scrolls nor flickers. The caller refuses --watch
 * when standard output is not a TTY, so this never loops unattended into a file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "pgprobe.h"
#include "redact.h"
#include "util.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Sleeps up to seconds, waking early when interrupted. */
static void nap(double seconds)
{
	double until = now_ms() + seconds * 1000;
	while (!interrupted) {
		double left = until - now_ms();
		if (left <= 0)
			return;
		double step = fmin(left, 100);
		struct timespec ts = { 0, (long)(step * 1e6) };
		nanosleep(&ts, NULL);
	}
}

static double count_of(const json_t *obj, const char *key)
{
	double n = checks_json_num(obj, key);
	return isnan(n) ? 0 : n;
}

static void summary_session(FILE *out, const json_t *x)
{
	struct strbuf pids = STRBUF_INIT;
	size_t k;
	json_t *b;
	json_array_foreach(json_object_get(x, "blocked_by"), k, b)
		sb_addf(&pids, "%s%lld", k ? "," : "", (long long)json_integer_value(b));
	const char *app = checks_json_str(x, "application");
	char *q = query_text_line(checks_json_str(x, "query") ? checks_json_str(x, "query") : "", 40, true);
	fprintf(out, "  %-8.0f %-20s %7s  %-12.12s %-16.16s %-10.10s  %s\n", checks_json_num(x, "pid"),
		checks_json_str(x, "kind") ? checks_json_str(x, "kind") : "?", human_duration(checks_json_num(x, "age")),
		checks_json_str(x, "user") ? checks_json_str(x, "user") : "-", app && *app ? app : "-",
		pids.len ? sb_str(&pids) : "-", q);
	free(q);
	sb_release(&pids);
}

static void summary_target(FILE *out, const struct target *t, int session_rows)
{
	const json_t *s = t->snap;
	if (!s) {
		fprintf(out, "%s  DOWN (the %s check below says why)\n", t->name, isnan(t->connect_ms) ? "connect" : "query");
		return;
	}
	const json_t *st = json_object_get(s, "by_state");
	const char *version = checks_json_str(s, "version") ? checks_json_str(s, "version") : "?";
	double usable = checks_usable_connections(s);
	double total = checks_json_num(s, "total");
	fprintf(out, "%s  PG %.*s%s  conns %.0f/%.0f (%.0f%%)  idle-in-tx %.0f  waiting %.0f  active %.0f  idle %.0f"
		"  connect %.0fms query %.0fms\n",
		t->name, (int)strcspn(version, " "), version,
		json_is_true(json_object_get(s, "in_recovery")) ? " replica" : "", total, usable,
		usable > 0 ? 100 * total / usable : 100,
		count_of(st, "idle in transaction") + count_of(st, "idle in transaction (aborted)"),
		count_of(s, "waiting"), count_of(st, "active"), count_of(st, "idle"), t->connect_ms, t->query_ms);
	const json_t *sessions = json_object_get(s, "sessions");
	size_t i;
	json_t *x;
	if (json_array_size(sessions))
		fprintf(out, "  %-8s %-20s %7s  %-12s %-16s %-10s  %s\n", "PID", "KIND", "AGE", "USER", "APPLICATION",
			"BLOCKED_BY", "QUERY");
	json_array_foreach(sessions, i, x) {
		if ((int)i >= session_rows) {
			fprintf(out, "  ... %zu more sessions\n", json_array_size(sessions) - i);
			break;
		}
		summary_session(out, x);
	}
}

static void summary_bouncer(FILE *out, const struct bouncer *b)
{
	if (!b->pools || !b->config || b->err.kind != FAIL_NONE) {
		fprintf(out, "pgbouncer %s  DOWN (the pgbouncer-connect check below says why)\n", b->name);
		return;
	}
	double waiting = 0, active = 0, sv_active = 0, sv_idle = 0;
	for (int i = 0; i < PQntuples(b->pools); i++) {
		if (pgbouncer_is_admin_pool(b, i))
			continue;
		waiting += fmax(0, pgbouncer_num(b->pools, i, "cl_waiting"));
		active += fmax(0, pgbouncer_num(b->pools, i, "cl_active"));
		sv_active += fmax(0, pgbouncer_num(b->pools, i, "sv_active"));
		sv_idle += fmax(0, pgbouncer_num(b->pools, i, "sv_idle"));
	}
	fprintf(out, "pgbouncer %s  clients active %.0f waiting %.0f  servers active %.0f idle %.0f\n",
		b->name, active, waiting, sv_active, sv_idle);
}

void watch_summary(FILE *out, const struct target *ts, size_t nt, const struct bouncer *bs, size_t nb,
		   int session_rows)
{
	for (size_t i = 0; i < nt; i++)
		summary_target(out, &ts[i], session_rows);
	for (size_t i = 0; i < nb; i++)
		summary_bouncer(out, &bs[i]);
	fputc('\n', out);
}

/* Copies text to out as the terminal would show it, lines longer than cols wrapped
 * (escape sequences and UTF-8 continuation bytes take no column), but at most rows
 * lines: the screen never scrolls. Each line ends with "erase to end of line" so nothing
 * of the previous screen shows through. */
static void put_screen(FILE *out, const char *text, int cols, int rows)
{
	int col = 0, row = 0;
	for (const char *p = text; *p && row < rows; p++) {
		if (*p == '\033') {
			const char *e = p + 1;
			while (*e && !(*e >= '@' && *e <= '~' && e > p + 1))
				e++;
			fwrite(p, 1, (size_t)(e - p) + (*e ? 1 : 0), out);
			p = *e ? e : e - 1;
			continue;
		}
		bool visible = *p != '\n' && ((unsigned char)*p & 0xC0) != 0x80;
		if (*p == '\n' || (visible && col == cols)) {
			fputs("\033[K\n", out);
			col = 0;
			if (++row == rows)
				break;
			if (*p == '\n')
				continue;
		}
		col += visible;
		fputc(*p, out);
	}
	fputs("\033[J", out); /* erase whatever the previous screen had below */
}

static void terminal_size(int *cols, int *rows)
{
	struct winsize ws;
	*cols = 80, *rows = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0)
		*cols = ws.ws_col, *rows = ws.ws_row;
}

static int draw_screen(double interval_s, probe_screen_fn draw, void *ctx)
{
	int cols, rows;
	terminal_size(&cols, &rows);
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	if (!mem)
		die(3, "cannot draw the --watch screen: %s", strerror(errno));
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(mem, "ops-pgprobe every %gs, %s (Ctrl-C quits)\n", interval_s, stamp);
	/* Sessions get about a third of the screen; the problems below need the rest. */
	int rc = draw(ctx, mem, rows / 3 > 3 ? rows / 3 : 3);
	fclose(mem);
	char *safe = redact_text(buf);
	fputs("\033[H", stdout);
	put_screen(stdout, safe, cols, rows - 1);
	fflush(stdout);
	free(safe);
	free(buf);
	return rc;
}

int watch_loop(double interval_s, probe_screen_fn draw, void *ctx)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int rc = 0;
	fputs("\033[H\033[2J", stdout);
	while (!interrupted) {
		rc = draw_screen(interval_s, draw, ctx);
		nap(interval_s);
	}
	fputc('\n', stdout);
	return rc;
}
