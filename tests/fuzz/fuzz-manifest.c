/*
 * libFuzzer target for ops-promote's manifest parser, manifest_parse(): OCI and Docker
 * v2 image manifests, OCI indexes and Docker manifest lists, OCI artifacts (subject,
 * annotations), schema 1 and unknown types (refused). The first byte picks the
 * Content-Type served with the bytes (or none: mediaType decides). Invariants besides
 * ASan/UBSan: success and *err are exclusive; the digest is the sha256 of the bytes;
 * an index has no blobs and an image no children; every descriptor has a digest.
 * FUZZ_TOOL: ops-promote
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "promote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const char *const types[] = { "", MT_OCI_INDEX, MT_OCI_MANIFEST, MT_DOCKER_LIST, MT_DOCKER_V2,
					     "application/vnd.docker.distribution.manifest.v1+prettyjws",
					     "application/json", "text/html; charset=utf-8" };
	const char *ct = types[data[0] % (sizeof(types) / sizeof(*types))];
	struct strbuf bytes = STRBUF_INIT;
	sb_add(&bytes, data + 1, size - 1);
	struct manifest m;
	memset(&m, 0, sizeof(m));
	char *err = NULL;
	int rc = manifest_parse(&bytes, ct, &m, &err);
	if ((rc == 0) == (err != NULL))
		abort();
	if (rc == 0) {
		char *d = manifest_sha256(data + 1, size - 1);
		if (!m.digest || strcmp(d, m.digest))
			abort();
		free(d);
		if (m.is_index ? m.nblobs != 0 : m.nchildren != 0)
			abort();
		for (size_t i = 0; i < m.nchildren; i++)
			if (!m.children[i].digest)
				abort();
		for (size_t i = 0; i < m.nblobs; i++)
			if (!m.blobs[i].digest)
				abort();
		(void)manifest_annotation(&m, "org.opencontainers.image.revision");
	}
	manifest_release(&m);
	sb_release(&bytes);
	free(err);
	return 0;
}
