/*
 * libFuzzer target for the Redis text replies ops-redisaudit parses: INFO (server facts,
 * replica link, keyspace) and CLUSTER NODES (the static parse_nodes_line() and
 * pick_nodes() of conn.c, and the slot map of slots.c, reached by including them). The
 * first byte picks the parser and, for CLUSTER NODES, --replica. Invariants besides
 * ASan/UBSan: picked nodes have a host, a port > 0 and a role; every slot's owner is one
 * of the owners read; the version string stays NUL-terminated in its buffer.
 * FUZZ_TOOL: ops-redisaudit
 */
#include "../../tools/ops-redisaudit/conn.c"
#include "../../tools/ops-redisaudit/slots.c"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_nodes(char *text, bool replica)
{
	struct settings s;
	memset(&s, 0, sizeof(s));
	s.replica = replica;
	struct node *picked;
	size_t np;
	struct slot_map m;
	memset(&m, 0, sizeof(m));
	parse_nodes_text(&m, text, true);
	for (int slot = 0; slot < CLUSTER_SLOTS; slot++)
		if (m.owner[slot] > m.n_owners)
			abort();
	struct slot_coverage cov;
	slots_compare(&m, &m, &cov);
	if (cov.migrating < 0 || cov.uncovered < 0 || cov.uncovered > CLUSTER_SLOTS)
		abort();
	free(cov.failed_nodes);
	slots_free(&m);
	pick_cluster_nodes(text, NULL, &s, &picked, &np);
	for (size_t i = 0; i < np; i++) {
		if (!picked[i].host || picked[i].port <= 0 || !picked[i].role || !picked[i].label)
			abort();
		conn_node_free(&picked[i]);
	}
	free(picked);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1) {
		fuzz_nodes(text, data[0] & 2);
	} else {
		struct node n;
		memset(&n, 0, sizeof(n));
		conn_info_server_facts(&n, text);
		if (memchr(n.version, '\0', sizeof(n.version)) == NULL)
			abort();
		free(n.replica_problem);
		for (int db = 0; db < 16; db++)
			(void)conn_info_db_expires(text, db);
	}
	free(text);
	return 0;
}
