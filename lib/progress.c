#define _GNU_SOURCE
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "util.h"

struct progress {
	char *label;
	char *unit;
	unsigned long long total;
	double started, last_draw;
	bool drawn;
};

struct progress *progress_new(const char *label, unsigned long long total, const char *unit)
{
	const char *term = getenv("TERM");
	/* redrawing needs "\r" and "erase line": not on a dumb terminal or a log file */
	if (opskit_quiet || !isatty(STDERR_FILENO) || (term && !strcmp(term, "dumb")))
		return NULL;
	struct progress *p = xcalloc(1, sizeof(*p));
	p->label = xstrdup(label);
	p->unit = xstrdup(unit ? unit : "");
	p->total = total;
	p->started = now_ms();
	return p;
}

void progress_update(struct progress *p, unsigned long long done)
{
	if (!p)
		return;
	double now = now_ms();
	if (p->drawn && now - p->last_draw < 100)
		return;
	p->last_draw = now;
	p->drawn = true;
	double secs = (now - p->started) / 1000;
	double rate = secs > 0 ? (double)done / secs : 0;
	if (p->total) {
		double frac = (double)done / (double)p->total;
		if (frac > 1)
			frac = 1;
		int filled = (int)(frac * 20);
		char bar[21];
		for (int i = 0; i < 20; i++)
			bar[i] = i < filled ? '#' : '.';
		bar[20] = '\0';
		double eta = rate > 0 && done < p->total ? (double)(p->total - done) / rate : 0;
		fprintf(stderr, "\r\033[K%s [%s] %3.0f%% %llu/%llu %s, %.0f/s, eta %s", p->label, bar,
			frac * 100, done, p->total, p->unit, rate, human_duration(eta));
	} else {
		fprintf(stderr, "\r\033[K%s %llu %s, %.0f/s", p->label, done, p->unit, rate);
	}
	fflush(stderr);
}

void progress_done(struct progress *p)
{
	if (!p)
		return;
	if (p->drawn)
		fputs("\r\033[K", stderr);
	fflush(stderr);
	free(p->label);
	free(p->unit);
	free(p);
}
