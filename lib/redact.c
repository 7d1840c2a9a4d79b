#define _GNU_SOURCE
#include "redact.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Registered literal secrets in the order registered (a secret's number is its place
 * here), kept for the index below, which points into them. */
static char **secrets;
static size_t *secret_lens;
static size_t nsecrets, secrets_cap;
static size_t longest_secret;

#define MIN_LITERAL_SECRET 4

/* The index of the secrets: a radix trie, so that redact_text() walks the text once and
 * reads at each position only the secrets that begin there, instead of searching the
 * whole text once per secret (minutes for an env file of 30,000 tokens, whose output
 * is megabytes). Node 0 is the root; a node's label is the run of bytes from its parent,
 * pointing into a registered secret, and secret_no the number of the secret that ends
 * there (-1: none). The edges, (parent, first byte of the child's label) -> child, are
 * one open-addressing table in which child 0 marks a free slot (the root is nobody's
 * child). Registration grows the index; redact_text() only reads it. */
struct trie_node {
	const char *label;
	size_t label_len;
	long secret_no;
};
struct trie_edge {
	uint64_t key;
	size_t child;
};
static struct trie_node *nodes;
static size_t nnodes, nodes_cap;
static struct trie_edge *edges; /* a power of two of slots, at most half used */
static size_t nedges, edges_cap;

static uint64_t edge_key(size_t parent, unsigned char first)
{
	return (uint64_t)parent << 8 | first;
}

static size_t edge_slot(uint64_t key)
{
	uint64_t h = (key ^ (key >> 29)) * 0xbf58476d1ce4e5b9u;
	size_t i = (size_t)(h ^ (h >> 32)) & (edges_cap - 1);
	while (edges[i].child && edges[i].key != key)
		i = (i + 1) & (edges_cap - 1);
	return i;
}

static size_t trie_child(size_t parent, unsigned char first)
{
	return edges_cap ? edges[edge_slot(edge_key(parent, first))].child : 0;
}

static void grow_edges(void)
{
	struct trie_edge *old = edges;
	size_t old_cap = edges_cap;
	edges_cap = edges_cap ? 2 * edges_cap : 64;
	edges = xcalloc(edges_cap, sizeof(*edges));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].child)
			edges[edge_slot(old[i].key)] = old[i];
	free(old);
}

static void trie_set_child(size_t parent, unsigned char first, size_t child)
{
	if (2 * (nedges + 1) > edges_cap)
		grow_edges();
	size_t i = edge_slot(edge_key(parent, first));
	if (!edges[i].child)
		nedges++;
	edges[i].key = edge_key(parent, first);
	edges[i].child = child;
}

static size_t trie_new_node(const char *label, size_t label_len, long secret_no)
{
	if (nnodes == nodes_cap) {
		nodes_cap = nodes_cap ? 2 * nodes_cap : 64;
		nodes = xrealloc(nodes, sizeof(*nodes) * nodes_cap);
	}
	nodes[nnodes] = (struct trie_node){ label, label_len, secret_no };
	return nnodes++;
}

/* Before the trie, a filter: a bit for the hash of each secret's first 4 bytes. Most
 * positions of a text begin no secret, and a clear bit says so in one read of a table
 * that stays in the cache (16 bits a secret or more: 6% read the trie in vain). */
static uint64_t *prefix_bits;
static size_t prefix_nbits; /* a power of two */

static size_t prefix_bit(const char *s)
{
	uint32_t first;
	memcpy(&first, s, sizeof(first));
	return (size_t)((first * 0x9e3779b97f4a7c15u) >> 32) & (prefix_nbits - 1);
}

static bool prefix_may_begin_secret(const char *s)
{
	size_t bit = prefix_bit(s);
	return prefix_bits[bit / 64] >> (bit % 64) & 1;
}

static void prefix_set(const char *secret)
{
	size_t bit = prefix_bit(secret);
	prefix_bits[bit / 64] |= (uint64_t)1 << (bit % 64);
}

/* After the secret is counted in nsecrets. The filter doubles as the secrets grow and
 * is filled anew: linear in all. */
static void prefix_add(const char *secret)
{
	if (16 * nsecrets <= prefix_nbits) {
		prefix_set(secret);
		return;
	}
	free(prefix_bits);
	prefix_nbits = prefix_nbits ? 2 * prefix_nbits : 4096;
	prefix_bits = xcalloc(prefix_nbits / 64, sizeof(*prefix_bits));
	for (size_t i = 0; i < nsecrets; i++)
		prefix_set(secrets[i]);
}

/* The child of parent whose whole label text[0..len) starts with, or 0. The edge's key
 * holds the label's first byte: the rest is compared. */
static size_t trie_step(size_t parent, const char *text, size_t len)
{
	size_t child = len ? trie_child(parent, (unsigned char)text[0]) : 0;
	if (!child)
		return 0;
	const struct trie_node *c = &nodes[child];
	if (c->label_len > len || (c->label_len > 1 && memcmp(c->label + 1, text + 1, c->label_len - 1)))
		return 0;
	return child;
}

/* The node where value ends, or 0 (not a path of the trie, or it ends inside a label). */
static size_t trie_find(const char *value, size_t len)
{
	size_t node = 0;
	for (size_t depth = 0; depth < len;) {
		node = trie_step(node, value + depth, len - depth);
		if (!node)
			return 0;
		depth += nodes[node].label_len;
	}
	return node;
}

/* Cuts the label of child (under parent) after its first at bytes: a new node between. */
static size_t trie_split(size_t parent, size_t child, size_t at)
{
	size_t mid = trie_new_node(nodes[child].label, at, -1);
	nodes[child].label += at;
	nodes[child].label_len -= at;
	trie_set_child(parent, (unsigned char)nodes[mid].label[0], mid);
	trie_set_child(mid, (unsigned char)nodes[child].label[0], child);
	return mid;
}

static void trie_insert(const char *value, size_t len, long secret_no)
{
	if (!nnodes)
		trie_new_node("", 0, -1);
	size_t node = 0;
	for (size_t depth = 0; depth < len;) {
		size_t child = trie_child(node, (unsigned char)value[depth]);
		if (!child) {
			size_t leaf = trie_new_node(value + depth, len - depth, secret_no);
			trie_set_child(node, (unsigned char)value[depth], leaf);
			return;
		}
		size_t common = 1;
		while (common < nodes[child].label_len && depth + common < len &&
		       nodes[child].label[common] == value[depth + common])
			common++;
		if (common < nodes[child].label_len)
			child = trie_split(node, child, common);
		node = child;
		depth += common;
	}
	nodes[node].secret_no = secret_no;
}

void redact_add_secret(const char *value)
{
	size_t len = value ? strlen(value) : 0;
	if (len < MIN_LITERAL_SECRET)
		return;
	size_t known = trie_find(value, len);
	if (known && nodes[known].secret_no >= 0)
		return;
	if (nsecrets == secrets_cap) {
		secrets_cap = secrets_cap ? 2 * secrets_cap : 16;
		secrets = xrealloc(secrets, sizeof(*secrets) * secrets_cap);
		secret_lens = xrealloc(secret_lens, sizeof(*secret_lens) * secrets_cap);
	}
	secrets[nsecrets] = xstrdup(value);
	secret_lens[nsecrets] = len;
	if (len > longest_secret)
		longest_secret = len;
	trie_insert(secrets[nsecrets], len, (long)nsecrets);
	nsecrets++;
	prefix_add(secrets[nsecrets - 1]);
}

void redact_reset(void)
{
	for (size_t i = 0; i < nsecrets; i++)
		free(secrets[i]);
	free(secrets);
	free(secret_lens);
	free(nodes);
	free(edges);
	free(prefix_bits);
	secrets = NULL;
	secret_lens = NULL;
	nodes = NULL;
	edges = NULL;
	prefix_bits = NULL;
	nsecrets = secrets_cap = nnodes = nodes_cap = nedges = edges_cap = prefix_nbits = 0;
	longest_secret = 0;
}

size_t redact_longest_secret(void)
{
	return longest_secret;
}

/* A registered secret found in the text: at start, secret number secret_no. */
struct secret_hit {
	size_t start, len;
	long secret_no;
};
struct secret_hits {
	struct secret_hit *hit;
	size_t n, cap;
};

/* Every registered secret that begins at text[pos] (pos + 4 <= n): the terminal nodes on
 * the path the text takes down the trie from there (each a prefix of the next). */
static void find_hits_at(const char *text, size_t n, size_t pos, struct secret_hits *hits)
{
	if (!prefix_may_begin_secret(text + pos))
		return;
	size_t node = 0;
	for (size_t depth = 0; pos + depth < n;) {
		node = trie_step(node, text + pos + depth, n - pos - depth);
		if (!node)
			return;
		depth += nodes[node].label_len;
		if (nodes[node].secret_no < 0)
			continue;
		if (hits->n == hits->cap) {
			hits->cap = hits->cap ? 2 * hits->cap : 16;
			hits->hit = xrealloc(hits->hit, sizeof(*hits->hit) * hits->cap);
		}
		hits->hit[hits->n++] = (struct secret_hit){ pos, depth, nodes[node].secret_no };
	}
}

/* The order in which masking claims the text: longest secret first, equal lengths in
 * the order registered, each secret's occurrences from the left. */
static int hit_priority(const void *pa, const void *pb)
{
	const struct secret_hit *a = pa, *b = pb;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	if (a->secret_no != b->secret_no)
		return a->secret_no < b->secret_no ? -1 : 1;
	return a->start < b->start ? -1 : a->start > b->start;
}

enum { SHOWN, MASK_START, MASKED };

/* Masks [start, start + len) unless a secret masked before overlaps it. The masking
 * goes longest first, so every secret masked before is at least as long: it overlaps
 * this one only if it holds this one's first or last byte (two reads, not a scan). */
static void claim(unsigned char *mark, size_t start, size_t len)
{
	if (mark[start] != SHOWN || mark[start + len - 1] != SHOWN)
		return;
	mark[start] = MASK_START;
	memset(mark + start + 1, MASKED, len - 1);
}

/* The hits in priority order, each masked unless it overlaps one masked before: the
 * result of one search-and-replace pass per secret, longest first, except that all are
 * found in the text as given (a secret holding "*" used to match the "***" put in for
 * another one, which masked nothing more of a secret). */
static void claim_hits(unsigned char *mark, struct secret_hits *hits)
{
	qsort(hits->hit, hits->n, sizeof(*hits->hit), hit_priority);
	for (size_t i = 0; i < hits->n; i++)
		claim(mark, hits->hit[i].start, hits->hit[i].len);
}

/* claim() of the hit at start, then where the next hit of the same secret may begin:
 * past what it masked, or what masks its first byte; a hit whose last byte is masked
 * (by a secret at least as long) is followed by hits that end in the same mask. */
static size_t claim_next(unsigned char *mark, size_t n, size_t start, size_t len)
{
	size_t from = mark[start] == SHOWN ? start + len - 1 : start;
	claim(mark, start, len);
	while (from < n && mark[from] != SHOWN)
		from++;
	return from;
}

static int secret_priority(const void *pa, const void *pb)
{
	long a = *(const long *)pa, b = *(const long *)pb;
	if (secret_lens[a] != secret_lens[b])
		return secret_lens[a] > secret_lens[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* claim_hits() without holding every hit: when secrets that are prefixes of each other
 * (aaaa, aaaaa, ...) meet a long run of the same byte, the hits would outnumber the
 * bytes many times over. The secrets found in the text are searched one at a time, in
 * priority order, and claimed as they are found: the same result, in memory of the
 * text's size (and one pass of the text per secret found in it). */
static void claim_by_search(unsigned char *mark, const char *in, size_t n)
{
	unsigned char *found = xcalloc(nsecrets, 1);
	long *order = xmalloc(sizeof(*order) * nsecrets);
	size_t norder = 0;
	struct secret_hits at_pos = { NULL, 0, 0 };
	for (size_t pos = 0; pos + MIN_LITERAL_SECRET <= n; pos++) {
		at_pos.n = 0;
		find_hits_at(in, n, pos, &at_pos);
		for (size_t i = 0; i < at_pos.n; i++) {
			long no = at_pos.hit[i].secret_no;
			if (!found[no])
				order[norder++] = no;
			found[no] = 1;
		}
	}
	qsort(order, norder, sizeof(*order), secret_priority);
	for (size_t i = 0; i < norder; i++) {
		const char *s = secrets[order[i]];
		size_t len = secret_lens[order[i]];
		for (size_t from = 0; from + len <= n;) {
			const char *hit = memmem(in + from, n - from, s, len);
			if (!hit)
				break;
			from = claim_next(mark, n, (size_t)(hit - in), len);
		}
	}
	free(at_pos.hit);
	free(order);
	free(found);
}

/* At most this many hits are held (24 bytes each) before claim_by_search() takes over;
 * secrets that do not nest stay far below it (each hit is at least 4 bytes long). */
#define MAX_HITS(text_len) ((text_len) + 4096)

/* Appends in to out with each registered secret in it replaced by "***". */
static void mask_registered(struct strbuf *out, const char *in)
{
	size_t n = strlen(in);
	struct secret_hits hits = { NULL, 0, 0 };
	size_t pos = 0;
	for (; nsecrets && pos + MIN_LITERAL_SECRET <= n && hits.n <= MAX_HITS(n); pos++)
		find_hits_at(in, n, pos, &hits);
	if (!hits.n) {
		sb_add(out, in, n);
		return;
	}
	unsigned char *mark = xcalloc(n, 1);
	if (hits.n <= MAX_HITS(n))
		claim_hits(mark, &hits);
	else
		claim_by_search(mark, in, n);
	for (size_t i = 0; i < n;) {
		size_t shown = i;
		while (shown < n && mark[shown] == SHOWN)
			shown++;
		sb_add(out, in + i, shown - i);
		if (shown == n)
			break;
		sb_addstr(out, REDACTED);
		for (i = shown + 1; i < n && mark[i] == MASKED; i++)
			;
	}
	free(mark);
	free(hits.hit);
}

/* Appends in to out with the PASSWORD of every "scheme://user:PASSWORD@" masked. */
static void mask_url_passwords(struct strbuf *out, const char *in)
{
	const char *p = in;
	for (;;) {
		const char *scheme_end = strstr(p, "://");
		if (!scheme_end) {
			sb_addstr(out, p);
			return;
		}
		const char *auth = scheme_end + 3;
		size_t authority_len = strcspn(auth, "/?# \t\n\"'");
		const char *at = memrchr(auth, '@', authority_len);
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (!colon) {
			sb_add(out, p, (size_t)(auth - p));
			p = auth;
			continue;
		}
		sb_add(out, p, (size_t)(colon + 1 - p));
		sb_addstr(out, REDACTED);
		p = at;
	}
}

/* Blanks libpq skips around a key's '=' ("password =\tx"), but not a newline: "password"
 * ending one line of a message does not make the next line its value. */
#define KEYWORD_BLANKS " \t\r\f\v"

/* The length of "key = " at p (key, blanks, '=', blanks), or 0. */
static size_t keyword_assignment_len(const char *p, const char *key)
{
	size_t l = strlen(key);
	if (strncasecmp(p, key, l))
		return 0;
	l += strspn(p + l, KEYWORD_BLANKS);
	if (p[l] != '=')
		return 0;
	return l + 1 + strspn(p + l + 1, KEYWORD_BLANKS);
}

/* Masks libpq-style "password=VALUE" (quoted or bare) wherever it appears, also as the
 * end of a longer name (PGPASSWORD=, db_password=). "pass=" needs a word boundary, or
 * "bypass=" would match. */
static void mask_keyword_passwords(struct strbuf *out, const char *in)
{
	static const struct { const char *key; bool boundary; } keys[] = {
		{ "password", false }, { "passwd", false }, { "pass", true },
	};
	const char *p = in;
	while (*p) {
		size_t plain = strcspn(p, "pP"); /* where a key can begin: each starts with "pass" */
		sb_add(out, p, plain);
		p += plain;
		if (!*p)
			break;
		size_t klen = 0;
		for (size_t i = 0; i < ARRAY_SIZE(keys) && !klen; i++)
			if (!keys[i].boundary || p == in || !isalnum((unsigned char)p[-1]))
				klen = keyword_assignment_len(p, keys[i].key);
		if (!klen) {
			sb_addch(out, *p++);
			continue;
		}
		sb_add(out, p, klen);
		p += klen;
		if (*p == '\'') {
			p++;
			while (*p && *p != '\'') {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (*p)
				p++;
		} else {
			/* libpq's '\ ' keeps a space inside a bare value */
			while (*p && !strchr(" \t\n&;,\"", *p))
				p += *p == '\\' && p[1] ? 2 : 1;
		}
		sb_addstr(out, REDACTED);
	}
}

char *redact_text(const char *in)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	if (!in)
		return xstrdup("");
	mask_registered(&a, in);
	mask_url_passwords(&b, sb_str(&a));
	sb_reset(&a);
	mask_keyword_passwords(&a, sb_str(&b));
	sb_release(&b);
	return sb_detach(&a);
}

/* The userinfo ends at the last '@' and starts after the last '/' before it, so a
 * scheme, broken or not, is skipped; its password is what follows its first ':'. */
char *redact_userinfo(const char *spec)
{
	const char *at = spec ? strrchr(spec, '@') : NULL;
	if (!at)
		return xstrdup(spec ? spec : "");
	const char *userinfo = spec;
	for (const char *p = spec; p < at; p++)
		if (*p == '/')
			userinfo = p + 1;
	const char *colon = memchr(userinfo, ':', (size_t)(at - userinfo));
	if (!colon || colon + 1 == at)
		return xstrdup(spec);
	char *password = xstrndup(colon + 1, (size_t)(at - colon - 1));
	redact_add_secret(password);
	free(password);
	/* masked here whatever its length: one under 4 bytes is not registered */
	return xasprintf("%.*s" REDACTED "%s", (int)(colon + 1 - spec), spec, at);
}

/* "scheme://" at the very start: a URL. A libpq key=value string may hold "://" in a
 * value (options='...'), and its password= must still be found. */
static const char *url_scheme_end(const char *dsn)
{
	size_t n = 0;
	if (!isalpha((unsigned char)dsn[0]))
		return NULL;
	while (isalnum((unsigned char)dsn[n]) || dsn[n] == '+' || dsn[n] == '-' || dsn[n] == '.')
		n++;
	return strncmp(dsn + n, "://", 3) ? NULL : dsn + n;
}

/* Registers one libpq key=value value starting at p, read as conninfo_parse() reads it
 * ('...' ends at its unescaped quote, a bare value at whitespace; '\' escapes the next
 * character in both), and returns where it ends. Both the value libpq hands the server
 * and the text as written are registered: a message may quote either, and registering
 * only a piece would leave the rest to print. */
static const char *register_conninfo_value(const char *p)
{
	struct strbuf decoded = STRBUF_INIT;
	bool quoted = *p == '\'';
	const char *raw = p + quoted;
	for (p = raw; *p && !(quoted ? *p == '\'' : isspace((unsigned char)*p)); p++) {
		if (*p == '\\' && !*++p)
			break;
		sb_addch(&decoded, *p);
	}
	char *written = xstrndup(raw, (size_t)(p - raw));
	redact_add_secret(written);
	redact_add_secret(sb_str(&decoded));
	free(written);
	sb_release(&decoded);
	return *p ? p + 1 : p;
}

/* A URL's password as written (p%40ss) and as the client decodes it (p@ss): a message
 * may quote either. */
static void register_url_value(const char *p, size_t n)
{
	char *written = xstrndup(p, n), *decoded = percent_decode(p, n);
	redact_add_secret(written);
	redact_add_secret(decoded);
	free(written);
	free(decoded);
}

/* Registers the password of a URL or key=value DSN, then masks it. */
static void register_dsn_password(const char *dsn)
{
	const char *scheme_end = url_scheme_end(dsn + strspn(dsn, " \t"));
	if (scheme_end) {
		const char *auth = scheme_end + 3;
		size_t alen = strcspn(auth, "/?#");
		const char *at = memrchr(auth, '@', alen);
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon)
			register_url_value(colon + 1, (size_t)(at - colon - 1));
		const char *q = strcasestr(auth, "password=");
		if (q)
			register_url_value(q + 9, strcspn(q + 9, "&#"));
		return;
	}
	/* libpq key=value: every "password = value" (also sslpassword=) */
	for (const char *q = dsn; (q = strcasestr(q, "password")) != NULL;) {
		q += 8;
		q += strspn(q, " \t\n\r\f\v");
		if (*q != '=')
			continue;
		q++;
		q += strspn(q, " \t\n\r\f\v");
		q = register_conninfo_value(q);
	}
}

char *redact_dsn(const char *dsn)
{
	if (!dsn)
		return xstrdup("");
	register_dsn_password(dsn);
	return redact_text(dsn);
}

/* Secret-looking: a name segment (split on _ - .) is a secret word, or the name ends in
 * KEY (STRIPE_KEY, SPEECH_KEY) without being a mere key *name* (KEY_PREFIX, MONKEY). */
bool redact_key_is_secret(const char *name)
{
	static const char *const segments[] = {
		"PASSWORD", "PASSWD", "PASS", "PWD", "PASSPHRASE", "SECRET", "SECRETS", "TOKEN",
		"TOKENS", "APIKEY", "CREDENTIALS", "CREDENTIAL", "CREDS", "AUTH", "DSN", "COOKIE",
		"SALT", "PRIVATE", "SIGNATURE", "WEBHOOK",
	};
	static const char *const whole[] = { "DATABASE_URL", "CONNECTION_STRING", "KEY" };
	char up[256];
	size_t n = 0;
	for (; name[n] && n < sizeof(up) - 1; n++) {
		unsigned char ch = (unsigned char)name[n];
		up[n] = (char)(ch == '-' || ch == '.' ? '_' : toupper(ch));
	}
	up[n] = '\0';
	if (name[n]) /* longer than up: a secret word past the cut would go unseen */
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(whole); i++)
		if (!strcmp(up, whole[i]))
			return true;
	if (str_ends_with(up, "_KEY") || str_ends_with(up, "APIKEY"))
		return true;
	/* PGPASSWORD, GITHUBTOKEN, CLIENTSECRET: a secret word glued to a prefix */
	static const char *const suffixes[] = { "PASSWORD", "PASSWD", "TOKEN", "SECRET" };
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
		if (str_ends_with(up, suffixes[i]))
			return true;
	char *save = NULL;
	for (char *seg = strtok_r(up, "_", &save); seg; seg = strtok_r(NULL, "_", &save))
		for (size_t i = 0; i < ARRAY_SIZE(segments); i++)
			if (!strcmp(seg, segments[i]))
				return true;
	return false;
}

bool redact_value_is_path(const char *name, const char *value)
{
	char up[256];
	size_t n = 0;
	for (; name[n] && n < sizeof(up) - 1; n++)
		up[n] = (char)toupper((unsigned char)name[n]);
	up[n] = '\0';
	if (name[n]) /* longer than up: its end (_FILE, _PATH) was not seen; stays secret */
		return false;
	if (strcmp(up, "GOOGLE_APPLICATION_CREDENTIALS") != 0 && !str_ends_with(up, "_FILE") &&
	    !str_ends_with(up, "_PATH"))
		return false;
	/* a path: absolute or relative, one line, no JSON pasted in; a bare word may be the
	 * secret itself, written under the wrong name */
	if (!value || !*value || strlen(value) > 4096 || strpbrk(value, "{}\"'"))
		return false;
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p < 0x20)
			return false;
	return value[0] == '/' || !strncmp(value, "./", 2) || !strncmp(value, "../", 3) ||
	       !strncmp(value, "~/", 2);
}

void redact_bytes(struct strbuf *out, const char *data, size_t len)
{
	for (const char *p = data, *end = data + len; p <= end;) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		char *piece = xstrndup(p, nul ? (size_t)(nul - p) : (size_t)(end - p));
		char *masked = redact_text(piece);
		sb_addstr(out, masked);
		free(masked);
		free(piece);
		if (!nul)
			break;
		sb_addch(out, '\0');
		p = nul + 1;
	}
}
