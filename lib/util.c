#define _GNU_SOURCE
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Noreturn void out_of_memory(void)
{
	fputs("opskit: out of memory\n", stderr);
	exit(3);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xcalloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		out_of_memory();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	struct strbuf sb = STRBUF_INIT;
	sb_vaddf(&sb, fmt, ap);
	return sb_detach(&sb);
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

void sb_grow(struct strbuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->alloc)
		return;
	size_t want = sb->alloc ? sb->alloc : 64;
	while (want < sb->len + extra + 1)
		want *= 2;
	sb->buf = xrealloc(sb->buf, want);
	sb->alloc = want;
}

void sb_add(struct strbuf *sb, const void *data, size_t len)
{
	sb_grow(sb, len);
	if (len)
		memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void sb_addstr(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

void sb_addch(struct strbuf *sb, char c)
{
	sb_add(sb, &c, 1);
}

void sb_addpad(struct strbuf *sb, char c, size_t n)
{
	sb_grow(sb, n);
	memset(sb->buf + sb->len, c, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

/* fmt is the caller's literal, checked at the PRINTF_LIKE call site (clang does not
 * follow it through va_list). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	sb_grow(sb, (size_t)n);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}
#pragma GCC diagnostic pop

void sb_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(sb, fmt, ap);
	va_end(ap);
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

char *sb_detach(struct strbuf *sb)
{
	char *s = sb->buf ? sb->buf : xstrdup("");
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	return s;
}

void sb_release(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
}

void sb_wipe(struct strbuf *sb)
{
	if (sb->buf)
		explicit_bzero(sb->buf, sb->alloc);
	sb_release(sb);
}

const char *sb_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

/* Opened without blocking: a FIFO nobody writes to would block open(2) forever; once
 * open, it reads as end of file at once while no writer has it. */
static FILE *open_for_reading(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	int flags = fcntl(fd, F_GETFL);
	FILE *fp = flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ? NULL : fdopen(fd, "rb");
	if (!fp) {
		int err = errno;
		close(fd);
		errno = err;
	}
	return fp;
}

int sb_read_file(struct strbuf *sb, const char *path, size_t max)
{
	FILE *fp = open_for_reading(path);
	if (!fp)
		return -1;
	struct stat st;
	if (max && fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size > max) {
		fclose(fp);
		errno = EFBIG;
		return -1;
	}
	char chunk[65536];
	size_t got, before = sb->len;
	int err = 0;
	while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (max && sb->len - before + got > max) {
			err = EFBIG;
			break;
		}
		sb_add(sb, chunk, got);
	}
	if (!err && ferror(fp))
		err = errno ? errno : EIO;
	fclose(fp);
	if (err) {
		errno = err;
		return -1;
	}
	sb_add(sb, "", 0); /* NUL-terminated even when empty */
	return 0;
}

const char *read_failure(int err, size_t max)
{
	static _Thread_local char why[64];
	if (err != EFBIG)
		return strerror(err);
	if (max && max % (1u << 20) == 0)
		snprintf(why, sizeof(why), "larger than %zu MiB", max >> 20);
	else
		snprintf(why, sizeof(why), "larger than %zu bytes", max);
	return why;
}

const char *unsafe_file_reason(const char *path, size_t max)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? NULL : strerror(errno);
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	return (size_t)st.st_size > max ? read_failure(EFBIG, max) : NULL;
}

int parse_double(const char *s, double *out)
{
	char *end;
	if (!s || !*s || isspace((unsigned char)*s) || strpbrk(s, "xX"))
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

int parse_ll(const char *s, long long *out)
{
	char *end;
	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int parse_duration_ms(const char *s, double *out_ms)
{
	static const struct { const char *unit; double ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
	};
	char *end;
	/* strtod also reads hex ("0x10"), which no one means as a duration */
	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || strpbrk(s, "xX"))
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -1;
	if (!*end) {
		*out_ms = v * 1000;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (!strcmp(end, units[i].unit)) {
			*out_ms = v * units[i].ms;
			return 0;
		}
	}
	return -1;
}

int parse_threshold(const char *s, double *out, bool *percent)
{
	size_t n = s ? strlen(s) : 0;
	if (n > 1 && s[n - 1] == '%') {
		char *num = xstrndup(s, n - 1);
		int rc = parse_double(num, out);
		free(num);
		*percent = true;
		return rc;
	}
	*percent = false;
	if (parse_double(s, out) == 0)
		return 0;
	double ms;
	if (parse_duration_ms(s, &ms) == 0) {
		*out = ms / 1000;
		return 0;
	}
	return -1;
}

static char *rotating_buffer(void)
{
	static char slots[8][32];
	static unsigned next;
	return slots[next++ % 8];
}

const char *human_bytes(double bytes)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	char *buf = rotating_buffer();
	size_t u = 0;
	if (!isfinite(bytes)) {
		snprintf(buf, 32, "-");
		return buf;
	}
	while (fabs(bytes) >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, 32, "%.0f B", bytes);
	else
		snprintf(buf, 32, "%.1f %s", bytes, units[u]);
	return buf;
}

const char *human_duration(double seconds)
{
	char *buf = rotating_buffer();
	if (isnan(seconds)) {
		snprintf(buf, 32, "-");
		return buf;
	}
	if (seconds < 0)
		seconds = 0;
	/* whole units as doubles: no int overflow (UB) for absurd values such as 1e300 */
	double s = floor(seconds);
	if (seconds < 1)
		snprintf(buf, 32, "%.0fms", seconds * 1000);
	else if (seconds < 60)
		snprintf(buf, 32, "%.1fs", seconds);
	else if (seconds < 3600)
		snprintf(buf, 32, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
	else if (seconds < 86400)
		snprintf(buf, 32, "%.0fh%02.0fm", floor(s / 3600), floor(fmod(s, 3600) / 60));
	else if (seconds < 1e15)
		snprintf(buf, 32, "%.0fd%02.0fh", floor(s / 86400), floor(fmod(s, 86400) / 3600));
	else
		snprintf(buf, 32, "%.3gd", s / 86400);
	return buf;
}

int edit_distance(const char *a, const char *b, int cap)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return cap + 1;
	int prev[65], cur[65];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (int)i;
		int row_min = cur[0];
		for (size_t j = 1; j <= lb; j++) {
			int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			int v = prev[j - 1] + cost;
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			cur[j] = v;
			if (v < row_min)
				row_min = v;
		}
		if (row_min > cap)
			return cap + 1;
		memcpy(prev, cur, sizeof(int) * (lb + 1));
	}
	return prev[lb] > cap ? cap + 1 : prev[lb];
}

double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

bool str_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool str_ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

size_t utf8_seq_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
	if (!n || n > left || (n == 2 && c < 0xc2) || c > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* overlong 3- and 4-byte forms, UTF-16 surrogates, beyond U+10FFFF */
	if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0) ||
	    (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
		return 0;
	return n;
}

size_t utf8_prefix_len(const char *s, size_t max_chars)
{
	size_t len = strlen(s), i = 0;
	for (size_t chars = 0; i < len && chars < max_chars; chars++) {
		size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);
		i += n ? n : 1;
	}
	return i;
}

bool shell_name_valid(const char *s, size_t n)
{
	if (!n || !shell_name_start(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!shell_name_char(s[i]))
			return false;
	return true;
}

char *percent_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], '\0' };
			out[k++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = '\0';
	return out;
}
