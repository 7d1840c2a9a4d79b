/* Manifests: read with jansson for their references only; the bytes are kept exactly as
 * fetched, since re-serializing would change the digest. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "promote.h"

bool manifest_type_is_index(const char *mt)
{
	return mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST));
}

bool manifest_type_is_image(const char *mt)
{
	return mt && (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_V2));
}

char *manifest_sha256(const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	char *out = xmalloc(7 + 2 * mdlen + 1);
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return out;
}

char *manifest_digest_mismatch(EVP_MD_CTX *md, const char *digest)
{
	unsigned char sum[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_DigestFinal_ex(md, sum, &len);
	char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
	for (unsigned i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", sum[i]);
	if (!strcmp(hex, digest + 7))
		return NULL;
	return xasprintf("the source's bytes for %s hash to sha256:%s", digest, hex);
}

static int read_descriptor(json_t *j, struct descriptor *d, const char *where, char **err)
{
	const char *digest = json_string_value(json_object_get(j, "digest"));
	json_t *size = json_object_get(j, "size");
	if (!ref_digest_valid(digest) || !json_is_integer(size) || json_integer_value(size) < 0) {
		*err = xasprintf("%s has a descriptor without a sha256 digest and a size", where);
		return -1;
	}
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	d->media_type = xstrdup(mt ? mt : "");
	d->digest = xstrdup(digest);
	d->size = json_integer_value(size);
	return 0;
}

static int read_descriptors(json_t *arr, struct descriptor **out, size_t *n, const char *where, char **err)
{
	size_t count = json_array_size(arr), i;
	json_t *item;
	*out = xcalloc(count + 1, sizeof(**out));
	*n = 0;
	json_array_foreach(arr, i, item) {
		if (read_descriptor(item, &(*out)[*n], where, err))
			return -1;
		(*n)++;
	}
	return 0;
}

/* The media type: the Content-Type served without its parameters ("; charset=utf-8"),
 * unless it is generic (application/json, text/plain, application/octet-stream, as
 * proxies and Artifactory serve them); then the manifest's own mediaType. Caller frees. */
static char *choose_media_type(const char *content_type, json_t *doc)
{
	const char *declared = json_string_value(json_object_get(doc, "mediaType"));
	char *served = content_type ? xstrndup(content_type, strcspn(content_type, "; \t")) : NULL;
	if (served && *served && strcasecmp(served, "application/json") && strcasecmp(served, "text/plain") &&
	    strcasecmp(served, "application/octet-stream") && strcasecmp(served, "binary/octet-stream"))
		return served;
	free(served);
	if (declared)
		return xstrdup(declared);
	return xstrdup(json_object_get(doc, "manifests") ? MT_OCI_INDEX : MT_OCI_MANIFEST);
}

int manifest_parse(struct strbuf *bytes, const char *content_type, struct manifest *m, char **err)
{
	memset(m, 0, sizeof(*m));
	m->bytes = *bytes;
	memset(bytes, 0, sizeof(*bytes));
	m->digest = manifest_sha256(m->bytes.buf ? m->bytes.buf : "", m->bytes.len);
	json_error_t jerr;
	json_t *doc = json_loadb(m->bytes.buf ? m->bytes.buf : "", m->bytes.len, 0, &jerr);
	if (!json_is_object(doc)) {
		*err = xasprintf("the manifest %s is not JSON: %s", m->digest, jerr.text);
		json_decref(doc);
		return -1;
	}
	int rc = -1;
	json_t *schema = json_object_get(doc, "schemaVersion");
	m->media_type = choose_media_type(content_type, doc);
	const char *mt = m->media_type;
	if (json_integer_value(schema) == 1 || strstr(mt, "distribution.manifest.v1")) {
		*err = xasprintf("the manifest %s is Docker schema 1, which is deprecated and cannot be promoted "
				 "by digest; rebuild or push the image with a current client", m->digest);
		goto out;
	}
	if (manifest_type_is_index(mt)) {
		m->is_index = true;
		if (read_descriptors(json_object_get(doc, "manifests"), &m->children, &m->nchildren, "the index", err))
			goto out;
	} else if (manifest_type_is_image(mt) || json_object_get(doc, "config")) {
		json_t *config = json_object_get(doc, "config");
		json_t *layers = json_object_get(doc, "layers");
		size_t nl = json_array_size(layers);
		m->blobs = xcalloc(nl + 2, sizeof(*m->blobs));
		if (read_descriptor(config, &m->blobs[0], "the manifest's config", err))
			goto out;
		m->nblobs = 1;
		size_t i;
		json_t *l;
		json_array_foreach(layers, i, l) {
			if (read_descriptor(l, &m->blobs[m->nblobs], "a layer", err))
				goto out;
			m->nblobs++;
		}
	} else {
		*err = xasprintf("the manifest %s has the media type \"%s\", which ops-promote does not know", m->digest, mt);
		goto out;
	}
	json_t *annotations = json_object_get(doc, "annotations");
	if (json_is_object(annotations))
		m->annotations = json_incref(annotations);
	const char *rev = json_string_value(json_object_get(annotations, "org.opencontainers.image.revision"));
	if (rev)
		m->revision = xstrdup(rev);
	const char *subject = json_string_value(json_object_get(json_object_get(doc, "subject"), "digest"));
	if (subject)
		m->subject = xstrdup(subject);
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

const char *manifest_annotation(const struct manifest *m, const char *key)
{
	return json_string_value(json_object_get(m->annotations, key));
}

static void release_descriptors(struct descriptor *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d[i].media_type);
		free(d[i].digest);
	}
	free(d);
}

void manifest_release(struct manifest *m)
{
	free(m->digest);
	free(m->media_type);
	sb_release(&m->bytes);
	release_descriptors(m->children, m->nchildren);
	release_descriptors(m->blobs, m->nblobs);
	free(m->revision);
	free(m->subject);
	json_decref(m->annotations);
	memset(m, 0, sizeof(*m));
}
