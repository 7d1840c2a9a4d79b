/*
 * watch — redraw the probe every N seconds on a terminal until interrupted, like top.
 * The caller refuses --watch when standard output is not a TTY, so this never loops
 * unattended into a file or a pipe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pgprobe.h"
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

int watch_loop(double interval_s, probe_once_fn once, void *ctx)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int rc = 0;
	while (!interrupted) {
		time_t now = time(NULL);
		struct tm tm;
		char stamp[32];
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", &tm);
		/* Home and clear, then the report: one write per screen, no flicker of a blank. */
		fputs("\033[H\033[2J", stdout);
		printf("ops-pgprobe every %gs, %s (Ctrl-C quits)\n\n", interval_s, stamp);
		rc = once(ctx, stdout);
		fflush(stdout);
		nap(interval_s);
	}
	fputc('\n', stdout);
	return rc;
}
