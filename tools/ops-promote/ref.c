/* Image references, after the distribution reference grammar (simplified: one digest
 * algorithm, sha256, since that is what registries serve). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "promote.h"

bool ref_digest_valid(const char *digest)
{
	if (!digest || !str_starts_with(digest, "sha256:") || strlen(digest) != 7 + 64)
		return false;
	for (const char *p = digest + 7; *p; p++)
		if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
			return false;
	return true;
}

static bool repo_valid(const char *repo)
{
	if (!*repo || *repo == '/' || str_ends_with(repo, "/") || strstr(repo, "//"))
		return false;
	for (const char *p = repo; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr("._/-", *p)))
			return false;
	return true;
}

static bool tag_valid(const char *tag)
{
	size_t n = strlen(tag);
	if (n == 0 || n > 128 || tag[0] == '.' || tag[0] == '-')
		return false;
	for (const char *p = tag; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr("._-", *p)))
			return false;
	return true;
}

/* The first path component names a registry when it looks like a host. */
static bool looks_like_host(const char *s, size_t n)
{
	if (n == 9 && !strncmp(s, "localhost", 9))
		return true;
	return memchr(s, '.', n) || memchr(s, ':', n) || memchr(s, '[', n);
}

/* "user:password@host/..." or "https://...": credentials (or a URL) where a reference
 * belongs. Such text is never echoed back, since it may hold a password. */
static bool has_userinfo_or_scheme(const char *text)
{
	const char *slash = strchr(text, '/');
	const char *at = strchr(text, '@');
	return strstr(text, "://") || (at && slash && at < slash);
}

static bool host_valid(const char *host)
{
	for (const char *p = host; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr(".-:[]", *p)))
			return false;
	return *host != '\0';
}

int ref_parse(const char *text, struct image_ref *out, char **err)
{
	memset(out, 0, sizeof(*out));
	if (has_userinfo_or_scheme(text)) {
		*err = xstrdup("an image reference is host/repository:tag, without a scheme or credentials: "
			       "give credentials with --src-creds/--dest-creds, the config or docker login");
		return -1;
	}
	char *work = xstrdup(text);
	char *at = strchr(work, '@');
	if (at) {
		*at = '\0';
		if (!ref_digest_valid(at + 1)) {
			/* an '@' before no digest may end credentials ("//user:pass@host/app",
			 * "user:pass@host:5000", "user:pass@sha256:..."): only what follows it is
			 * echoed */
			*err = str_starts_with(at + 1, "sha256:")
				? xasprintf("the digest \"%s\" must be sha256: and 64 lowercase hex digits", at + 1)
				: xstrdup("an image reference is host/repository[:tag][@sha256:digest], and no digest "
					  "follows its '@': give credentials with --src-creds/--dest-creds, the config or "
					  "docker login");
			goto fail;
		}
		out->digest = xstrdup(at + 1);
	}
	char *name = work;
	char *slash = strchr(work, '/');
	if (slash && looks_like_host(work, (size_t)(slash - work))) {
		out->registry = xstrndup(work, (size_t)(slash - work));
		name = slash + 1;
		if (!host_valid(out->registry)) {
			*err = xasprintf("\"%s\": \"%s\" is not a valid registry host[:port]", text, out->registry);
			goto fail;
		}
	} else {
		out->registry = xstrdup("docker.io");
	}
	char *colon = strrchr(name, ':');
	if (colon && !strchr(colon, '/')) {
		*colon = '\0';
		if (!tag_valid(colon + 1)) {
			*err = xasprintf("\"%s\": \"%s\" is not a valid tag", text, colon + 1);
			goto fail;
		}
		out->tag = xstrdup(colon + 1);
	}
	if (!repo_valid(name)) {
		*err = xasprintf("\"%s\": \"%s\" is not a valid repository name (lowercase letters, digits, . _ - /)",
				 text, name);
		goto fail;
	}
	if (!strcmp(out->registry, "docker.io") && !strchr(name, '/'))
		out->repo = xasprintf("library/%s", name);
	else
		out->repo = xstrdup(name);
	if (!out->tag && !out->digest)
		out->tag = xstrdup("latest");
	free(work);
	return 0;
fail:
	free(work);
	ref_release(out);
	return -1;
}

void ref_release(struct image_ref *ref)
{
	free(ref->registry);
	free(ref->repo);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof(*ref));
}

char *ref_string(const struct image_ref *ref)
{
	if (ref->tag)
		return xasprintf("%s/%s:%s", ref->registry, ref->repo, ref->tag);
	return xasprintf("%s/%s@%s", ref->registry, ref->repo, ref->digest);
}
