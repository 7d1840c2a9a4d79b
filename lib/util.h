/*
 * util — memory, strings and numbers: the bottom layer every opskit module uses.
 *
 * Contract:
 *  - util calls nothing else in opskit (only libc): every other module may lean on it.
 *    Messages to the user (errorf, die, ...) are one layer up, in msg.h.
 *  - x* allocators never return NULL; on exhaustion they print one line and exit 3.
 *  - parse_* helpers return 0 on success and -1 on malformed input, never a silent default.
 */
#ifndef OPSKIT_UTIL_H
#define OPSKIT_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* s[0..n) with each %XX decoded (to free); a % not followed by two hex digits stays. */
char *percent_decode(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF_LIKE(1, 2);
char *xvasprintf(const char *fmt, va_list ap);

/* A growable, always NUL-terminated byte buffer (binary safe through len). */
struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
};
#define STRBUF_INIT { NULL, 0, 0 }
void sb_grow(struct strbuf *sb, size_t extra);
void sb_add(struct strbuf *sb, const void *data, size_t len);
void sb_addstr(struct strbuf *sb, const char *s);
void sb_addch(struct strbuf *sb, char c);
void sb_addf(struct strbuf *sb, const char *fmt, ...) PRINTF_LIKE(2, 3);
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
void sb_addpad(struct strbuf *sb, char c, size_t n);
void sb_reset(struct strbuf *sb);
char *sb_detach(struct strbuf *sb);   /* caller frees; sb is reset */
void sb_release(struct strbuf *sb);
/* sb_release() after zeroing the whole buffer: for secrets, not left in freed memory. */
void sb_wipe(struct strbuf *sb);
const char *sb_str(const struct strbuf *sb); /* "" when empty */
/* Appends the whole file at path ("-" is no special name). max > 0 bounds it: a longer
 * file (or an endless device) fails with EFBIG. A FIFO without a writer never blocks:
 * it reads as empty. Returns 0, or -1 with errno set (sb then holds what was read). */
int sb_read_file(struct strbuf *sb, const char *path, size_t max);
/* Caps of the small files a user names, by kind: a PEM bundle (CA, certificate, key) or
 * a secret (password, token, credentials) is a few KiB; past the cap the path names the
 * wrong thing (/dev/zero, a log, an endless pipe). */
#define PEM_FILE_MAX (1u << 20)
#define SECRET_FILE_MAX (1u << 20)
/* Why sb_read_file(..., max) failed with errno err, for a message: "larger than 1 MiB"
 * for EFBIG, else strerror(err). The string lives until the thread's next call. */
const char *read_failure(int err, size_t max);
/* For a file a library opens itself (libpq's sslrootcert...), which could block on a FIFO
 * or read /dev/zero for ever: NULL when path is a regular file of at most max bytes or
 * does not exist (the library says what that means); else why it is refused, as
 * read_failure() gives it ("not a regular file", "larger than 1 MiB"). */
const char *unsafe_file_reason(const char *path, size_t max);

/* Numbers and durations. A duration is a number with an optional unit
 * ms, s, m, h, d (no unit = seconds): "250ms", "30s", "1.5h". */
int parse_duration_ms(const char *s, double *out_ms);
int parse_ll(const char *s, long long *out);
/* FNV-1a of n bytes: for in-memory hash tables and stable sampling, never for security. */
uint64_t fnv1a(const char *s, size_t n);
int parse_double(const char *s, double *out);
/* "80%" -> 80, percent=true; "12" -> 12, percent=false; durations too (in seconds). */
int parse_threshold(const char *s, double *out, bool *percent);

/* Human forms, for text output: "1.5 KiB", "3m20s". Return static thread-unsafe buffers
 * rotated over 8 slots, so up to 8 may be used in one printf. */
const char *human_bytes(double bytes);
const char *human_duration(double seconds);

/* Edit distance, capped: returns cap+1 when the distance exceeds cap. */
int edit_distance(const char *a, const char *b, int cap);

/* Monotonic clock in milliseconds. */
double now_ms(void);

bool str_starts_with(const char *s, const char *prefix);
bool str_ends_with(const char *s, const char *suffix);

/* Shell variable names (POSIX: [A-Za-z_][A-Za-z0-9_]*, ASCII only), as the dotenv
 * dialects, compose interpolation and --fix read them. */
static inline bool shell_name_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline bool shell_name_char(char c)
{
	return shell_name_start(c) || (c >= '0' && c <= '9');
}
/* s[0..n) is one whole name. */
bool shell_name_valid(const char *s, size_t n);

/* Length of the valid UTF-8 sequence at p (1 for ASCII; left > 0 bytes there), 0 when
 * invalid: no overlong forms, no UTF-16 surrogates, nothing beyond U+10FFFF (as Go's
 * utf8.Valid and Python's decoder). */
size_t utf8_seq_len(const unsigned char *p, size_t left);
/* Bytes of s's first max_chars characters: a valid UTF-8 sequence is one character and is
 * never split, any other byte is one (as a server counts bytes it cannot decode). */
size_t utf8_prefix_len(const char *s, size_t max_chars);

#endif
