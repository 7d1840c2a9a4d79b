/*
 * ops-redisaudit — internal interfaces between its modules, each leaning only on the
 * ones listed below it (and on lib/):
 *
 *   main.c      options, config, orchestration, exit code
 *   output.c    tool data (tables / JSON objects)
 *   findings.c  checks: no-TTL, big keys, stream MAXLEN, KEYS callers, maxmemory
 *   exact.c     the exact pass: the top keys measured again with SAMPLES 0
 *   leaks.c     the key-leak check (prefixes of ids that never expire, --compare)
 *   scan.c      the SCAN pipeline on one node (one thread per node, at most --jobs)
 *   keyreport.c hot/idle access commands; TTL memory, sizes, hot and idle keys shown and
 *               judged (mass-expiry, key-sizes, hot-keys, idle-keys)
 *   redirect.c  per-key MOVED/ASK follow on other cluster nodes
 *   sentinel.c  sentinel:// targets: the primary (and a replica) from Sentinel
 *   replica.c   --replica: an online replica of a standalone primary; facts from primaries
 *   slots.c     slot coverage: the slot map before and after a cluster scan
 *   conn.c      targets (URL / unix path), connect + AUTH + SELECT, server facts,
 *               cluster topology (CLUSTER NODES)
 *   tls.c       TLS through OpenSSL and a relay thread per connection (hiredis 0.14 has none)
 *   agg.c       bounded aggregation: totals, prefixes, TTL buckets, top-N heaps, merge
 *   keystats.c  fixed-size per-key statistics: TTL buckets with memory, size histograms,
 *               idle buckets
 *   prefix.c    key -> prefix folding; binary-safe glob matching
 *   streams.c   consumer groups of the streams seen (XINFO): lost entries, lag, dead workers
 *   types.c     names of module types (ReJSON-RL, ...) instead of "other"
 *   encodings.c --encodings: collections past their compact encoding, per prefix
 *   schedule.c  exporter mode: full scans in the background, served with their age
 *   memctx.c    the server's memory context (INFO memory/stats): keys' total vs used_memory
 *
 * Memory: nothing is kept per key. A node's aggregate holds at most prefix_max prefixes,
 * top keys per heap, a capped list of stream findings and fixed-size histograms
 * (keystats.c), whatever the key count.
 */
#ifndef OPS_REDISAUDIT_H
#define OPS_REDISAUDIT_H

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "report.h"
#include "util.h"

typedef unsigned long long u64;

enum ktype { KT_STRING, KT_LIST, KT_SET, KT_ZSET, KT_HASH, KT_STREAM, KT_OTHER, KT_COUNT };
/* Why a key SCAN returned was skipped: its TYPE answered an error. */
enum skip_reason { SK_NOPERM, SK_LOADING, SK_BUSY, SK_MOVED, SK_OTHER, SK_COUNT };
enum ttl_bucket { TTL_NONE, TTL_LT_1H, TTL_1H_1D, TTL_1D_7D, TTL_GT_7D, TTL_COUNT };

extern const char *const agg_ktype_names[KT_COUNT];
extern const char *const agg_ttl_bucket_names[TTL_COUNT];
extern const char *const agg_skip_reason_names[SK_COUNT];
/* The reason of an error reply ("NOPERM ...", "MOVED 3999 host:port", ...). */
enum skip_reason agg_skip_reason_of(const char *err);

/* ---- settings (read-only once the scan starts) ---- */

struct stream_rule {
	const char *name;      /* config name */
	const char *match;     /* glob over stream key names */
	long long maxlen;
	double tolerance;      /* entries, or percent of maxlen; NAN: stream-node-max-entries */
	bool tolerance_percent;
};

struct settings {
	/* connection */
	const char *username, *password;
	int db;
	double timeout_ms;
	bool replica;
	int jobs;
	/* redis.address_map: "from-host:port=to-host:port" rewrites of announced addresses */
	const char *const *address_map;
	size_t n_address_map;
	/* TLS (rediss://, --tls): verified against ca_file or the system store */
	bool tls;
	const char *ca_file, *cert, *key, *sni;
	struct ssl_ctx_st *tls_ctx;
	/* scan */
	long long count;
	long long samples;     /* MEMORY USAGE SAMPLES */
	const char *match;     /* SCAN MATCH, NULL = all */
	double rate;           /* keys/s over all nodes, 0 = unlimited */
	double pause_ms;
	long long max_keys;    /* 0 = all */
	double sample;         /* fraction of keys examined, 1 = all */
	bool lengths;
	bool hot;              /* --hot: OBJECT FREQ whatever the policy */
	bool idle;             /* --idle: OBJECT IDLETIME */
	bool encodings;        /* --encodings: OBJECT ENCODING of hashes, sets, zsets */
	bool no_scan;          /* --no-scan: server facts only */
	const char *listen;    /* --listen: exporter mode */
	const char *resume;    /* --resume token */
	/* aggregation */
	const char *delimiters;
	int depth;
	size_t prefix_max;
	size_t top;
	const char *const *expire_patterns;
	size_t n_expire_patterns;
	struct stream_rule *streams;
	size_t n_streams;
	/* thresholds */
	double big_warn, big_crit;           /* bytes, NAN = unset */
	double big_len_warn, big_len_crit;   /* elements (with --lengths) */
	double ttl_heuristic_pct;            /* share of a prefix with TTL */
	long long ttl_heuristic_min;         /* keys in the prefix before judging */
	bool require_maxmemory;
	double mass_expiry_pct;              /* share of memory expiring within the window; 0: off */
	double mass_expiry_window_ms;
	bool exact;                          /* the exact pass over the top keys */
	long long exact_max_elements;        /* keys with more elements keep their sampled size */
	long long leak_keys;                 /* keys in a prefix that make a key leak */
	const char *compare;                 /* --compare: a previous JSON report */
	/* consumer groups (streams.c) */
	const char *const *stream_watch;     /* audited in every mode, --no-scan too */
	size_t n_stream_watch;
	long long stream_groups_max;         /* streams whose groups are read per node */
	long long group_lag_warn;            /* entries not yet delivered */
	double consumer_idle_ms;             /* idle with pending entries: a dead worker */
	/* memory context (memctx.c) */
	double mem_used_warn_pct, mem_used_crit_pct;
	double frag_warn;                    /* mem_fragmentation_ratio */
	long long frag_min_bytes;            /* RSS over used_memory before it matters */
};

/* ---- aggregation ---- */

struct stats {
	u64 keys, memory, no_ttl;
	u64 types[KT_COUNT];
	u64 type_memory[KT_COUNT];
	u64 ttl[TTL_COUNT];
};

/* How a listed key's memory was measured. */
enum size_method { SZ_SAMPLED, SZ_EXACT, SZ_ESTIMATED, SZ_COUNT };
extern const char *const exact_method_names[SZ_COUNT];

struct key_entry {
	char *key;
	size_t len;
	u64 memory;
	long long length;      /* -1 = not measured */
	long long ttl_ms;      /* -1 = none */
	enum ktype type;
	int node;              /* index into the node list */
	long long freq;        /* OBJECT FREQ, -1 = not asked */
	enum size_method size_method;
};

/* A bounded min-heap of the largest entries by `memory` (or `length`). */
struct topn {
	struct key_entry *v;
	size_t n, max;
	bool by_length;
	bool by_freq;          /* the hot keys: by OBJECT FREQ */
};

struct prefix_entry {
	char *name;
	size_t len;
	uint64_t hash;
	struct stats st;
	char *example_no_ttl;  /* one key without TTL, for the message */
	size_t example_len;
};

struct prefix_table {
	struct prefix_entry *slots;   /* open addressing, name NULL = empty */
	size_t nslots, n, max;
	struct stats other;           /* keys of prefixes past the cap */
	u64 dropped_keys;
};

struct stream_hit {                   /* a stream over its configured MAXLEN */
	struct key_entry e;
	size_t rule;
};

struct pattern_hits {                 /* keys without TTL under an expire pattern */
	u64 keys;
	char *example;
	size_t example_len;
};

/* ---- keystats.c: fixed-size statistics, part of every aggregate ---- */

enum ttl_fine { TF_NONE, TF_LT_1M, TF_1M_5M, TF_5M_15M, TF_15M_1H, TF_1H_6H, TF_6H_1D, TF_1D_7D, TF_GT_7D,
		TF_COUNT };
extern const char *const keystats_ttl_names[TF_COUNT];

#define SIZE_BUCKETS (1 + 64 * 8)     /* 0, then 8 per power of two */
struct size_hist {
	u64 count[SIZE_BUCKETS];
	u64 n, min, max;
};

enum idle_bucket { IDLE_LT_1H, IDLE_1H_1D, IDLE_1D_7D, IDLE_GT_7D, IDLE_COUNT };

struct keystats {
	u64 ttl_keys[TF_COUNT], ttl_memory[TF_COUNT];
	u64 expiring_memory;          /* of keys expiring within settings.mass_expiry_window_ms */
	struct size_hist sizes[KT_COUNT];
	/* OBJECT FREQ / IDLETIME, when sent: keys answered, refused, and the first refusal */
	u64 freq_keys, freq_refused, idle_refused;
	char *freq_error, *idle_error;
	u64 idle_keys[IDLE_COUNT], idle_memory[IDLE_COUNT];
};

/* What a batch asks besides TYPE/MEMORY/PTTL, and what one key answered to it. */
struct access_cmds {
	bool freq, idle;
};
struct key_access {
	long long freq, idle_s;       /* -1: not asked or no answer */
	char *freq_error, *idle_error;
};
struct node;
struct agg;

void keystats_add(struct keystats *ks, const struct settings *s, enum ktype type, u64 memory, long long ttl_ms);
void keystats_merge(struct keystats *into, const struct keystats *from);
void keystats_free(struct keystats *ks);
void keystats_add_idle(struct keystats *ks, long long idle_s, u64 memory);
/* The size at or below which a share p of the keys lies (within 1/8 above). */
double keystats_size_percentile(const struct size_hist *h, double p);

/* ---- keyreport.c: showing and judging them ---- */
/* OBJECT FREQ under an LFU maxmemory-policy or with --hot; OBJECT IDLETIME with --idle;
 * neither once the node refused it. */
struct access_cmds keyreport_access_cmds(const struct node *n, const struct settings *s);
/* One key's answers (in the node's scan thread): hot keys, idle buckets, refusals. */
void keyreport_add_access(struct node *n, int idx, const char *key, size_t len, enum ktype type, u64 memory,
			 const struct key_access *ka);
/* Tool data "hot_keys" (or why there are none) and "idle_buckets" with --idle. */
void keyreport_output_access(struct report *r, const struct settings *s, const struct node *nodes, size_t nn,
			    const struct agg *a, double scale);
/* Tool data: "ttl_buckets" and "key_sizes" (a line and a table in text). */
void keyreport_output(struct report *r, const struct keystats *ks, double scale);
/* Checks mass-expiry, key-sizes, hot-keys and idle-keys. */
void keyreport_report(struct report *r, const struct settings *s, const struct agg *a, double scale);

/* Keys per module type name (types.c); past the cap they count in other_keys only. */
#define MODULE_TYPES_MAX 16
struct module_type {
	char name[40];
	u64 keys, memory;
};
struct module_types {
	struct module_type v[MODULE_TYPES_MAX];
	size_t n;
	u64 other_keys, other_memory;
};
void modtypes_add(struct module_types *m, const char *name, size_t len, u64 keys, u64 memory);
void modtypes_merge(struct module_types *into, const struct module_types *from);
/* JSON: module_types {NAME: {keys, memory_bytes}} and module_types_other_keys; text: a line. */
void modtypes_put(struct report *r, const struct module_types *m, double scale);

/* --encodings (encodings.c): per (prefix, type), counts by OBJECT ENCODING. */
#define ENCODING_PREFIXES_MAX 1000
enum { ENC_CONFIG_COUNT = 6 };
struct enc_entry {
	char *prefix;             /* NULL: an empty slot */
	size_t len;
	enum ktype type;
	u64 compact, outgrown, unknown;
};
struct encodings {
	struct enc_entry *slots;  /* open addressing, 2 x ENCODING_PREFIXES_MAX */
	size_t n;
	u64 dropped;              /* keys of prefixes past the cap */
	struct strbuf scratch;
	char *error;              /* OBJECT ENCODING refused */
	long long config[ENC_CONFIG_COUNT];   /* the node's deciding values, -1 unknown */
	char *config_error;
};

/* A bounded list of stream key names (streams.c). */
struct stream_names {
	char **keys;
	size_t *lens;
	size_t n;
	u64 dropped;                  /* streams past the cap: their groups are not read */
};

struct agg {
	struct stats total;
	u64 scanned;                  /* names SCAN returned */
	u64 examined;                 /* names sent TYPE/MEMORY/PTTL */
	u64 vanished;                 /* gone between SCAN and TYPE */
	u64 memory_refused;           /* keys whose MEMORY USAGE the server refused */
	char *memory_error;           /* the first refusal, for the message */
	u64 skipped[SK_COUNT];        /* keys whose TYPE answered an error, by reason */
	u64 redirected;               /* keys whose TYPE answered MOVED/ASK, read where they live now */
	char *skip_error;             /* the first SK_OTHER error */
	u64 big_warn, big_crit;       /* keys over the thresholds */
	struct prefix_table prefixes;
	struct topn top_all;
	struct topn top_type[KT_COUNT];
	struct topn top_len;          /* by element count, with --lengths */
	struct topn streams;          /* longest streams */
	struct stream_hit *stream_hits;
	size_t n_stream_hits;
	u64 stream_hits_dropped;
	struct pattern_hits *patterns; /* one per settings.expire_patterns */
	size_t n_patterns;
	struct strbuf scratch;        /* prefix of the current key */
	long long stream_node_max_entries; /* the node's, for stream rules without tolerance */
	struct keystats keystats;
	struct topn hot;              /* by OBJECT FREQ, when it was sent */
	struct stream_names stream_keys;   /* streams whose consumer groups are read (streams.c) */
	struct module_types modules;       /* the names of the KT_OTHER keys (types.c) */
	struct encodings encodings;        /* --encodings (encodings.c) */
};

#define STREAM_HITS_MAX 100

void agg_init(struct agg *a, const struct settings *s);
void agg_free(struct agg *a);
/* One examined key. ttl_ms: -1 none, else milliseconds left. length -1 = unknown. */
void agg_add_key(struct agg *a, const struct settings *s, int node, const char *key, size_t len,
		 enum ktype type, u64 memory, long long ttl_ms, long long length);
void agg_merge(struct agg *into, const struct agg *from, const struct settings *s);
void agg_topn_push(struct topn *t, const struct key_entry *e);
/* Sorted copy, largest first; caller frees the array (not the keys). */
struct key_entry *agg_topn_sorted(const struct topn *t);
/* Prefix entries sorted by memory, largest first; caller frees the array only. */
struct prefix_entry **agg_prefix_sorted(const struct prefix_table *pt);
enum ktype agg_ktype_parse(const char *s, size_t len);
/* The element-count command of a type (STRLEN, LLEN, ... XLEN), NULL for none. */
const char *agg_length_cmd(enum ktype t);
enum ttl_bucket agg_ttl_bucket_of(long long ttl_ms);

/* ---- prefix.c ---- */
/* Writes the prefix of key into out (reset first): "session:123" -> "session:*". Keys with
 * a single segment give "" (shown as "(no prefix)"). */
void prefix_of(const char *key, size_t len, const char *delimiters, int depth, struct strbuf *out);
/* Extra id segments (redis.id_patterns: POSIX extended regexes, each matching a whole
 * segment), before any scan starts. -1 with *bad (the index) and *why (caller frees). */
int prefix_set_id_patterns(const char *const *patterns, size_t n, size_t *bad, char **why);
void prefix_free_id_patterns(void);
/* Redis-style glob (*, ?, [a-z], [^x], \x) over bytes. */
bool prefix_glob_match(const char *pat, size_t plen, const char *s, size_t slen);
/* A key for check subjects and messages: control bytes as Unicode control pictures
 * (U+2400..), cut at 200 bytes (caller frees). */
char *prefix_key_display(const char *key, size_t len);

/* ---- nodes and connections (conn.c) ---- */

struct node {
	char *host;            /* NULL for a unix socket */
	int port;
	char *path;            /* unix socket */
	char *label;           /* "host:port" or the path */
	char *id;              /* cluster node id, NULL standalone */
	const char *role;      /* "standalone", "primary", "replica" */
	char *primary_label;   /* for a replica: the primary it stands for */
	char *facts_from;      /* where KEYS callers and maxmemory were read (replica.c), or NULL */
	redisContext *c;
	void *tls;             /* the TLS relay under c (tls.c), or NULL */
	char version[32];      /* the real server's: valkey_version on Valkey */
	int version_num;       /* major*10000 + minor*100 + patch, of that version */
	const char *server;    /* "redis" or "valkey" */
	char *replica_problem; /* a replica whose link is down or still syncing, or NULL */
	bool reports_replica;  /* INFO replication says role:slave */
	long long dbsize;
	/* scan state */
	char cursor[24];       /* next SCAN cursor, "0" at start */
	bool connected, started, complete, skipped;
	char *error;
	struct agg agg;
	/* server facts for findings */
	long long maxmemory;
	char maxmemory_policy[32];
	long long stream_node_max_entries;
	bool config_refused;   /* CONFIG GET answered an error: stream_node_max_entries assumed */
	/* INFO keyspace says no key of the database has a TTL: PTTL is skipped, and each batch
	 * carries an INFO keyspace instead, so a TTL set mid-scan brings PTTL back (scan.c). */
	bool ttl_free;
	/* MEMORY USAGE refused (renamed, ACL): later batches do not send it, and element
	 * counts are read instead (scan.c) */
	bool no_memory;
	bool no_freq, no_idle; /* OBJECT FREQ / IDLETIME refused: no longer sent */
};

/* Server name, version and replica state from an INFO text (unit-tested through a fake
 * server: Valkey says redis_version 7.2.4 and valkey_version 8.0.1). */
void conn_info_server_facts(struct node *n, const char *info);
/* Keys with a TTL in database db according to an INFO (keyspace) text; -1 if not said. */
long long conn_info_db_expires(const char *info, int db);

struct target {
	char *host;
	int port;
	char *path;
	int db;
	char *username, *password;   /* owned */
	bool tls;                    /* rediss:// */
	char *display;               /* redacted form, for messages */
	/* sentinel:// : the Sentinels ("host:port") and the primary's name (sentinel.c) */
	char **sentinels;
	size_t n_sentinels;
	char *master_name;
};

/* Parses "redis://[user:pass@]host:port[/db]", "sentinel://[user:pass@]host:port[,host:port]/name"
 * or a path (contains '/'). Registers the
 * password with redact. Returns -1 with *err set (caller frees) on a malformed target. */
int conn_target_parse(const char *spec, struct target *t, char **err);
void conn_target_free(struct target *t);
/* "host:port", "[v6]:port" (caller frees). */
char *conn_addr_label(const char *host, int port);
/*
 * The one parser of an address, s[0..n): "host:port", "[v6]:port", or the bare "v6:port"
 * that CLUSTER NODES and MOVED print (the port is after the last colon). With default_port
 * 0 the port is required; else it may be left out ("host", "[v6]") and a bare IPv6 address,
 * then ambiguous, is refused. The port is decimal, 1..65535. The host has no bracket (so
 * conn_addr_label's output always reads back) and may be empty: what that means is the
 * caller's. 0 with *a pointing into s, or -1 if malformed.
 */
struct addr_span {
	const char *host;
	size_t host_len;
	int port;
};
int conn_addr_split(const char *s, size_t n, int default_port, struct addr_span *a);
/* A whole address with its host and port (one of our labels, an address_map side): 0 with
 * *host (caller frees) and *port, or -1. */
int conn_addr_parse(const char *s, size_t n, char **host, int *port);
/* The address to dial for an announced host:port: its redis.address_map entry, else
 * itself. *out_host is the caller's to free. */
void conn_map_address(const struct settings *s, const char *host, int port, char **out_host, int *out_port);
/* Whether an address_map entry is "host:port=host:port"; else *why (caller frees). */
bool conn_address_map_entry_ok(const char *entry, char **why);
/* Connects, AUTHs, READONLY (a replica), SELECTs; no server facts. -1 with node->error. */
int conn_node_open(struct node *n, const struct settings *s);
/* Connects, AUTHs, SELECTs, reads server facts. -1 with node->error on failure. */
int conn_node_connect(struct node *n, const struct settings *s);
void conn_node_free(struct node *n);
/* On a cluster, replaces the single seed node by the primaries (or one replica each with
 * --replica). Returns the node count, or -1 with *err set. */
int conn_cluster_discover(struct node **nodes, size_t *n, const struct settings *s, char **err);
/* The value after name in a flat field/value array reply (RESP2's map: CLUSTER SHARDS,
 * SENTINEL REPLICAS entries, XINFO), or NULL; conn_reply_str: that value when a string. */
const redisReply *conn_reply_field(const redisReply *flat, const char *name);
const char *conn_reply_str(const redisReply *flat, const char *name);
/* The value of "field:" in an INFO text (up to its line end), or NULL. */
const char *conn_info_value(const char *info, const char *field);
/* Whether a CLUSTER NODES flags field ("myself,master") holds flag. */
bool conn_has_flag(const char *flags, const char *flag);
/* Flags that make a node unusable: fail, fail? or noaddr. */
bool conn_flags_unhealthy(const char *flags);
/* A command with a reply check: NULL on a connection error or an error reply (sets
 * node->error when the connection broke). */
redisReply *conn_node_command(struct node *n, const char *fmt, ...);
/* "CMD [SUB] key [SAMPLES samples]" as an argv: a key of any bytes (it may hold spaces or
 * NULs, which a format string would cut). sub and samples may be NULL. */
struct key_argv {
	const char *argv[5];
	size_t len[5];
	int argc;
};
void conn_key_argv(struct key_argv *a, const char *cmd, const char *sub, const char *key, size_t len,
		   const char *samples);

/* ---- slots.c ---- */

#define CLUSTER_SLOTS 16384

struct slot_owner {
	char *id, *addr;
	bool healthy;          /* not flagged fail, fail? or noaddr */
};

struct slot_map {              /* the cluster's slots as CLUSTER NODES said at one moment */
	uint16_t owner[CLUSTER_SLOTS];     /* 1-based index into owners, 0 = unassigned */
	bool migrating[CLUSTER_SLOTS];     /* MIGRATING/IMPORTING on a node we asked */
	struct slot_owner *owners;
	size_t n_owners;
	bool valid;
};

struct slot_coverage {
	int uncovered;         /* no healthy primary, before or after the scan */
	int migrating;         /* changed owner during the scan, or migrating/importing */
	char *failed_nodes;    /* unhealthy primaries that own slots, or NULL (owned) */
};

/* The slot map, owners from the first connected node, MIGRATING/IMPORTING slots from each
 * connected node's own line. -1 when no node answered CLUSTER NODES. */
int slots_read(struct slot_map *m, struct node *nodes, size_t nn);
void slots_free(struct slot_map *m);
/* What changed or was unserved between two maps of the same scan. */
void slots_compare(const struct slot_map *before, const struct slot_map *after, struct slot_coverage *out);

/* ---- tls.c ---- */
struct ssl_ctx_st;
/* The client context: TLS 1.2+, peer verified against s->ca_file (else the system store),
 * s->cert/s->key as client certificate. NULL with *err set. */
struct ssl_ctx_st *tls_context(const struct settings *s, char **err);
/* TCP connect and TLS handshake within timeout_ms, certificate checked for sni (else host:
 * a name, or an IP address); then a relay thread. *fd_out is the plaintext end for
 * redisConnectFd(). NULL with *err set. */
void *tls_connect(struct ssl_ctx_st *ctx, const char *host, int port, const char *sni, double timeout_ms,
		  int *fd_out, char **err);
/* After redisFree(): ends the relay and frees the connection. */
void tls_close(void *conn);

/* ---- scan.c ---- */

/* Set by the SIGINT/SIGTERM handler, read by every --jobs thread: a volatile sig_atomic_t
 * only speaks for the thread the handler interrupted, a lock-free atomic for all of them
 * (and is as safe to set in a handler). */
extern atomic_bool scan_stop;
_Static_assert(ATOMIC_BOOL_LOCK_FREE == 2, "scan_stop is set in a signal handler");

/* Scans every node, at most s->jobs at a time. Progress is drawn against total_keys. */
void scan_all(struct node *nodes, size_t n, const struct settings *s, unsigned long long total_keys);
/* Whether --max-keys stopped the scan (not an error). */
bool scan_limit_reached(void);

/* ---- redirect.c ---- */

#define REDIRECT_CONNS_MAX 4   /* other nodes a scanning thread keeps a connection to */
#define REDIRECT_HOPS_MAX 3    /* MOVED/ASK redirects followed per key */

struct redirect_conns {        /* one per scanning thread (hiredis contexts are not shared) */
	struct node v[REDIRECT_CONNS_MAX];
	size_t n, next_evict;
};

struct followed_key {          /* a key read on the node a redirect named */
	enum ktype type;
	char type_name[40];    /* TYPE's answer for KT_OTHER: a module's type name */
	bool vanished, memory_refused;
	u64 memory;
	long long ttl_ms, length;
	const char *where;     /* that node's label, valid until the next redirect_follow() */
};

/* Follows err ("MOVED slot host:port", "ASK slot host:port", as a key's TYPE answered on
 * from): reads the key where it lives. 0 with *out filled; -1 when it could not be read
 * there (TRYAGAIN, hops exhausted, node unreachable, another error). */
int redirect_follow(struct redirect_conns *rc, const struct settings *s, const struct node *from,
		    const char *err, const char *key, size_t len, bool with_memory, struct followed_key *out);
void redirect_conns_free(struct redirect_conns *rc);

/* ---- findings.c ---- */
/* Server-side observations taken before the scan (SLOWLOG fills with our own commands). */
struct keys_caller {
	char *node, *addr, *name, *source, *detail;
	long long calls;
};
struct caller_list {
	struct keys_caller *v;
	size_t n;
	long long commandstat_calls;
	char *unreadable;      /* what the server refused to show, for the message */
};
void findings_collect_callers(struct node *n, struct caller_list *out);
void findings_callers_free(struct caller_list *l);
void findings_report(struct report *r, const struct settings *s, struct node *nodes, size_t nn,
		     const struct agg *total, const struct caller_list *callers);
/* The checks that need no scan: KEYS callers and maxmemory (--no-scan, exporter mode). */
void findings_report_server(struct report *r, const struct settings *s, struct node *nodes, size_t nn,
			    const struct caller_list *callers);

/* ---- exact.c ---- */
/* After the scan: MEMORY USAGE ... SAMPLES 0 for the keys of the top tables, except those
 * with more than settings.exact_max_elements elements (marked SZ_ESTIMATED). */
void exact_pass(struct node *nodes, size_t nn, const struct settings *s, struct agg *total);

/* ---- leaks.c ---- */
/* key-leak: prefixes over settings.leak_keys keys of which almost none expire, with their
 * growth since the --compare report. */
void leaks_report(struct report *r, const struct settings *s, const struct agg *a, double scale);
/* ---- streams.c ---- */

struct xconsumer_worst {      /* the longest idle consumer that holds pending entries */
	char *name;
	long long idle_ms, pending;
};

struct xgroup {
	char *name;
	long long consumers, pending;
	long long entries_read;   /* -1: the server does not know (nil) */
	long long lag;            /* entries after last-delivered-id still in the stream; -1 unknown */
	long long lost;           /* entries removed before the group read them; -1: some, count unknown */
	char last_delivered[48];
	struct xconsumer_worst idle;
	char *consumers_error;    /* XINFO CONSUMERS refused */
};

struct xstream {
	int node;
	char *key;
	size_t len;
	long long length, entries_added;
	char first_id[48], last_id[48], max_deleted[48];
	struct xgroup *groups;
	size_t ngroups;
	char *error;              /* XINFO refused (ACL, renamed), or the watched stream is missing */
	bool missing;
};

struct stream_audit {
	struct xstream *v;
	size_t n;
	u64 not_read;             /* streams past the cap */
	bool ran;
};

/* XINFO STREAM / GROUPS / CONSUMERS of the streams the scan saw and of the watched ones. */
void streams_audit(struct node *nodes, size_t nn, const struct settings *s, struct stream_audit *out);
void streams_audit_free(struct stream_audit *sa);
void streams_report(struct report *r, const struct settings *s, struct node *nodes,
		    const struct stream_audit *sa);
/* "1700000000000-5" -> (ms, seq); -1 when malformed. Compare: <0, 0, >0. */
int streams_id_parse(const char *id, u64 *ms, u64 *seq);
int streams_id_cmp(const char *a, const char *b);

/* ---- encodings.c ---- */
bool encodings_judged(enum ktype t);
void encodings_note(struct encodings *e, const struct settings *s, const char *key, size_t len,
		    enum ktype t, const char *enc);
void encodings_merge(struct encodings *into, const struct encodings *from);
void encodings_free(struct encodings *e);
/* CONFIG GET of the values that decide the encodings, into e->config. */
void encodings_read_config(struct node *n, struct encodings *e);
void encodings_report(struct report *r, const struct settings *s, struct node *nodes, size_t nn,
		      const struct encodings *total);

/* ---- schedule.c ---- */
/* Runs the full audit of a configured target, its Prometheus text to stdout; returns (or
 * exits with) its exit code. Called in a child process. */
typedef int (*schedule_scan_fn)(void *ctx, const char *target);
struct scan_schedule {
	const char *state_dir;        /* redis.exporter.state_dir, or own_dir */
	char *own_dir;                /* a temporary directory of ours, removed at the end */
	const char *const *names;     /* targets */
	double *interval_ms;          /* per target; 0: never scanned in full */
	size_t n;
	pid_t pid;                    /* the scheduler process */
};
/* Starts the scheduler process. -1 with *err set (caller frees). */
int schedule_start(struct scan_schedule *sch, schedule_scan_fn fn, void *ctx, char **err);
/* Stops it (and a scan in progress); removes own_dir. */
void schedule_stop(struct scan_schedule *sch);
/* The last result of a target (renamed opskit_redis_scan_*), opskit_redis_scan_age_seconds,
 * _running and _interval_seconds, for a scrape. */
void schedule_put(FILE *out, const char *state_dir, const char *name, double interval_ms);

/* ---- memctx.c ---- */
struct memctx {
	bool read;                /* INFO memory answered */
	char *error;
	long long used, rss, peak, dataset, overhead, startup;
	long long maxmemory;
	char policy[32];
	double frag_ratio;
	long long clients_normal, clients_replicas, repl_backlog, aof_buffer;
	long long evicted_keys, expired_keys;
};
void memctx_collect(struct node *n, struct memctx *m);
void memctx_free(struct memctx *m);
/* The table and checks; keys_total is the scan's MEMORY USAGE sum, or NULL with --no-scan. */
void memctx_report(struct report *r, const struct settings *s, struct node *nodes, size_t nn,
		   const struct memctx *m, const struct agg *keys_total, double scale);
/* ---- sentinel.c ---- */
struct sentinel_answer {
	char *primary_host;
	int primary_port;
	char *replica_host;    /* with --replica: a healthy replica, or NULL */
	int replica_port;
	char *sentinel;        /* the Sentinel that answered ("host:port") */
};
/* Asks t's Sentinels in order for t->master_name's primary (and with s->replica a healthy
 * replica), over s's TLS settings with sentinel_password (may be NULL). 0 with *res
 * filled, else -1 with *err (caller frees) saying what each Sentinel answered. */
int sentinel_resolve(const struct target *t, const struct settings *s, const char *sentinel_password,
		     struct sentinel_answer *res, char **err);
void sentinel_answer_free(struct sentinel_answer *res);

/* ---- replica.c ---- */
/* --replica on a standalone primary: the first replica INFO replication lists online.
 * 0 with *host (caller frees) and *port set; -1 when there is none. */
int replica_find_online(struct node *primary, char **host, int *port);
/* For a scanned replica (primary_label set): KEYS callers into callers and maxmemory into
 * n, read from its primary (from n itself when the primary cannot be reached); sets
 * n->facts_from. */
void replica_primary_facts(struct node *n, const struct settings *s, struct caller_list *callers);

/* ---- output.c ---- */
void output_report(struct report *r, const struct settings *s, struct node *nodes, size_t nn,
		   const struct agg *total, const struct caller_list *callers, double scale);

#endif
