/*
 * redact — keep secrets out of every output, log and error message.
 *
 * Contract:
 *  - redact_add_secret() registers a literal value (a password parsed from a DSN, a token,
 *    the value of a secret-looking env key). From then on redact_text() replaces every
 *    occurrence with "***". Values shorter than 4 bytes are masked only structurally, to
 *    avoid blanking ordinary words. Where registered secrets overlap in a text, the
 *    longest is masked whole, of equal lengths the first registered, and a secret is
 *    masked where it does not overlap one masked so (as one search-and-replace pass per
 *    secret, longest first, would). The time is near-linear in the text's length
 *    whatever the number of secrets (an index of them, built as they are registered).
 *  - Threads: redact_text() and redact_bytes() only read the registered set, so threads
 *    may call them at once. Registering (redact_add_secret(), redact_dsn(),
 *    redact_userinfo(), redact_reset()) writes it: do it before threads start, or under
 *    a lock that every caller of redact_text() also holds.
 *  - redact_longest_secret() is the length in bytes of the longest registered secret (0:
 *    none). A text cut before it is masked can keep the first bytes of a secret that
 *    straddles the cut, unrecognised: fetch that many bytes past the cut, mask, then cut.
 *  - redact_dsn() masks the password of a URL ("scheme://user:***@host") or of a libpq
 *    key=value string ("password=***") without needing registration, and registers it:
 *    a key=value password both as libpq decodes it ('a\'b c', a\ b) and as written.
 *  - redact_userinfo() registers what would be the password of a URL typed without its
 *    scheme or with a broken one ("user:pass@host:6379", "postgres:/user:pass@db") and
 *    returns the spec with it masked, for the "is not a URL" errors that echo it: no
 *    structure there marks a password too short to be registered.
 *  - redact_key_is_secret() is the one definition of a "secret-looking" name, shared by
 *    the config loader, the env checker and the reporters.
 *  - redact_value_is_path() tells a secret-looking key whose value only names the file
 *    holding the secret (GOOGLE_APPLICATION_CREDENTIALS=/etc/app/sa.json,
 *    DB_PASSWORD_FILE=/run/secrets/db): such a path is shown, or "cannot read ***" would
 *    hide which file is missing. A value that is not a plain path stays secret.
 * All returned strings are newly allocated; the caller frees them.
 */
#ifndef OPSKIT_REDACT_H
#define OPSKIT_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#define REDACTED "***"

void redact_add_secret(const char *value);
char *redact_text(const char *in);
size_t redact_longest_secret(void);
/* redact_text() for bytes that may hold NULs (a parsed value): each NUL-separated piece is
 * masked on its own and appended to out, NULs kept. */
struct strbuf;
void redact_bytes(struct strbuf *out, const char *data, size_t len);
char *redact_dsn(const char *dsn);
char *redact_userinfo(const char *spec);
bool redact_key_is_secret(const char *name);
bool redact_value_is_path(const char *name, const char *value);
void redact_reset(void); /* forget registered secrets (tests) */

#endif
