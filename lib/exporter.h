/*
 * exporter — a tool as a Prometheus probe exporter (the blackbox_exporter pattern).
 *
 * Contract:
 *  - GET /probe?target=NAME asks the tool's target check whether NAME may be probed
 *    (a named target of the config; never an arbitrary DSN or URL unless the tool's
 *    config allows it), then runs one probe in a child process and answers its
 *    Prometheus text exposition, plus opskit_probe_success (1 when the probe ran and
 *    judged: OK, WARNING or CRITICAL) and opskit_probe_duration_seconds.
 *  - The probe never outlives the scrape: its deadline is the smaller of
 *    X-Prometheus-Scrape-Timeout-Seconds (less half a second) and the configured
 *    timeout. The probe is given a tenth less (at least 200 ms less), so a target that
 *    does not answer in time is its verdict; a child still running at the deadline is
 *    killed and the answer says opskit_probe_success 0. A crash in a probe cannot take
 *    the exporter down.
 *  - At most max_concurrent scrapes run at once, each on its own connection thread,
 *    so a slow target blocks no other; one more is answered 503.
 *  - GET /metrics answers the exporter's own counters. Anything else is 404.
 *  - Loopback only unless allow_remote; optional basic auth (compared in constant
 *    time) and TLS (PEM certificate and key files). The password never reaches a log.
 *  - exporter_run() serves until SIGINT or SIGTERM and returns an exit code: 0 after a
 *    signal, 3 when it cannot start (bad address, port taken, unreadable TLS files),
 *    with the reason on stderr.
 */
#ifndef OPSKIT_EXPORTER_H
#define OPSKIT_EXPORTER_H

#include <stdbool.h>
#include <stdio.h>

struct exporter_config {
	const char *tool;          /* "ops-pgprobe", for opskit_exporter_build_info */
	const char *version;
	const char *listen;        /* "127.0.0.1:9187", "[::1]:9187", "localhost:9187" */
	int max_concurrent;        /* scrapes at once; more are answered 503 */
	double timeout_ms;         /* bound on a probe when Prometheus sends no timeout */
	bool allow_remote;         /* may listen on an address that is not loopback */
	const char *username;      /* basic auth, when both are set */
	const char *password;
	const char *tls_cert_file; /* HTTPS, when both are set */
	const char *tls_key_file;
};

/* Runs one probe of target in the child process, writing its exposition text to out,
 * bounded by timeout_ms. Returns the tool's exit code (0 to 3). */
typedef int (*exporter_probe_fn)(void *ctx, const char *target, double timeout_ms, FILE *out);
/* NULL when target may be probed, else why not (a static string). */
typedef const char *(*exporter_target_fn)(void *ctx, const char *target);

struct config;
/* Fills cfg from the keys <section>.exporter.* of the config (CFG_EXPORTER_KEYS), whose
 * schema rows give the defaults (the only ones: the exporter has none of its own, and
 * dies with exit 3 naming the section when a row it needs has none); *allow_any_target
 * tells whether /probe may name a DSN or URL. tool, version and listen are the caller's. */
void exporter_config_load(struct exporter_config *cfg, const struct config *c, const char *section,
			  bool *allow_any_target);

int exporter_run(const struct exporter_config *cfg, exporter_probe_fn probe,
		 exporter_target_fn target_ok, void *ctx);

/* Is this numeric address (or a name that resolves only to such) on loopback:
 * 127.0.0.0/8 or ::1? "localhost.corp" is not loopback unless it resolves so. */
bool exporter_addr_is_loopback(const char *host);

#endif
