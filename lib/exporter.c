#define _GNU_SOURCE
#include "exporter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "msg.h"
#include "util.h"

/* Prometheus text exposition format, version 0.0.4. */
#define EXPOSITION_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* What a probe leaves to the scrape: Prometheus gives up at its timeout exactly. */
#define SCRAPE_MARGIN_MS 500
/* A scrape whose Prometheus timeout leaves less than this still gets this long. */
#define SCRAPE_MIN_MS 100
/* The probe's own deadline is this share of the scrape's (1/10) earlier, at least
 * PROBE_MARGIN_MIN_MS: it reports a silent target itself before the kill. But never more
 * than half the scrape's: a short scrape (under 0.72 s) would leave the probe a deadline
 * already past, and every target, a healthy one too, would time out at once. */
#define PROBE_MARGIN_DIVISOR 10
#define PROBE_MARGIN_MIN_MS 200
/* Bounds on what one probe may print. */
#define PROBE_OUTPUT_MAX (16u << 20)
/* Connections beyond max_concurrent, for /metrics and the 503s past it. */
#define SPARE_CONNECTIONS 8
/* Seconds an idle HTTP connection is kept. */
#define CONNECTION_IDLE_TIMEOUT_S 30u

struct exporter {
	const struct exporter_config *cfg;
	exporter_probe_fn probe;
	exporter_target_fn target_ok;
	void *ctx;
	pthread_mutex_t lock;
	int in_flight;
	unsigned long long scrapes_ok, scrapes_failed, scrapes_rejected;
};

/* ---- addresses ---- */

static bool sockaddr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return false;
}

bool exporter_addr_is_loopback(const char *host)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	if (getaddrinfo(host, NULL, &hints, &res))
		return false;
	bool all = res != NULL;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		all &= sockaddr_is_loopback(ai->ai_addr);
	freeaddrinfo(res);
	return all;
}

/* "HOST:PORT" or "[V6]:PORT" -> the first address of HOST. */
static int parse_listen(const char *listen, struct sockaddr_storage *out, socklen_t *len, char **err)
{
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen || !colon[1]) {
		*err = xasprintf("--listen \"%s\": expected HOST:PORT (127.0.0.1:9187, [::1]:9187)", listen);
		return -1;
	}
	char *host = xstrndup(listen, (size_t)(colon - listen));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV }, *res = NULL;
	int rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc || !res) {
		*err = xasprintf("--listen \"%s\": %s", listen, rc ? gai_strerror(rc) : "no address");
		free(host);
		return -1;
	}
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	free(host);
	return 0;
}

/* ---- one probe, in a child ---- */

static double now_wall_ms(void)
{
	return now_ms();
}

/* Reads the child's output until EOF or the deadline. Returns 0 at EOF, -1 on timeout. */
static int read_child(int fd, double deadline_ms, struct strbuf *out)
{
	char buf[8192];
	for (;;) {
		double left = deadline_ms - now_wall_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)ceil(left));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return 0;
		if (out->len + (size_t)got <= PROBE_OUTPUT_MAX)
			sb_add(out, buf, (size_t)got);
	}
}

/* Runs the probe in a child given probe_ms and killed after kill_ms; its output in out.
 * Returns the child's exit code, or -1 when it was killed or died. */
static int run_probe(struct exporter *ex, const char *target, double kill_ms, double probe_ms, struct strbuf *out)
{
	int fds[2];
	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(fds[0]);
		FILE *f = fdopen(fds[1], "w");
		int rc = f ? ex->probe(ex->ctx, target, probe_ms, f) : 3;
		if (f && fclose(f))
			rc = 3;
		_exit(rc);
	}
	close(fds[1]);
	bool timed_out = read_child(fds[0], now_wall_ms() + kill_ms, out) < 0;
	close(fds[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* ---- HTTP ---- */

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned code, const char *type, const char *body,
			      size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result rc = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned code, const char *text)
{
	return answer(conn, code, "text/plain; charset=utf-8", text, strlen(text));
}

/* Constant-time comparison, so a wrong password's length of match is not timed. */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;
	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return diff == 0;
}

static bool authorised(const struct exporter *ex, struct MHD_Connection *conn)
{
	if (!ex->cfg->username || !ex->cfg->password)
		return true;
	char *pass = NULL;
	char *user = MHD_basic_auth_get_username_password(conn, &pass);
	bool ok = user && pass && same_secret(user, ex->cfg->username) && same_secret(pass, ex->cfg->password);
	MHD_free(user);
	MHD_free(pass);
	return ok;
}

/* The deadline of this scrape: Prometheus's timeout less a margin, at most the config's. */
static double scrape_timeout_ms(const struct exporter *ex, struct MHD_Connection *conn)
{
	double ms = ex->cfg->timeout_ms;
	const char *hdr = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Prometheus-Scrape-Timeout-Seconds");
	double s;
	if (hdr && parse_double(hdr, &s) == 0 && s > 0 && s * 1000 - SCRAPE_MARGIN_MS < ms)
		ms = fmax(s * 1000 - SCRAPE_MARGIN_MS, SCRAPE_MIN_MS);
	return ms;
}

static bool take_slot(struct exporter *ex)
{
	pthread_mutex_lock(&ex->lock);
	bool ok = ex->in_flight < ex->cfg->max_concurrent;
	if (ok)
		ex->in_flight++;
	else
		ex->scrapes_rejected++;
	pthread_mutex_unlock(&ex->lock);
	return ok;
}

static void give_slot(struct exporter *ex, bool success)
{
	pthread_mutex_lock(&ex->lock);
	ex->in_flight--;
	if (success)
		ex->scrapes_ok++;
	else
		ex->scrapes_failed++;
	pthread_mutex_unlock(&ex->lock);
}

static enum MHD_Result serve_probe(struct exporter *ex, struct MHD_Connection *conn)
{
	const char *target = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "target");
	if (!target || !*target)
		return answer_text(conn, MHD_HTTP_BAD_REQUEST, "missing ?target=NAME\n");
	const char *why = ex->target_ok(ex->ctx, target);
	if (why) {
		char *msg = xasprintf("%s\n", why);
		enum MHD_Result rc = answer_text(conn, MHD_HTTP_BAD_REQUEST, msg);
		free(msg);
		return rc;
	}
	if (!take_slot(ex))
		return answer_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "too many scrapes at once\n");
	double t0 = now_wall_ms();
	struct strbuf body = STRBUF_INIT;
	/* the probe gets a little less than the scrape: a target that does not answer in
	 * time is its verdict (a CRITICAL timeout); the kill is for a probe that overruns */
	double deadline_ms = scrape_timeout_ms(ex, conn);
	double margin_ms = fmin(fmax(PROBE_MARGIN_MIN_MS, deadline_ms / PROBE_MARGIN_DIVISOR), deadline_ms / 2);
	int code = run_probe(ex, target, deadline_ms, deadline_ms - margin_ms, &body);
	bool success = code >= 0 && code <= 2;
	if (!success) /* a half-written exposition could hold a broken line: drop it */
		sb_reset(&body);
	give_slot(ex, success);
	sb_addf(&body,
		"# HELP opskit_probe_success Whether the probe ran and judged the target (1) or could not (0).\n"
		"# TYPE opskit_probe_success gauge\nopskit_probe_success %d\n"
		"# HELP opskit_probe_duration_seconds How long the probe took.\n"
		"# TYPE opskit_probe_duration_seconds gauge\nopskit_probe_duration_seconds %.6f\n",
		success, (now_wall_ms() - t0) / 1000);
	enum MHD_Result rc = answer(conn, MHD_HTTP_OK, EXPOSITION_TYPE, body.buf, body.len);
	sb_release(&body);
	return rc;
}

static enum MHD_Result serve_metrics(struct exporter *ex, struct MHD_Connection *conn)
{
	struct strbuf body = STRBUF_INIT;
	pthread_mutex_lock(&ex->lock);
	sb_addf(&body,
		"# HELP opskit_exporter_build_info The exporter's tool and version.\n"
		"# TYPE opskit_exporter_build_info gauge\n"
		"opskit_exporter_build_info{tool=\"%s\",version=\"%s\"} 1\n"
		"# HELP opskit_exporter_scrapes_total Probe scrapes answered, by result.\n"
		"# TYPE opskit_exporter_scrapes_total counter\n"
		"opskit_exporter_scrapes_total{result=\"success\"} %llu\n"
		"opskit_exporter_scrapes_total{result=\"failure\"} %llu\n"
		"opskit_exporter_scrapes_total{result=\"rejected\"} %llu\n"
		"# HELP opskit_exporter_scrapes_in_flight Probe scrapes running now.\n"
		"# TYPE opskit_exporter_scrapes_in_flight gauge\n"
		"opskit_exporter_scrapes_in_flight %d\n",
		ex->cfg->tool, ex->cfg->version, ex->scrapes_ok, ex->scrapes_failed, ex->scrapes_rejected,
		ex->in_flight);
	pthread_mutex_unlock(&ex->lock);
	enum MHD_Result rc = answer(conn, MHD_HTTP_OK, EXPOSITION_TYPE, body.buf, body.len);
	sb_release(&body);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct exporter *ex = cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return answer_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
	if (!authorised(ex, conn)) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(13, (void *)"unauthorized\n",
									    MHD_RESPMEM_PERSISTENT);
		enum MHD_Result rc = MHD_queue_basic_auth_fail_response(conn, "opskit", resp);
		MHD_destroy_response(resp);
		return rc;
	}
	if (!strcmp(url, "/probe"))
		return serve_probe(ex, conn);
	if (!strcmp(url, "/metrics"))
		return serve_metrics(ex, conn);
	if (!strcmp(url, "/"))
		return answer_text(conn, MHD_HTTP_OK, "opskit exporter: /probe?target=NAME, /metrics\n");
	return answer_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* ---- config ---- */

/* "<section>.exporter.<name>" in buf. */
static const char *exporter_key(char *buf, size_t size, const char *section, const char *name)
{
	snprintf(buf, size, "%s.exporter.%s", section, name);
	return buf;
}

/* The rows of CFG_EXPORTER_KEYS carry every default (the getters store them for an
 * absent key), so nothing here repeats one. Loaded values lie within the rows' bounds,
 * so a zero left below means a row lost its .def: refused rather than served with. */
void exporter_config_load(struct exporter_config *cfg, const struct config *c, const char *section,
			  bool *allow_any_target)
{
	char key[128];
	long long max = 0;
	double timeout_ms = 0;
	bool remote = false, any = false;
	cfg_int(c, exporter_key(key, sizeof(key), section, "max_concurrent"), &max);
	cfg_duration_ms(c, exporter_key(key, sizeof(key), section, "timeout"), &timeout_ms);
	cfg_bool(c, exporter_key(key, sizeof(key), section, "allow_remote"), &remote);
	cfg_bool(c, exporter_key(key, sizeof(key), section, "allow_any_target"), &any);
	cfg_str(c, exporter_key(key, sizeof(key), section, "username"), &cfg->username);
	cfg_str(c, exporter_key(key, sizeof(key), section, "password"), &cfg->password);
	cfg_str(c, exporter_key(key, sizeof(key), section, "tls_cert_file"), &cfg->tls_cert_file);
	cfg_str(c, exporter_key(key, sizeof(key), section, "tls_key_file"), &cfg->tls_key_file);
	if (max < 1 || timeout_ms <= 0)
		die(3, "%s.exporter.max_concurrent and .timeout need a default in the config schema", section);
	cfg->max_concurrent = (int)max;
	cfg->timeout_ms = timeout_ms;
	cfg->allow_remote = remote;
	*allow_any_target = any;
}

/* ---- the daemon ---- */

static char *read_pem(const char *path, char **err)
{
	struct strbuf sb = STRBUF_INIT;
	if (sb_read_file(&sb, path, PEM_FILE_MAX) < 0) {
		*err = xasprintf("cannot read %s: %s", path, read_failure(errno, PEM_FILE_MAX));
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

static struct MHD_Daemon *start_daemon(struct exporter *ex, const struct sockaddr_storage *addr, char **err)
{
	const struct exporter_config *cfg = ex->cfg;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (addr->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	char *cert = NULL, *key = NULL;
	bool tls = cfg->tls_cert_file && cfg->tls_key_file;
	if (tls) {
		if (!(cert = read_pem(cfg->tls_cert_file, err)) || !(key = read_pem(cfg->tls_key_file, err))) {
			free(cert);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	unsigned limit = (unsigned)cfg->max_concurrent + SPARE_CONNECTIONS;
	unsigned idle_s = CONNECTION_IDLE_TIMEOUT_S;
	struct MHD_Daemon *d = tls
		? MHD_start_daemon(flags, 0, NULL, NULL, on_request, ex, MHD_OPTION_SOCK_ADDR, addr,
				   MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
				   MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END)
		: MHD_start_daemon(flags, 0, NULL, NULL, on_request, ex, MHD_OPTION_SOCK_ADDR, addr,
				   MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
				   MHD_OPTION_END);
	if (!d)
		*err = xasprintf("cannot listen on %s%s", cfg->listen,
				 tls ? " (or the TLS certificate and key do not load)" : " (in use?)");
	free(cert);
	free(key);
	return d;
}

int exporter_run(const struct exporter_config *cfg, exporter_probe_fn probe, exporter_target_fn target_ok, void *ctx)
{
	struct exporter ex = { .cfg = cfg, .probe = probe, .target_ok = target_ok, .ctx = ctx };
	struct sockaddr_storage addr;
	socklen_t len;
	char *err = NULL;
	if (parse_listen(cfg->listen, &addr, &len, &err)) {
		errorf("%s", err);
		free(err);
		return 3;
	}
	if (!cfg->allow_remote && !sockaddr_is_loopback((struct sockaddr *)&addr)) {
		errorf("--listen %s is not a loopback address: set exporter allow_remote in the config to serve it",
		       cfg->listen);
		return 3;
	}
	/* the connection threads inherit this mask, so the signals reach sigwait below */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&ex.lock, NULL);
	struct MHD_Daemon *d = start_daemon(&ex, &addr, &err);
	if (!d) {
		errorf("%s", err);
		free(err);
		return 3;
	}
	verbosef(1, "serving /probe and /metrics on %s", cfg->listen);
	int sig;
	sigwait(&stop, &sig);
	MHD_stop_daemon(d);
	pthread_mutex_destroy(&ex.lock);
	return 0;
}
