/*
 * fuzz_authz - the authorization policy (authorization.json) on
 * arbitrary bytes: policy_parse, then every question admind asks of a
 * policy that loaded, for the users and sites it names and for some it
 * does not: a user's org and roles, a site's org, each kind of right
 * (authz_allowed), each named right (authz_right) and each rule
 * (authz_rule). The answers must be 0 or 1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../admind/authz.h"

/* Users and sites asked about: the policy's first few, and strangers. */
#define FUZZ_AUTHZ_NAMES	8

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const fuzz_authz_rights[] = {
	"upload_mmar", "deploy_self", "deploy_all", "train_self",
	"train_all", "view_self", "view_all", "operate_self", "operate_all",
	"no_such_right", ""
};

static const char *const fuzz_authz_rules[] = {
	"allow_byoc", "allow_custom_datalist", "no_such_rule", ""
};

static const enum authz_right fuzz_authz_kinds[] = {
	AUTHZ_LOGIN, AUTHZ_UPLOAD, AUTHZ_DEPLOY, AUTHZ_TRAIN, AUTHZ_VIEW,
	AUTHZ_OPERATE
};

#define FUZZ_AUTHZ_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* fuzz_authz_names - up to max keys of doc's object key, then extra */
static size_t
fuzz_authz_names(const struct policy *p, const char *key,
    const char *extra, const char **out, size_t max)
{
	const char	*name;
	json_t		*obj, *v;
	size_t		 n = 0;

	obj = json_object_get(p->doc, key);
	json_object_foreach(obj, name, v) {
		if (n + 1 >= max)
			break;
		out[n++] = name;
	}
	out[n++] = extra;
	return n;
}

static void
fuzz_authz_bool(int v)
{
	if (v != 0 && v != 1)
		abort();
}

static void
fuzz_authz_ask(const struct policy *p, const char *user, const char *site)
{
	size_t	 i;

	for (i = 0; i < FUZZ_AUTHZ_NELEM(fuzz_authz_kinds); i++) {
		fuzz_authz_bool(authz_allowed(p, user, fuzz_authz_kinds[i],
		    site));
		if (authz_right_word(fuzz_authz_kinds[i]) == NULL)
			abort();
	}
	for (i = 0; i < FUZZ_AUTHZ_NELEM(fuzz_authz_rights); i++)
		fuzz_authz_bool(authz_right(p, user, fuzz_authz_rights[i],
		    site));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*users[FUZZ_AUTHZ_NAMES], *sites[FUZZ_AUTHZ_NAMES];
	struct policy	 p;
	char		 err[POLICY_ERR_MAX];
	size_t		 nusers, nsites, i, j;

	if (policy_parse((const char *)data, size, &p, err) == -1) {
		if (memchr(err, '\0', sizeof(err)) == NULL || p.doc != NULL)
			abort();
		return 0;
	}
	nusers = fuzz_authz_names(&p, "users", "stranger@example.org", users,
	    FUZZ_AUTHZ_NAMES);
	nsites = fuzz_authz_names(&p, "sites", "no-such-site", sites,
	    FUZZ_AUTHZ_NAMES);
	for (i = 0; i < nusers; i++) {
		(void)policy_user_org(&p, users[i]);
		(void)policy_user_roles(&p, users[i]);
		for (j = 0; j < nsites; j++)
			fuzz_authz_ask(&p, users[i], sites[j]);
	}
	for (j = 0; j < nsites; j++) {
		(void)policy_site_org(&p, sites[j]);
		for (i = 0; i < FUZZ_AUTHZ_NELEM(fuzz_authz_rules); i++)
			fuzz_authz_bool(authz_rule(&p, fuzz_authz_rules[i],
			    sites[j]));
	}
	policy_free(&p);
	return 0;
}
