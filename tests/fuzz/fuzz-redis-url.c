/*
 * libFuzzer target for ops-redisaudit's target parser, conn_target_parse():
 * "redis[s]://[user:pass@]host[:port][/db]", "[v6]:port", unix socket paths; and the
 * address parser under it, conn_addr_split() (the whole input, port required and not).
 * Invariants besides ASan/UBSan: success and *err are exclusive; a parsed target has a
 * port in 1..65535 or a socket path, a db >= 0, and its password is registered with
 * lib/redact (redact_text masks it); the label of a parsed host and port (and each
 * Sentinel's) parses back to them; a split address lies inside its input.
 * FUZZ_TOOL: ops-redisaudit
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "redisaudit.h"

/* conn_addr_label() and conn_addr_parse() are inverses. */
static void check_label_round_trip(const char *host, int port)
{
	char *label = conn_addr_label(host, port), *back = NULL;
	int back_port = 0;
	if (conn_addr_parse(label, strlen(label), &back, &back_port) || strcmp(back, host) || back_port != port)
		abort();
	free(back);
	free(label);
}

static void check_addr_split(const char *s, size_t n, int default_port)
{
	struct addr_span a;
	if (conn_addr_split(s, n, default_port, &a))
		return;
	if (a.port < 1 || a.port > 65535 || a.host < s || a.host + a.host_len > s + n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	struct target t;
	memset(&t, 0, sizeof(t));
	char *err = NULL;
	check_addr_split(s, size, 0);
	check_addr_split(s, size, 6379);
	int rc = conn_target_parse(s, &t, &err);
	if ((rc == 0) == (err != NULL))
		abort();
	if (rc == 0) {
		if (!t.path && (!t.host || t.port < 1 || t.port > 65535))
			abort();
		if (t.db < 0)
			abort();
		if (t.host)
			check_label_round_trip(t.host, t.port);
		for (size_t i = 0; i < t.n_sentinels; i++) {
			char *host = NULL;
			int port;
			if (conn_addr_parse(t.sentinels[i], strlen(t.sentinels[i]), &host, &port))
				abort();
			check_label_round_trip(host, port);
			free(host);
		}
		/* the password is registered: every message masks it */
		if (t.password && strlen(t.password) >= 8) {
			char *masked = redact_text(t.password);
			if (strstr(masked, t.password))
				abort();
			free(masked);
		}
		conn_target_free(&t);
	}
	free(err);
	free(s);
	redact_reset();
	return 0;
}
