/*
 * progress — a one-line progress indicator for long work.
 *
 * Contract: draws on stderr only when stderr is a TTY and the run is not quiet; redraws at
 * most ten times a second; progress_done() erases the line so reports start clean.
 * Safe to call with a NULL progress (does nothing), so callers need no branches.
 */
#ifndef OPSKIT_PROGRESS_H
#define OPSKIT_PROGRESS_H

struct progress;

/* total 0 = unknown (shows count and rate only). */
struct progress *progress_new(const char *label, unsigned long long total, const char *unit);
void progress_update(struct progress *p, unsigned long long done);
void progress_done(struct progress *p);

#endif
