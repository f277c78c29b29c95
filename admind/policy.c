/*
 * policy - loading authorization.json and refusing a policy whose parts
 * do not fit together.
 *
 * Every key is checked, and an unknown one is refused rather than
 * ignored: a misspelt "precond" would otherwise quietly turn a right of
 * one's own org into a right everywhere. Once loaded, the document is
 * read by authz.c without further checks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "authz.h"

static const char *const policy_top_keys[] = {
	"version", "roles", "groups", "users", "orgs", "sites", "rules",
	"rights", NULL
};

/* policy_fail - record why the policy is refused */
static int
policy_fail(char err[POLICY_ERR_MAX], const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, POLICY_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* policy_keys - obj has only the keys listed */
static int
policy_keys(json_t *obj, const char *const *keys, const char *where,
    char err[POLICY_ERR_MAX])
{
	const char	*key;
	json_t		*value;
	size_t		 i;

	json_object_foreach(obj, key, value) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(key, keys[i]) == 0)
				break;
		if (keys[i] == NULL)
			return policy_fail(err, "%s: unknown key \"%.64s\"",
			    where, key);
	}
	return 0;
}

/* policy_object - obj[key] is an object */
static json_t *
policy_object(json_t *obj, const char *key, const char *where,
    char err[POLICY_ERR_MAX])
{
	json_t	*value = json_object_get(obj, key);

	if (!json_is_object(value)) {
		policy_fail(err, "%s%s%s is not an object", where,
		    where[0] != '\0' ? "." : "", key);
		return NULL;
	}
	return value;
}

/* policy_bools - every value of obj is true or false, its key in known */
static int
policy_bools(json_t *obj, json_t *known, const char *what,
    const char *where, char err[POLICY_ERR_MAX])
{
	const char	*key;
	json_t		*value;

	if (!json_is_object(obj))
		return policy_fail(err, "%s is not an object", where);
	json_object_foreach(obj, key, value) {
		if (json_object_get(known, key) == NULL)
			return policy_fail(err, "%s names an unknown %s "
			    "\"%.64s\"", where, what, key);
		if (!json_is_boolean(value))
			return policy_fail(err, "%s.%.64s is not true or false",
			    where, key);
	}
	return 0;
}

/* policy_definitions - "rights" or "rules": {name: {desc, type, ...}} */
static int
policy_definitions(json_t *doc, const char *section, int rights,
    char err[POLICY_ERR_MAX])
{
	static const char *const right_keys[] = {
		"desc", "type", "default", "precond", NULL
	};
	static const char *const rule_keys[] = {
		"desc", "type", "default", NULL
	};
	const char	*name;
	json_t		*defs, *def, *v;
	char		 where[160];

	if ((defs = policy_object(doc, section, "", err)) == NULL)
		return -1;
	json_object_foreach(defs, name, def) {
		snprintf(where, sizeof(where), "%s.%.64s", section, name);
		if (!json_is_object(def))
			return policy_fail(err, "%s is not an object", where);
		if (policy_keys(def, rights ? right_keys : rule_keys, where,
		    err) == -1)
			return -1;
		if ((v = json_object_get(def, "desc")) != NULL &&
		    !json_is_string(v))
			return policy_fail(err, "%s.desc is not a string",
			    where);
		if ((v = json_object_get(def, "type")) != NULL &&
		    (!json_is_string(v) || strcmp(json_string_value(v),
		    "bool") != 0))
			return policy_fail(err, "%s.type is not \"bool\"",
			    where);
		if (!json_is_boolean(json_object_get(def, "default")))
			return policy_fail(err, "%s.default is not true or "
			    "false", where);
		if ((v = json_object_get(def, "precond")) != NULL &&
		    (!json_is_string(v) || strcmp(json_string_value(v),
		    "selfOrg") != 0))
			return policy_fail(err, "%s.precond is not "
			    "\"selfOrg\"", where);
	}
	return 0;
}

/* policy_roles - {role: description} */
static int
policy_roles(json_t *doc, char err[POLICY_ERR_MAX])
{
	const char	*name;
	json_t		*roles, *desc;

	if ((roles = policy_object(doc, "roles", "", err)) == NULL)
		return -1;
	json_object_foreach(roles, name, desc)
		if (!json_is_string(desc))
			return policy_fail(err, "roles.%.64s is not a "
			    "description", name);
	return 0;
}

/* policy_group - {desc, rules {rule: bool}, role_rights {role: {...}}} */
static int
policy_group(json_t *doc, const char *name, json_t *group,
    char err[POLICY_ERR_MAX])
{
	static const char *const keys[] = {
		"desc", "rules", "role_rights", NULL
	};
	const char	*role;
	json_t		*v, *rights;
	char		 where[256];

	snprintf(where, sizeof(where), "groups.%.64s", name);
	if (!json_is_object(group))
		return policy_fail(err, "%s is not an object", where);
	if (policy_keys(group, keys, where, err) == -1)
		return -1;
	if ((v = json_object_get(group, "desc")) != NULL &&
	    !json_is_string(v))
		return policy_fail(err, "%s.desc is not a string", where);
	snprintf(where, sizeof(where), "groups.%.64s.rules", name);
	if ((v = json_object_get(group, "rules")) != NULL &&
	    policy_bools(v, json_object_get(doc, "rules"), "rule", where,
	    err) == -1)
		return -1;
	if ((v = json_object_get(group, "role_rights")) == NULL)
		return 0;
	if (!json_is_object(v))
		return policy_fail(err, "groups.%.64s.role_rights is not an "
		    "object", name);
	json_object_foreach(v, role, rights) {
		snprintf(where, sizeof(where), "groups.%.64s.role_rights."
		    "%.64s", name, role);
		if (json_object_get(json_object_get(doc, "roles"),
		    role) == NULL)
			return policy_fail(err, "%s: unknown role", where);
		if (policy_bools(rights, json_object_get(doc, "rights"),
		    "right", where, err) == -1)
			return -1;
	}
	return 0;
}

static int
policy_groups(json_t *doc, char err[POLICY_ERR_MAX])
{
	const char	*name;
	json_t		*groups, *group;

	if ((groups = policy_object(doc, "groups", "", err)) == NULL)
		return -1;
	json_object_foreach(groups, name, group)
		if (policy_group(doc, name, group, err) == -1)
			return -1;
	return 0;
}

/* policy_names - a list of strings, each a key of known */
static int
policy_names(json_t *list, json_t *known, const char *what,
    const char *where, char err[POLICY_ERR_MAX])
{
	json_t	*v;
	size_t	 i;

	if (!json_is_array(list))
		return policy_fail(err, "%s is not a list", where);
	json_array_foreach(list, i, v)
		if (!json_is_string(v) || json_object_get(known,
		    json_string_value(v)) == NULL)
			return policy_fail(err, "%s names an unknown %s", where,
			    what);
	return 0;
}

/* policy_users - {user: {org, roles [...]}} */
static int
policy_users(json_t *doc, char err[POLICY_ERR_MAX])
{
	static const char *const keys[] = { "org", "roles", NULL };
	const char	*name;
	json_t		*users, *user;
	char		 where[160];

	if ((users = policy_object(doc, "users", "", err)) == NULL)
		return -1;
	json_object_foreach(users, name, user) {
		snprintf(where, sizeof(where), "users.%.128s", name);
		if (!json_is_object(user))
			return policy_fail(err, "%s is not an object", where);
		if (policy_keys(user, keys, where, err) == -1)
			return -1;
		if (!json_is_string(json_object_get(user, "org")))
			return policy_fail(err, "%s.org is not a string",
			    where);
		strncat(where, ".roles", sizeof(where) - strlen(where) - 1);
		if (policy_names(json_object_get(user, "roles"),
		    json_object_get(doc, "roles"), "role", where, err) == -1)
			return -1;
	}
	return 0;
}

/* policy_orgs - {org: [group...]}; "*" lists the groups of any other */
static int
policy_orgs(json_t *doc, char err[POLICY_ERR_MAX])
{
	const char	*name;
	json_t		*orgs, *groups;
	char		 where[160];

	if ((orgs = policy_object(doc, "orgs", "", err)) == NULL)
		return -1;
	json_object_foreach(orgs, name, groups) {
		snprintf(where, sizeof(where), "orgs.%.64s", name);
		if (policy_names(groups, json_object_get(doc, "groups"),
		    "group", where, err) == -1)
			return -1;
	}
	return 0;
}

/* policy_sites - {site: org}, the server being "server" */
static int
policy_sites(json_t *doc, char err[POLICY_ERR_MAX])
{
	const char	*name;
	json_t		*sites, *org;

	if ((sites = policy_object(doc, "sites", "", err)) == NULL)
		return -1;
	json_object_foreach(sites, name, org)
		if (!json_is_string(org))
			return policy_fail(err, "sites.%.64s is not an org",
			    name);
	return 0;
}

static int
policy_check(json_t *doc, char err[POLICY_ERR_MAX])
{
	if (!json_is_object(doc))
		return policy_fail(err, "not a JSON object");
	if (policy_keys(doc, policy_top_keys, "authorization.json",
	    err) == -1)
		return -1;
	if (!json_is_string(json_object_get(doc, "version")))
		return policy_fail(err, "version is not a string");
	if (policy_roles(doc, err) == -1 ||
	    policy_definitions(doc, "rights", 1, err) == -1 ||
	    policy_definitions(doc, "rules", 0, err) == -1 ||
	    policy_groups(doc, err) == -1 ||
	    policy_users(doc, err) == -1 ||
	    policy_orgs(doc, err) == -1 ||
	    policy_sites(doc, err) == -1)
		return -1;
	return 0;
}

int
policy_parse(const char *text, size_t len, struct policy *p,
    char err[POLICY_ERR_MAX])
{
	json_error_t	 error;
	json_t		*doc;

	p->doc = NULL;
	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES,
	    &error)) == NULL)
		return policy_fail(err, "line %d: %s", error.line,
		    error.text);
	if (policy_check(doc, err) == -1) {
		json_decref(doc);
		return -1;
	}
	p->doc = doc;
	return 0;
}

int
policy_load(const char *path, struct policy *p, char err[POLICY_ERR_MAX])
{
	json_error_t	 error;
	json_t		*doc;

	p->doc = NULL;
	if ((doc = json_load_file(path, JSON_REJECT_DUPLICATES,
	    &error)) == NULL)
		return policy_fail(err, "%s: line %d: %s", path, error.line,
		    error.text);
	if (policy_check(doc, err) == -1) {
		json_decref(doc);
		return -1;
	}
	p->doc = doc;
	return 0;
}

void
policy_free(struct policy *p)
{
	json_decref(p->doc);
	p->doc = NULL;
}

const char *
policy_user_org(const struct policy *p, const char *user)
{
	return json_string_value(json_object_get(json_object_get(
	    json_object_get(p->doc, "users"), user), "org"));
}

json_t *
policy_user_roles(const struct policy *p, const char *user)
{
	return json_object_get(json_object_get(json_object_get(p->doc,
	    "users"), user), "roles");
}

const char *
policy_site_org(const struct policy *p, const char *site)
{
	return json_string_value(json_object_get(json_object_get(p->doc,
	    "sites"), site));
}

json_t *
policy_org_groups(const struct policy *p, const char *org)
{
	json_t	*orgs = json_object_get(p->doc, "orgs"), *groups;

	if ((groups = json_object_get(orgs, org)) != NULL)
		return groups;
	return json_object_get(orgs, "*");
}
