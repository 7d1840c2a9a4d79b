/*
 * query_text — other sessions' query text as shown. A registered secret (the probe's own
 * password, pasted by an operator into a statement) is recognised only whole, so a text
 * is masked before it is cut, never after: a cut inside the secret would leave its first
 * characters to print. The server sends --query-length characters plus a margin at least
 * as long as the longest secret (query_text_fetch_chars()), so a secret that straddles
 * the cut arrives whole; the snapshot's texts are masked, then cut to --query-length
 * (query_text_prepare()), and every shorter head (messages, tables) is cut from those.
 * The head of a secret a cut fell inside (the margin's, the server's own at
 * track_activity_query_size) is never shown, however much the masks before it shortened
 * the text (shown_bytes()).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pgprobe.h"
#include "redact.h"
#include "util.h"

/* Characters fetched past the cut whatever the secrets (one registered later, by a
 * config, is covered up to this length too). */
#define FETCH_MARGIN 256
/* Characters of the query head in the idle-in-transaction message. */
#define IDLE_TX_QUERY_CHARS 60

int query_text_fetch_chars(int max)
{
	size_t margin = redact_longest_secret();
	if (margin < FETCH_MARGIN)
		margin = FETCH_MARGIN;
	return margin > (size_t)(INT_MAX - max) ? INT_MAX : max + (int)margin;
}

char *query_text_line(const char *q, size_t max_chars, bool mark_cut)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = q; *p; p++) {
		bool space = strchr(" \t\n\r\f\v", *p) != NULL;
		if (space && (!sb.len || sb.buf[sb.len - 1] == ' '))
			continue;
		sb_addch(&sb, space ? ' ' : *p);
	}
	char *line = sb_detach(&sb);
	size_t keep = utf8_prefix_len(line, max_chars);
	if (!line[keep])
		return line;
	line[keep] = '\0';
	if (!mark_cut)
		return line;
	char *marked = xasprintf("%s...", line);
	free(line);
	return marked;
}

/* A mask can end inside a multibyte character when a secret is not valid UTF-8 itself
 * (a Latin-1 password): such bytes become '?', so the text stays a JSON string. */
static void replace_invalid_utf8(char *s)
{
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);
		if (!n)
			s[i] = '?';
		i += n ? n : 1;
	}
}

/* How many bytes of masked (q masked) are shown at max characters. A q that was cut, by
 * the fetch margin (as long as max plus FETCH_MARGIN or more) or by the server's
 * track_activity_query_size (stored_max bytes, 0: unknown; clipped to fewer, on a
 * character boundary), may end in the head of a secret, which the cut left unrecognised
 * and so unmasked: it stays the last bytes of masked. Masking the whole secrets before it
 * shortens the text and can bring it within max, and a cut by the server may fall within
 * max anyway, so the masked text's last longest-secret bytes less one are never shown. */
static size_t shown_bytes(const char *q, const char *masked, int max, size_t stored_max)
{
	size_t keep = utf8_prefix_len(masked, max > 0 ? (size_t)max : 0);
	size_t longest = redact_longest_secret(), len = strlen(masked);
	bool cut = q[utf8_prefix_len(q, (size_t)(max > 0 ? max : 0) + FETCH_MARGIN - 1)] != '\0' ||
		   (stored_max && strlen(q) + 4 >= stored_max);
	if (!cut || longest < 2)
		return keep;
	size_t safe = len > longest - 1 ? len - (longest - 1) : 0;
	while (safe && ((unsigned char)masked[safe] & 0xc0) == 0x80)
		safe--; /* not inside a multibyte character */
	return keep < safe ? keep : safe;
}

/* The session's "query" masked, then cut to max characters, and to one line of
 * line_chars as well when line_chars is not 0. No text (--no-query-text): unchanged. */
static void mask_then_cut(json_t *session, int max, size_t line_chars, size_t stored_max)
{
	const char *q = json_string_value(json_object_get(session, "query"));
	if (!q)
		return;
	char *masked = redact_text(q);
	masked[shown_bytes(q, masked, max, stored_max)] = '\0';
	char *shown = line_chars ? query_text_line(masked, line_chars, false) : xstrdup(masked);
	replace_invalid_utf8(shown);
	json_object_set_new(session, "query", json_string(shown));
	free(shown);
	free(masked);
}

void query_text_prepare(json_t *snap, int max)
{
	size_t i;
	json_t *s;
	double stored = checks_json_num(snap, "track_activity_query_size");
	size_t stored_max = stored > 0 ? (size_t)stored : 0; /* NAN, absent: unknown */
	json_array_foreach(json_object_get(snap, "sessions"), i, s)
		mask_then_cut(s, max, 0, stored_max);
	json_array_foreach(json_object_get(snap, "idle_tx_longest"), i, s)
		mask_then_cut(s, max, IDLE_TX_QUERY_CHARS, stored_max);
}
