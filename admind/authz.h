/*
 * authz - the authorization policy (the startup kit's authorization.json)
 * and what it allows.
 *
 * policy.c loads the file and refuses one whose parts do not fit
 * together (a user with an unknown role, an org in an unknown group, a
 * right of unknown type...), naming the key. authz.c answers two
 * questions, as Clara's policy did: does a user hold a right at a site,
 * and does a rule hold at a site. Role "super" holds every right;
 * otherwise a right holds if any pair (group of the site's org, role of
 * the user) grants it, and when no pair says anything, the right's
 * default applies; a right with precondition "selfOrg" never holds at a
 * site of another org than the user's. Rules (allow_byoc,
 * allow_custom_datalist) are decided per site the same way, by the
 * groups of the site's org. Who the user is, is not decided here.
 */
#ifndef ADMIND_AUTHZ_H
#define ADMIND_AUTHZ_H

#include <stddef.h>

#include <jansson.h>

#define POLICY_ERR_MAX		512
/* The server's name in the policy's "sites". */
#define POLICY_SERVER		"server"

/* The kinds of right a command needs, each a _self and an _all right. */
enum authz_right {
	AUTHZ_LOGIN,		/* a session is enough */
	AUTHZ_UPLOAD,		/* upload_mmar, at the server */
	AUTHZ_DEPLOY,		/* deploy_self, deploy_all */
	AUTHZ_TRAIN,		/* train_self, train_all */
	AUTHZ_VIEW,		/* view_self, view_all */
	AUTHZ_OPERATE		/* operate_self, operate_all */
};

struct policy {
	json_t	*doc;		/* the checked file */
};

/* policy.c */
int	policy_load(const char *path, struct policy *,
	    char err[POLICY_ERR_MAX]);
int	policy_parse(const char *text, size_t len, struct policy *,
	    char err[POLICY_ERR_MAX]);
void	policy_free(struct policy *);
/* The user's org, or NULL when the policy has no such user. */
const char	*policy_user_org(const struct policy *, const char *user);
/* The user's roles (an array of strings), or NULL. */
json_t		*policy_user_roles(const struct policy *, const char *user);
/* The site's org, or NULL when the policy names no such site. */
const char	*policy_site_org(const struct policy *, const char *site);
/* The groups an org is in (an array), or NULL. */
json_t		*policy_org_groups(const struct policy *, const char *org);

/* authz.c */
/* 1 if user holds the named right at site, else 0. */
int	authz_right(const struct policy *, const char *user,
	    const char *right, const char *site);
/* 1 if user may do what kind needs at site: its _all or _self right. */
int	authz_allowed(const struct policy *, const char *user,
	    enum authz_right kind, const char *site);
/* 1 if the named rule holds at site, else 0. */
int	authz_rule(const struct policy *, const char *rule, const char *site);
/* "view", "train"...: the kind's word, for messages. */
const char	*authz_right_word(enum authz_right);

#endif
