/*
 * Scheduled full scans in exporter mode. A /probe scrape answers the cheap report (INFO,
 * SLOWLOG, consumer groups, memory) within the scrape timeout; a full SCAN cannot, so a
 * target with redis.targets.NAME.scan_interval is scanned in the background and each
 * scrape adds the last result with its age.
 *
 * One scheduler process (forked before the exporter starts its threads) runs the scans one
 * after the other, each in a child of its own (an audit may exit() on a failure), with the
 * configured rate and limits. A scan writes its Prometheus text to a temporary file in the
 * state directory, with every metric renamed opskit_* -> opskit_redis_scan_* (so its
 * families never collide with the probe's), and renames it to NAME.prom when done: a
 * scrape reads a whole result or the previous one, never half of one. NAME.running exists
 * while a scan of NAME runs. The scheduler dies with the exporter (PR_SET_PDEATHSIG), and
 * a scan with its scheduler.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redisaudit.h"
#include "util.h"

#define RESULT_MAX (64u << 20)   /* bytes of one scan's exposition text */

static volatile sig_atomic_t schedule_quit;

/* The whole file, or NULL. */
static char *slurp(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	if (sb_read_file(&sb, path, RESULT_MAX)) {
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

static void on_quit(int sig)
{
	(void)sig;
	schedule_quit = 1;
}

/* state_dir/NAME.ext, with bytes other than [A-Za-z0-9_-] as %XX (caller frees). */
static char *state_path(const char *dir, const char *name, const char *ext)
{
	struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "%s/", dir);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			     *p == '_' || *p == '-';
		if (plain)
			sb_add(&sb, (const char *)p, 1);
		else
			sb_addf(&sb, "%%%02X", *p);
	}
	sb_addf(&sb, "%s", ext);
	return sb_detach(&sb);
}

/* The exposition text with opskit_* metric names as opskit_redis_scan_*. */
static void write_renamed(FILE *out, const char *text)
{
	static const char *const heads[] = { "# HELP opskit_", "# TYPE opskit_", "opskit_" };
	for (const char *line = text; *line;) {
		size_t len = strcspn(line, "\n");
		size_t cut = 0;
		for (size_t i = 0; i < 3 && !cut; i++)
			if (!strncmp(line, heads[i], strlen(heads[i])))
				cut = strlen(heads[i]);
		if (cut)
			fprintf(out, "%.*sredis_scan_%.*s\n", (int)cut, line, (int)(len - cut), line + cut);
		else if (len)
			fprintf(out, "%.*s\n", (int)len, line);
		line += len + (line[len] == '\n');
	}
}

/* In the scan's child: stdout (where a failing audit reports too) to a file. The audit may
 * exit() on a failure (cannot connect: an UNKNOWN report, exit 3), so the scheduler, which
 * sees every exit status, publishes the result. */
static _Noreturn void scan_child(const struct scan_schedule *sch, size_t i, schedule_scan_fn fn, void *ctx)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	char *raw = state_path(sch->state_dir, sch->names[i], ".raw");
	int fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	free(raw);   /* before the audit, which may exit() */
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
		_exit(3);
	close(fd);
	int rc = fn(ctx, sch->names[i]);
	fflush(stdout);
	_exit(rc);
}

/* The scan's report, renamed, with its exit code as NAME.prom (a temporary file renamed). */
static void publish(const struct scan_schedule *sch, size_t i, int rc)
{
	char *raw = state_path(sch->state_dir, sch->names[i], ".raw");
	char *text = slurp(raw);
	char *tmp = state_path(sch->state_dir, sch->names[i], ".tmp");
	char *final = state_path(sch->state_dir, sch->names[i], ".prom");
	FILE *f = text ? fopen(tmp, "we") : NULL;
	if (f) {
		write_renamed(f, text);
		fprintf(f, "# HELP opskit_redis_scan_exit_code Exit code of the last full scan.\n"
			   "# TYPE opskit_redis_scan_exit_code gauge\nopskit_redis_scan_exit_code %d\n", rc);
		if (fclose(f) == 0)
			rename(tmp, final);
	}
	unlink(raw);
	free(text);
	free(raw);
	free(tmp);
	free(final);
}

/* Runs one scan to its end, or kills it when the scheduler is told to stop. */
static void run_scan(const struct scan_schedule *sch, size_t i, schedule_scan_fn fn, void *ctx)
{
	char *running = state_path(sch->state_dir, sch->names[i], ".running");
	int fd = open(running, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	pid_t pid = fork();
	if (pid == 0)
		scan_child(sch, i, fn, ctx);
	while (pid > 0) {
		int status;
		pid_t got = waitpid(pid, &status, WNOHANG);
		if (got == pid && WIFEXITED(status))
			publish(sch, i, WEXITSTATUS(status));
		if (got == pid || (got < 0 && errno != EINTR))
			break;
		if (schedule_quit) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
	}
	unlink(running);
	free(running);
}

static _Noreturn void scheduler(const struct scan_schedule *sch, schedule_scan_fn fn, void *ctx)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGTERM, on_quit);
	signal(SIGINT, on_quit);
	double *due = xcalloc(sch->n + 1, sizeof(*due));   /* 0: at once */
	while (!schedule_quit) {
		for (size_t i = 0; i < sch->n && !schedule_quit; i++) {
			if (sch->interval_ms[i] <= 0 || now_ms() < due[i])
				continue;
			run_scan(sch, i, fn, ctx);
			due[i] = now_ms() + sch->interval_ms[i];
		}
		struct timespec ts = { 0, 200 * 1000000L };
		nanosleep(&ts, NULL);
	}
	free(due);
	_exit(0);
}

int schedule_start(struct scan_schedule *sch, schedule_scan_fn fn, void *ctx, char **err)
{
	if (!sch->state_dir) {
		const char *tmp = getenv("TMPDIR");
		sch->own_dir = xasprintf("%s/ops-redisaudit-scans.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(sch->own_dir)) {
			*err = xasprintf("cannot create a state directory %s: %s", sch->own_dir, strerror(errno));
			return -1;
		}
		sch->state_dir = sch->own_dir;
	} else if (mkdir(sch->state_dir, 0700) && errno != EEXIST) {
		*err = xasprintf("cannot create redis.exporter.state_dir %s: %s", sch->state_dir, strerror(errno));
		return -1;
	}
	fflush(NULL);
	sch->pid = fork();
	if (sch->pid < 0) {
		*err = xasprintf("cannot start the scan scheduler: %s", strerror(errno));
		return -1;
	}
	if (sch->pid == 0)
		scheduler(sch, fn, ctx);
	return 0;
}

void schedule_stop(struct scan_schedule *sch)
{
	if (sch->pid > 0) {
		kill(sch->pid, SIGTERM);
		while (waitpid(sch->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	sch->pid = 0;
	if (!sch->own_dir)
		return;
	for (size_t i = 0; i < sch->n; i++) {
		static const char *const exts[] = { ".prom", ".running", ".tmp", ".raw" };
		for (size_t e = 0; e < 4; e++) {
			char *p = state_path(sch->own_dir, sch->names[i], exts[e]);
			unlink(p);
			free(p);
		}
	}
	rmdir(sch->own_dir);
	free(sch->own_dir);
	sch->own_dir = NULL;
}

void schedule_put(FILE *out, const char *state_dir, const char *name, double interval_ms)
{
	char *running = state_path(state_dir, name, ".running"), *final = state_path(state_dir, name, ".prom");
	struct stat st;
	bool is_running = !access(running, F_OK);
	fprintf(out, "# HELP opskit_redis_scan_running Whether a full scan of this target runs now.\n"
		     "# TYPE opskit_redis_scan_running gauge\nopskit_redis_scan_running %d\n", is_running);
	fprintf(out, "# HELP opskit_redis_scan_interval_seconds How often this target is scanned in full.\n"
		     "# TYPE opskit_redis_scan_interval_seconds gauge\nopskit_redis_scan_interval_seconds %g\n",
		interval_ms / 1000);
	char *text = stat(final, &st) == 0 ? slurp(final) : NULL;
	if (text) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		double age = (double)(now.tv_sec - st.st_mtim.tv_sec) + (double)(now.tv_nsec - st.st_mtim.tv_nsec) / 1e9;
		fprintf(out, "# HELP opskit_redis_scan_age_seconds Seconds since the last full scan ended.\n"
			     "# TYPE opskit_redis_scan_age_seconds gauge\nopskit_redis_scan_age_seconds %.3f\n",
			age < 0 ? 0 : age);
		fputs(text, out);
	}
	free(text);
	free(running);
	free(final);
}
