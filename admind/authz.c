/*
 * authz - whether a user holds a right at a site, and whether a rule
 * holds at a site, by the loaded policy.
 *
 * A user or site the policy does not name holds nothing: an admin
 * certificate alone, or a site that registers without being in the
 * project, gets no right from a default.
 */
#include <stdio.h>
#include <string.h>

#include "authz.h"

static const char *const authz_words[] = {
	[AUTHZ_LOGIN] = "login",
	[AUTHZ_UPLOAD] = "upload",
	[AUTHZ_DEPLOY] = "deploy",
	[AUTHZ_TRAIN] = "train",
	[AUTHZ_VIEW] = "view",
	[AUTHZ_OPERATE] = "operate"
};

const char *
authz_right_word(enum authz_right kind)
{
	return authz_words[kind];
}

/* authz_super - the user has role "super" */
static int
authz_super(json_t *roles)
{
	json_t	*role;
	size_t	 i;

	json_array_foreach(roles, i, role)
		if (strcmp(json_string_value(role), "super") == 0)
			return 1;
	return 0;
}

/*
 * authz_granted - what the pairs (group of org, role) say of right:
 * 1 if one grants it, 0 if some say no and none yes, -1 if none says.
 */
static int
authz_granted(const struct policy *p, json_t *org_groups, json_t *roles,
    const char *right)
{
	json_t	*group, *role, *value, *groups, *rr;
	size_t	 i, j;
	int	 said = 0;

	groups = json_object_get(p->doc, "groups");
	json_array_foreach(org_groups, i, group) {
		rr = json_object_get(json_object_get(groups,
		    json_string_value(group)), "role_rights");
		json_array_foreach(roles, j, role) {
			value = json_object_get(json_object_get(rr,
			    json_string_value(role)), right);
			if (value == NULL)
				continue;
			if (json_is_true(value))
				return 1;
			said = 1;
		}
	}
	return said ? 0 : -1;
}

int
authz_right(const struct policy *p, const char *user, const char *right,
    const char *site)
{
	const char	*user_org, *site_org;
	json_t		*roles, *def, *precond;
	int		 granted;

	if ((user_org = policy_user_org(p, user)) == NULL ||
	    (roles = policy_user_roles(p, user)) == NULL ||
	    (site_org = policy_site_org(p, site)) == NULL)
		return 0;
	if (authz_super(roles))
		return 1;
	def = json_object_get(json_object_get(p->doc, "rights"), right);
	if (def == NULL)
		return 0;
	precond = json_object_get(def, "precond");
	if (precond != NULL && strcmp(user_org, site_org) != 0)
		return 0;
	granted = authz_granted(p, policy_org_groups(p, site_org), roles,
	    right);
	if (granted == -1)
		return json_is_true(json_object_get(def, "default"));
	return granted;
}

int
authz_allowed(const struct policy *p, const char *user,
    enum authz_right kind, const char *site)
{
	char	 all[32], self[32];

	switch (kind) {
	case AUTHZ_LOGIN:
		return policy_user_org(p, user) != NULL;
	case AUTHZ_UPLOAD:
		return authz_right(p, user, "upload_mmar", site);
	default:
		break;
	}
	(void)snprintf(all, sizeof(all), "%s_all", authz_words[kind]);
	(void)snprintf(self, sizeof(self), "%s_self", authz_words[kind]);
	return authz_right(p, user, all, site) ||
	    authz_right(p, user, self, site);
}

int
authz_rule(const struct policy *p, const char *rule, const char *site)
{
	const char	*org;
	json_t		*def, *groups, *group, *value;
	size_t		 i;
	int		 said = 0;

	if ((def = json_object_get(json_object_get(p->doc, "rules"),
	    rule)) == NULL || (org = policy_site_org(p, site)) == NULL)
		return 0;
	groups = json_object_get(p->doc, "groups");
	json_array_foreach(policy_org_groups(p, org), i, group) {
		value = json_object_get(json_object_get(json_object_get(
		    groups, json_string_value(group)), "rules"), rule);
		if (value == NULL)
			continue;
		if (json_is_true(value))
			return 1;
		said = 1;
	}
	if (said)
		return 0;
	return json_is_true(json_object_get(def, "default"));
}
