/* Promotion policy from opskit.yaml(5), section promote.environments: which source tags
 * may become an environment, which target tags only move with --force, and which
 * annotations the image must carry. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "promote.h"

static bool matches_any(const char *const *patterns, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(patterns[i], s, 0) == 0)
			return true;
	return false;
}

/* The environment a target tag belongs to: the first whose "tags" patterns match, or
 * (without "tags") whose name matches. */
static const char *environment_for(const struct config *cfg, const char *tag)
{
	const char *const *names;
	size_t n;
	if (!cfg_children(cfg, "promote.environments", &names, &n))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char *key = xasprintf("promote.environments.%s.tags", names[i]);
		const char *const *pats;
		size_t np;
		bool hit = cfg_list(cfg, key, &pats, &np) ? matches_any(pats, np, tag)
							  : fnmatch(names[i], tag, 0) == 0;
		free(key);
		if (hit)
			return names[i];
	}
	return NULL;
}

static void merge_list(const struct config *cfg, const char *path, const char ***out, size_t *n)
{
	const char *const *items;
	size_t k;
	if (!cfg_list(cfg, path, &items, &k))
		return;
	*out = xrealloc(*out, (*n + k + 1) * sizeof(**out));
	for (size_t i = 0; i < k; i++)
		(*out)[(*n)++] = items[i];
}

static const char *env_str(const struct config *cfg, const char *env, const char *key)
{
	const char *v = NULL;
	char *path = env ? xasprintf("promote.environments.%s.%s", env, key) : NULL;
	if (!path || !cfg_str(cfg, path, &v)) {
		char *global = xasprintf("promote.%s", key);
		if (!cfg_str(cfg, global, &v))
			v = NULL;
		free(global);
	}
	free(path);
	return v;
}

int policy_load(const struct config *cfg, const char *env, const char *target_tag,
		struct policy *out, char **err)
{
	memset(out, 0, sizeof(*out));
	if (env) {
		char *path = xasprintf("promote.environments.%s", env);
		const char *const *kids;
		size_t n;
		bool known = cfg_children(cfg, path, &kids, &n);
		free(path);
		if (!known) {
			*err = xasprintf("the environment \"%s\" is not defined under promote.environments in the config", env);
			return -1;
		}
	} else {
		env = environment_for(cfg, target_tag);
	}
	out->environment = env ? xstrdup(env) : NULL;
	merge_list(cfg, "promote.protected_tags", &out->protected_tags, &out->nprotected);
	merge_list(cfg, "promote.required_annotations", &out->required, &out->nrequired);
	if (env) {
		char *p = xasprintf("promote.environments.%s.allowed_sources", env);
		if (!cfg_list(cfg, p, &out->allowed_sources, &out->nallowed))
			out->allowed_sources = NULL;
		free(p);
		p = xasprintf("promote.environments.%s.protected_tags", env);
		merge_list(cfg, p, &out->protected_tags, &out->nprotected);
		free(p);
		p = xasprintf("promote.environments.%s.required_annotations", env);
		merge_list(cfg, p, &out->required, &out->nrequired);
		free(p);
	}
	out->require_ancestor = env_str(cfg, env, "require_ancestor");
	out->record_tag = env_str(cfg, env, "record_tag");
	return 0;
}

void policy_release(struct policy *pol)
{
	free(pol->environment);
	free(pol->protected_tags);
	free(pol->required);
	memset(pol, 0, sizeof(*pol));
}

static char *join(const char *const *items, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		sb_addf(&sb, "%s%s", i ? ", " : "", items[i]);
	return sb_detach(&sb);
}

int policy_check_source(const struct policy *pol, const char *source_tag, char **err)
{
	if (!pol->allowed_sources)
		return 0;
	if (source_tag && matches_any(pol->allowed_sources, pol->nallowed, source_tag))
		return 0;
	char *allowed = join(pol->allowed_sources, pol->nallowed);
	if (source_tag)
		*err = xasprintf("refusing: the source tag \"%s\" may not become %s (allowed source tags: %s)",
				 source_tag, pol->environment, allowed);
	else
		*err = xasprintf("refusing: %s only takes sources named by an allowed tag (%s), not a bare digest",
				 pol->environment, allowed);
	free(allowed);
	return -1;
}

int policy_check_protected(const struct policy *pol, const char *target_tag, const char *previous,
			   const char *digest, bool force, char **err)
{
	if (force || !previous || !strcmp(previous, digest))
		return 0;
	if (!matches_any(pol->protected_tags, pol->nprotected, target_tag))
		return 0;
	*err = xasprintf("refusing: the tag \"%s\" is protected and points at %s; moving it needs --force",
			 target_tag, previous);
	return -1;
}

int policy_check_required(const struct policy *pol, struct promotion *p, char **err)
{
	struct strbuf missing = STRBUF_INIT;
	for (size_t i = 0; i < pol->nrequired; i++)
		if (!promote_has_label(p, pol->required[i]))
			sb_addf(&missing, "%s%s", missing.len ? ", " : "", pol->required[i]);
	if (!missing.len)
		return 0;
	*err = xasprintf("refusing: the image %s lacks the required annotation or label %s", p->top.digest,
			 missing.buf);
	sb_release(&missing);
	return -1;
}
