/*
 * Scanning on replicas. --replica on a standalone primary picks an online replica from
 * INFO replication; on a cluster conn.c picks one per primary. Either way the key space is
 * read on the replica, but KEYS callers (clients talk to the primary) and maxmemory (the
 * primary's setting is the one that evicts) are read from the primary the replica stands
 * for, and the report names that primary.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "redisaudit.h"
#include "util.h"

/* "slave0:ip=127.0.0.1,port=6380,state=online,offset=..,lag=0" -> host, port when online. */
static bool parse_replica_line(const char *line, char **host, int *port)
{
	const char *ip = strstr(line, "ip="), *po = strstr(line, ",port="), *st = strstr(line, ",state=");
	if (!ip || !po || !st || po < ip)
		return false;
	if (strncmp(st + 7, "online", 6) || (st[13] != ',' && st[13] != '\r' && st[13] != '\n' && st[13]))
		return false;
	long long p;
	char *portstr = xstrndup(po + 6, strcspn(po + 6, ",\r\n"));
	bool bad = parse_ll(portstr, &p) || p < 1 || p > 65535;
	free(portstr);
	if (bad)
		return false;
	*host = xstrndup(ip + 3, (size_t)(po - ip - 3));
	*port = (int)p;
	return true;
}

int replica_find_online(struct node *primary, char **host, int *port)
{
	redisReply *r = conn_node_command(primary, "INFO replication");
	if (!r || r->type != REDIS_REPLY_STRING) {
		if (r)
			freeReplyObject(r);
		return -1;
	}
	int rc = -1;
	for (const char *p = r->str; p && *p && rc; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, "slave", 5) && p[5] >= '0' && p[5] <= '9' && parse_replica_line(p, host, port))
			rc = 0;
	freeReplyObject(r);
	return rc;
}

void replica_primary_facts(struct node *n, const struct settings *s, struct caller_list *callers)
{
	char *host = NULL;
	int port;
	int bad = conn_addr_parse(n->primary_label, strlen(n->primary_label), &host, &port);
	struct node p = { .role = NULL };
	if (!bad) {
		conn_map_address(s, host, port, &p.host, &p.port);
		p.label = xstrdup(n->primary_label);
	}
	free(host);
	if (bad || conn_node_connect(&p, s)) {
		/* the primary is out of reach: the replica's own view beats none */
		n->facts_from = xstrdup(n->label);
		findings_collect_callers(n, callers);
		conn_node_free(&p);
		return;
	}
	findings_collect_callers(&p, callers);
	n->maxmemory = p.maxmemory;
	memcpy(n->maxmemory_policy, p.maxmemory_policy, sizeof(n->maxmemory_policy));
	n->facts_from = xstrdup(p.label);
	conn_node_free(&p);
}
