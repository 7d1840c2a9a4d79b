/*
 * Sentinel discovery for sentinel:// targets: the Sentinels are asked in order until one
 * names the primary (SENTINEL GET-MASTER-ADDR-BY-NAME) and, with --replica, a healthy
 * replica (SENTINEL REPLICAS: no s_down/o_down/disconnected flag, master-link-status ok).
 * Sentinel's own password (sentinel_password) is a secret like the others: registered with
 * redact by the caller, never printed.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

static bool replica_healthy(const redisReply *e)
{
	const char *flags = conn_reply_str(e, "flags"), *link = conn_reply_str(e, "master-link-status");
	return flags && link && !strcmp(link, "ok") && !conn_has_flag(flags, "s_down") &&
	       !conn_has_flag(flags, "o_down") && !conn_has_flag(flags, "disconnected");
}

static bool addr_of(const char *ip, const char *port, char **host, int *portnum)
{
	long long p;
	if (!ip || !port || !*ip || parse_ll(port, &p) || p < 1 || p > 65535)
		return false;
	*host = xstrdup(ip);
	*portnum = (int)p;
	return true;
}

/* The first healthy replica this Sentinel knows of, into res->replica_*. */
static void ask_replica(struct node *sn, const char *name, struct sentinel_answer *res)
{
	redisReply *r = conn_node_command(sn, "SENTINEL REPLICAS %s", name);
	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && !res->replica_host; i++)
		if (replica_healthy(r->element[i]))
			addr_of(conn_reply_str(r->element[i], "ip"), conn_reply_str(r->element[i], "port"),
				&res->replica_host, &res->replica_port);
	if (r)
		freeReplyObject(r);
}

/* One Sentinel: 0 when it named the primary. */
static int ask_sentinel(struct node *sn, const char *name, bool want_replica, struct sentinel_answer *res,
			struct strbuf *why)
{
	redisReply *r = redisCommand(sn->c, "SENTINEL GET-MASTER-ADDR-BY-NAME %s", name);
	bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		  r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING &&
		  addr_of(r->element[0]->str, r->element[1]->str, &res->primary_host, &res->primary_port);
	if (!ok)   /* the server's error says why (NOAUTH: sentinel_password) */
		sb_addf(why, "%s%s: %s", why->len ? "; " : "", sn->label,
			!r ? sn->c->errstr : r->type == REDIS_REPLY_ERROR ? r->str
			: r->type == REDIS_REPLY_NIL ? "no primary of that name" : "unexpected reply");
	if (r)
		freeReplyObject(r);
	if (!ok)
		return -1;
	res->sentinel = xstrdup(sn->label);
	if (want_replica)
		ask_replica(sn, name, res);
	return 0;
}

int sentinel_resolve(const struct target *t, const struct settings *s, const char *sentinel_password,
		     struct sentinel_answer *res, char **err)
{
	memset(res, 0, sizeof(*res));
	struct settings ss = *s;   /* Sentinel has its own password and no database */
	ss.username = NULL;
	ss.password = sentinel_password;
	ss.db = 0;
	struct strbuf why = STRBUF_INIT;
	int rc = -1;
	for (size_t i = 0; i < t->n_sentinels && rc; i++) {
		struct node sn = { .label = xstrdup(t->sentinels[i]) };
		if (conn_addr_parse(sn.label, strlen(sn.label), &sn.host, &sn.port)) {
			conn_node_free(&sn);
			continue;
		}
		if (conn_node_open(&sn, &ss))
			sb_addf(&why, "%s%s", why.len ? "; " : "", sn.error);
		else
			rc = ask_sentinel(&sn, t->master_name, s->replica, res, &why);
		conn_node_free(&sn);
	}
	if (rc)
		*err = xasprintf("no Sentinel named the primary \"%s\": %s", t->master_name, sb_str(&why));
	sb_release(&why);
	return rc;
}

void sentinel_answer_free(struct sentinel_answer *res)
{
	free(res->primary_host);
	free(res->replica_host);
	free(res->sentinel);
	memset(res, 0, sizeof(*res));
}
