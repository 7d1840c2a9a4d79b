/*
 * base64 — RFC 4648 base64 with the standard alphabet and padding.
 *
 * Contract:
 *  - base64_encode() always succeeds (returns a new NUL-terminated string).
 *  - base64_decode() is strict: padded to a multiple of 4, nothing but the alphabet and
 *    up to two trailing '='; trailing line breaks and spaces are ignored. It returns 0
 *    and appends the bytes to out, or -1 (out then holds a partial result to release).
 *  - Leans on util only.
 */
#ifndef OPSKIT_BASE64_H
#define OPSKIT_BASE64_H

#include <stddef.h>

struct strbuf;

char *base64_encode(const void *data, size_t n);
int base64_decode(const char *in, size_t n, struct strbuf *out);

#endif
