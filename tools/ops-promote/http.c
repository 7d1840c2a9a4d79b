/* libcurl for the whole run: its global state, one shared connection cache, handles with
 * the run's timeouts, TLS verification and User-Agent, and when to retry and how long to
 * back off. Knows nothing of registries or authentication (registry.c, auth.c). */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "promote.h"

/* One connection cache, DNS cache and TLS session cache for every handle of the run:
 * a retag's three requests then cost one TCP connection and one TLS handshake, and
 * the blob workers reuse what the main thread opened. */
static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userptr)
{
	(void)h;
	(void)access;
	(void)userptr;
	pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userptr)
{
	(void)h;
	(void)userptr;
	pthread_mutex_unlock(&share_locks[data]);
}

/* SIGINT or SIGTERM: the run winds down (open upload sessions cancelled, every request
 * after bounded to nothing); a second one ends it at once, as the default action. Every
 * --jobs worker reads the flag: a lock-free atomic (as safe to set in a handler), not a
 * volatile sig_atomic_t, which speaks only for the thread the handler interrupted. */
static atomic_bool interrupted;
_Static_assert(ATOMIC_BOOL_LOCK_FREE == 2, "interrupted is set in a signal handler");

static void on_interrupt(int sig)
{
	interrupted = true;
	signal(sig, SIG_DFL);
}

bool http_interrupted(void)
{
	return interrupted;
}

void http_global_init(void)
{
	/* CURLOPT_NOSIGNAL (needed with threads) also stops libcurl from ignoring SIGPIPE
	 * around its calls: a registry closing a TLS connection mid-upload would kill us. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (size_t i = 0; i < ARRAY_SIZE(share_locks); i++)
		pthread_mutex_init(&share_locks[i], NULL);
	share = curl_share_init();
	if (!share)
		die(3, "cannot initialise libcurl");
	curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

static void use_share(CURL *curl)
{
	if (share)
		curl_easy_setopt(curl, CURLOPT_SHARE, share);
}

void http_global_cleanup(void)
{
	curl_share_cleanup(share);
	share = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(share_locks); i++)
		pthread_mutex_destroy(&share_locks[i]);
	curl_global_cleanup();
}

CURL *http_easy_new(const struct run_limits *l, const struct strbuf *ca_pem)
{
	CURL *curl = curl_easy_init();
	if (!curl)
		die(3, "cannot initialise libcurl");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	use_share(curl);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, l->connect_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "ops-promote/" OPSKIT_VERSION);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_pem && ca_pem->len) {
		/* it replaces CURLOPT_CAINFO's default bundle, as a CA file given by name does */
		struct curl_blob ca = { ca_pem->buf, ca_pem->len, CURL_BLOB_COPY };
		curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
	}
	if (l->low_speed_secs > 0) {
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, l->low_speed_bytes);
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, l->low_speed_secs);
	}
	return curl;
}

static long remaining_ms(const struct run_limits *l)
{
	double left = interrupted ? 0 : l->deadline_ms - now_ms();
	return left < 1 ? 1 : (long)left;
}

long http_request_timeout_ms(const struct run_limits *l)
{
	long left = remaining_ms(l);
	return l->request_timeout_ms < left ? l->request_timeout_ms : left;
}

double http_answer_window_ms(const struct run_limits *l)
{
	return l->request_timeout_ms > 60000 ? (double)l->request_timeout_ms : 60000.0;
}

double blob_budget_ms(const struct run_limits *l, long long bytes)
{
	return (double)l->request_timeout_ms + (double)bytes * 1000.0 / BLOB_MIN_RATE + http_answer_window_ms(l);
}

bool http_status_retryable(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599 && status != 501 && status != 505);
}

bool http_curl_retryable(int curl_code)
{
	switch ((CURLcode)curl_code) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static double wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* An IMF-fixdate (RFC 9110 5.6.7), "Sun, 06 Nov 1994 08:49:37 GMT", in milliseconds since
 * the epoch, without the locale strptime would read month names in; 0 when it is not one. */
double http_date_ms(const char *text)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4] = "";
	int day, year, hh, mm, ss, used = 0;
	if (sscanf(text, "%*3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", &day, mon, &year, &hh, &mm, &ss,
		   &used) != 6 || text[used] != '\0' || strlen(mon) != 3)
		return 0;
	const char *at = strstr(months, mon);
	if (!at || (at - months) % 3 || day < 1 || day > 31 || year < 1970 || hh > 23 || mm > 59 || ss > 60)
		return 0;
	struct tm tm = { .tm_mday = day, .tm_mon = (int)((at - months) / 3), .tm_year = year - 1900,
			 .tm_hour = hh, .tm_min = mm, .tm_sec = ss };
	return (double)timegm(&tm) * 1000.0;
}

bool http_retry_sleep(const struct run_limits *l, int attempt, const char *retry_after)
{
	double wait = (double)l->backoff_ms * (double)(1L << (attempt < 10 ? attempt : 10));
	wait += (double)(random() % (l->backoff_ms + 1)); /* jitter: spread retrying clients */
	if (retry_after && *retry_after) {
		char *end;
		long secs = strtol(retry_after, &end, 10);
		double when;
		if (end != retry_after && *end == '\0' && secs >= 0) {
			wait = (double)secs * 1000.0;
		} else if ((when = http_date_ms(retry_after)) > 0) {
			/* an HTTP date, as Docker Hub sends it: wait until then */
			double until = when - wall_ms();
			wait = until > 0 ? until : 0;
		}
	}
	if (interrupted || now_ms() + wait >= l->deadline_ms)
		return false;
	struct timespec ts = { (time_t)(wait / 1000), (long)((long long)wait % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	return !interrupted;
}

void http_resp_release(struct http_resp *resp)
{
	sb_release(&resp->body);
	free(resp->content_type);
	free(resp->digest);
	free(resp->location);
	free(resp->www_auth);
	free(resp->retry_after);
	free(resp->range);
	free(resp->link);
	free(resp->oci_subject);
	free(resp->chunk_min_length);
	free(resp->error);
	memset(resp, 0, sizeof(*resp));
}
