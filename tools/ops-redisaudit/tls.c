/*
 * TLS for hiredis 0.14, which has none: OpenSSL speaks TLS on the TCP socket, and a relay
 * thread per connection copies plaintext between it and one end of a socketpair whose
 * other end hiredis gets through redisConnectFd(). hiredis keeps its own timeouts on the
 * socketpair; the TCP socket has SO_RCVTIMEO/SO_SNDTIMEO, the connect and the handshake are
 * bounded by the same timeout, so no network call can block for ever. The relay ends when
 * hiredis closes its end (redisFree), the server closes, or an I/O error or timeout occurs.
 * Certificates are always verified: the chain, and the host name or IP (or --sni).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redisaudit.h"
#include "util.h"

struct tls_conn {
	SSL *ssl;
	int tcp;             /* the socket to the server */
	int local;           /* our end of the socketpair */
	pthread_t thread;
};

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;

/* The reason of the last OpenSSL error (verify result first). */
static char *tls_reason(SSL *ssl)
{
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e = ERR_peek_last_error();
	char buf[256] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	if (vr != X509_V_OK)
		return xasprintf("certificate verify failed: %s", X509_verify_cert_error_string(vr));
	return xstrdup(*buf ? buf : "connection closed during the handshake");
}

/* The PEM files are read by us, not by OpenSSL's file loaders: those block on a FIFO
 * nobody writes to and read /dev/zero for ever. Bounded (PEM_FILE_MAX) and
 * non-blocking (sb_read_file), then parsed from memory. No password callback: an
 * encrypted key fails at once instead of prompting on the terminal. */
static BIO *pem_read(const char *path, const char *what, struct strbuf *pem, char **err)
{
	if (sb_read_file(pem, path, PEM_FILE_MAX) < 0) {
		*err = xasprintf("cannot read the %s %s: %s", what, path, read_failure(errno, PEM_FILE_MAX));
		return NULL;
	}
	BIO *bio = BIO_new_mem_buf(sb_str(pem), (int)pem->len);
	if (!bio)
		*err = xasprintf("cannot read the %s %s: out of memory", what, path);
	return bio;
}

/* The end of a PEM stream read to its last object is no error. */
static bool pem_at_end(void)
{
	unsigned long e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
		return false;
	ERR_clear_error();
	return true;
}

/* As SSL_CTX_load_verify_locations(ctx, path, NULL): every certificate and CRL of path. */
static int load_ca_file(SSL_CTX *ctx, const char *path, char **err)
{
	struct strbuf pem = STRBUF_INIT;
	BIO *bio = pem_read(path, "CA file", &pem, err);
	STACK_OF(X509_INFO) *infos = bio ? PEM_X509_INFO_read_bio(bio, NULL, NULL, (void *)"") : NULL;
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	int loaded = 0;
	for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *info = sk_X509_INFO_value(infos, i);
		loaded += info->x509 && X509_STORE_add_cert(store, info->x509) == 1;
		loaded += info->crl && X509_STORE_add_crl(store, info->crl) == 1;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	bool read = bio != NULL;
	BIO_free(bio);
	sb_release(&pem);
	if (read && !loaded) {
		char *why = ERR_peek_last_error() ? tls_reason(NULL) : xstrdup("no PEM certificate in it");
		*err = xasprintf("cannot read the CA file %s: %s", path, why);
		free(why);
	}
	return read && loaded ? 0 : -1;
}

/* As SSL_CTX_use_certificate_chain_file(): the first certificate, then its chain.
 * 0; -1 with *err when the file cannot be read; -2 when OpenSSL refuses what it holds. */
static int use_cert_chain(SSL_CTX *ctx, const char *path, char **err)
{
	struct strbuf pem = STRBUF_INIT;
	BIO *bio = pem_read(path, "client certificate", &pem, err);
	X509 *leaf = bio ? PEM_read_bio_X509_AUX(bio, NULL, NULL, (void *)"") : NULL;
	int ok = leaf && SSL_CTX_use_certificate(ctx, leaf) == 1 && SSL_CTX_clear_chain_certs(ctx) == 1;
	X509_free(leaf);
	X509 *ca;
	while (ok && (ca = PEM_read_bio_X509(bio, NULL, NULL, (void *)"")))
		if (!(ok = SSL_CTX_add0_chain_cert(ctx, ca) == 1))
			X509_free(ca);
	ok = ok && pem_at_end();
	bool read = bio != NULL;
	BIO_free(bio);
	sb_release(&pem);
	return ok ? 0 : read ? -2 : -1;
}

/* As SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM); returns as use_cert_chain(). */
static int use_private_key(SSL_CTX *ctx, const char *path, char **err)
{
	struct strbuf pem = STRBUF_INIT;
	BIO *bio = pem_read(path, "private key", &pem, err);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : NULL;
	int ok = key && SSL_CTX_use_PrivateKey(ctx, key) == 1;
	EVP_PKEY_free(key);
	bool read = bio != NULL;
	BIO_free(bio);
	sb_wipe(&pem);   /* a secret */
	return ok ? 0 : read ? -2 : -1;
}

/* --cert with --key; -1 with *err. */
static int use_client_cert(SSL_CTX *ctx, const struct settings *s, char **err)
{
	if (!s->cert || !s->key) {
		*err = xstrdup("--cert and --key go together");
		return -1;
	}
	int rc = use_cert_chain(ctx, s->cert, err);
	if (rc == 0)
		rc = use_private_key(ctx, s->key, err);
	if (rc == 0 && SSL_CTX_check_private_key(ctx) != 1)
		rc = -2;
	if (rc == -2) {   /* read, but OpenSSL refused it */
		char *why = tls_reason(NULL);
		*err = xasprintf("cannot use the client certificate %s with its key: %s", s->cert, why);
		free(why);
	}
	return rc ? -1 : 0;
}

struct ssl_ctx_st *tls_context(const struct settings *s, char **err)
{
	pthread_mutex_lock(&ctx_lock);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	pthread_mutex_unlock(&ctx_lock);
	if (!ctx) {
		*err = xstrdup("cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* a record without data (a TLS 1.3 session ticket) must not make the relay's SSL_read
	 * wait for data while the command that would bring it waits to be relayed */
	SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
	int rc = 0;
	if (s->ca_file)
		rc = load_ca_file(ctx, s->ca_file, err);
	else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		char *why = tls_reason(NULL);
		*err = xasprintf("cannot read the CA file (system): %s", why);
		free(why);
		rc = -1;
	}
	if (rc == 0 && (s->cert || s->key))
		rc = use_client_cert(ctx, s, err);
	if (rc) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* Waits for fd (POLLIN/POLLOUT) until deadline; 0, or -1 on timeout. */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = { fd, events, 0 };
		int rc = poll(&p, 1, (int)left + 1);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static int tcp_connect(const char *host, int port, double deadline, char **err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%d", port);
	int rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc) {
		*err = xasprintf("%s", gai_strerror(rc));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
			free(*err);
			*err = xstrdup(strerror(errno));
			close(fd);
			fd = -1;
			continue;
		}
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (wait_fd(fd, POLLOUT, deadline) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) || soerr) {
			free(*err);
			*err = xstrdup(soerr ? strerror(soerr) : "Connection timed out");
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0 && !*err)
		*err = xstrdup("no address");
	return fd;
}

/* 0, -1 on an error, -2 when the deadline passed. */
static int handshake(SSL *ssl, int fd, double deadline)
{
	for (;;) {
		int rc = SSL_connect(ssl);
		if (rc == 1)
			return 0;
		int e = SSL_get_error(ssl, rc);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;
		if (wait_fd(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
			return -2;
	}
}

/* Copies both ways until either side closes or fails. Blocking I/O on the TCP socket is
 * bounded by its SO_RCVTIMEO/SO_SNDTIMEO. */
static void *relay(void *arg)
{
	struct tls_conn *t = arg;
	char buf[16384];
	for (;;) {
		struct pollfd p[2] = { { t->tcp, POLLIN, 0 }, { t->local, POLLIN, 0 } };
		if (!SSL_pending(t->ssl) && poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (SSL_pending(t->ssl) || (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			int n = SSL_read(t->ssl, buf, sizeof(buf));
			if (n <= 0 && SSL_get_error(t->ssl, n) == SSL_ERROR_WANT_READ)
				n = 0;   /* a record without application data */
			else if (n <= 0)
				break;
			for (int off = 0; off < n;) {
				ssize_t w = write(t->local, buf + off, (size_t)(n - off));
				if (w <= 0)
					goto out;
				off += (int)w;
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(t->local, buf, sizeof(buf));
			if (n <= 0)
				break;
			if (SSL_write(t->ssl, buf, (int)n) <= 0)
				break;
		}
	}
out:
	/* hiredis sees EOF (or its own timeout) on its end */
	shutdown(t->local, SHUT_RDWR);
	return NULL;
}

void *tls_connect(struct ssl_ctx_st *ctx, const char *host, int port, const char *sni, double timeout_ms,
		  int *fd_out, char **err)
{
	double deadline = now_ms() + timeout_ms;
	*err = NULL;
	int fd = tcp_connect(host, port, deadline, err);
	if (fd < 0)
		return NULL;
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	const char *name = sni && *sni ? sni : host;
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
	if (!is_ip)
		SSL_set_tlsext_host_name(ssl, name);
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	if (is_ip)
		X509_VERIFY_PARAM_set1_ip_asc(vp, name);
	else
		X509_VERIFY_PARAM_set1_host(vp, name, 0);
	int hs = handshake(ssl, fd, deadline);
	if (hs) {
		char *why = hs == -2 ? xasprintf("no answer within %.0f ms", timeout_ms) : tls_reason(ssl);
		*err = xasprintf("TLS handshake failed: %s", why);
		free(why);
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	/* blocking from here, each call bounded by the timeout */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)((long long)timeout_ms % 1000 * 1000) };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp)) {
		*err = xasprintf("socketpair: %s", strerror(errno));
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	struct tls_conn *t = xcalloc(1, sizeof(*t));
	t->ssl = ssl;
	t->tcp = fd;
	t->local = sp[1];
	if (pthread_create(&t->thread, NULL, relay, t)) {
		*err = xstrdup("cannot start the TLS relay thread");
		close(sp[0]);
		close(sp[1]);
		SSL_free(ssl);
		close(fd);
		free(t);
		return NULL;
	}
	*fd_out = sp[0];
	return t;
}

/* After redisFree() closed the other end: waits for the relay and frees the rest. */
void tls_close(void *conn)
{
	struct tls_conn *t = conn;
	if (!t)
		return;
	shutdown(t->local, SHUT_RDWR);   /* wakes the relay if hiredis' end is still open */
	pthread_join(t->thread, NULL);
	SSL_shutdown(t->ssl);
	SSL_free(t->ssl);
	close(t->tcp);
	close(t->local);
	free(t);
}
