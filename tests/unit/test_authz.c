/*
 * test_authz - the authorization policy: the shipped template
 * (policy/authorization.json, read from the source tree: run from its
 * top, as make unit does), filled as flprovision fills it, grants each
 * role exactly the rights the contract's table gives, at the server,
 * at a site of the user's own org and at another org's site; the rules
 * of each step (super, any pair grants, nothing said means the default,
 * selfOrg never crosses orgs) hold on small policies of their own; and a
 * policy whose parts do not fit together is refused, naming the key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../admind/authz.h"

#define TEMPLATE	"policy/authorization.json"

/* demo - the template with the users, orgs and sites of a project */
static int
demo_setup(void **state)
{
	static struct policy	 p;
	json_error_t		 error;
	json_t			*doc, *groups;
	char			 err[POLICY_ERR_MAX], *text;
	int			 rc;

	doc = json_load_file(TEMPLATE, 0, &error);
	assert_non_null(doc);
	groups = json_object_get(json_object_get(doc, "orgs"), "*");
	json_object_set(json_object_get(doc, "orgs"), "consortium", groups);
	json_object_set(json_object_get(doc, "orgs"), "hospital-1", groups);
	json_object_set(json_object_get(doc, "orgs"), "hospital-2", groups);
	json_object_del(json_object_get(doc, "orgs"), "*");
	json_object_set_new(doc, "users", json_pack(
	    "{s:{s:s,s:[s]}, s:{s:s,s:[s]}, s:{s:s,s:[s]}, s:{s:s,s:[s]},"
	    " s:{s:s,s:[s]}}",
	    "super", "org", "consortium", "roles", "super",
	    "lead_it", "org", "consortium", "roles", "lead_it",
	    "site_it", "org", "hospital-1", "roles", "site_it",
	    "lead_researcher", "org", "consortium", "roles",
	    "lead_researcher",
	    "site_researcher", "org", "hospital-1", "roles",
	    "site_researcher"));
	json_object_set_new(doc, "sites", json_pack("{s:s, s:s, s:s}",
	    "server", "consortium", "site-1", "hospital-1", "site-2",
	    "hospital-2"));
	assert_non_null(text = json_dumps(doc, 0));
	json_decref(doc);
	rc = policy_parse(text, strlen(text), &p, err);
	free(text);
	assert_int_equal(rc, 0);
	*state = &p;
	return 0;
}

static int
demo_teardown(void **state)
{
	policy_free(*state);
	return 0;
}

static const char *const roles[] = {
	"super", "lead_it", "site_it", "lead_researcher", "site_researcher"
};

/*
 * The demo policy's answers: for each kind of right and site, a letter
 * per role in the order above. site_it and site_researcher belong to
 * hospital-1 (site-1's org); the server is the consortium's.
 */
static const struct {
	enum authz_right	 kind;
	const char		*site;
	const char		*allowed;
} demo_table[] = {
	{ AUTHZ_VIEW,    "server", "YYNYN" },
	{ AUTHZ_VIEW,    "site-1", "YYYYY" },
	{ AUTHZ_VIEW,    "site-2", "YYNYN" },
	{ AUTHZ_TRAIN,   "server", "YNNYN" },
	{ AUTHZ_TRAIN,   "site-1", "YNNYY" },
	{ AUTHZ_TRAIN,   "site-2", "YNNYN" },
	{ AUTHZ_OPERATE, "server", "YYNNN" },
	{ AUTHZ_OPERATE, "site-1", "YYYNN" },
	{ AUTHZ_OPERATE, "site-2", "YYNNN" },
	{ AUTHZ_DEPLOY,  "server", "YNNYN" },
	{ AUTHZ_DEPLOY,  "site-1", "YNNYY" },
	{ AUTHZ_DEPLOY,  "site-2", "YNNYN" },
	{ AUTHZ_UPLOAD,  "server", "YNNYN" },
	{ AUTHZ_LOGIN,   "server", "YYYYY" },
};

static void
test_demo_policy_table(void **state)
{
	const struct policy	*p = *state;
	size_t			 i, r;
	int			 want;

	for (i = 0; i < sizeof(demo_table) / sizeof(demo_table[0]); i++)
		for (r = 0; r < 5; r++) {
			want = demo_table[i].allowed[r] == 'Y';
			if (authz_allowed(p, roles[r], demo_table[i].kind,
			    demo_table[i].site) != want)
				fail_msg("%s %s at %s: expected %s", roles[r],
				    authz_right_word(demo_table[i].kind),
				    demo_table[i].site, want ? "yes" : "no");
		}
}

static void
test_default_holds_when_nothing_is_said(void **state)
{
	const struct policy	*p = *state;

	/* No group says view_self of lead_it; its default is true. */
	assert_int_equal(authz_right(p, "lead_it", "view_self", "server"), 1);
	/* ... but selfOrg: never at another org's site. */
	assert_int_equal(authz_right(p, "lead_it", "view_self", "site-1"), 0);
	/* train_self's default is false. */
	assert_int_equal(authz_right(p, "lead_it", "train_self", "server"),
	    0);
}

static void
test_strangers_hold_nothing(void **state)
{
	const struct policy	*p = *state;

	assert_int_equal(authz_allowed(p, "mallory", AUTHZ_VIEW, "site-1"),
	    0);
	assert_int_equal(authz_allowed(p, "mallory", AUTHZ_LOGIN, "server"),
	    0);
	assert_int_equal(authz_right(p, "super", "view_all", "site-9"), 0);
	assert_int_equal(authz_right(p, "super", "no_such_right", "site-1"),
	    1);
	assert_int_equal(authz_right(p, "lead_it", "no_such_right",
	    "server"), 0);
}

static void
test_demo_rules_are_strict(void **state)
{
	const struct policy	*p = *state;

	assert_int_equal(authz_rule(p, "allow_byoc", "site-1"), 0);
	assert_int_equal(authz_rule(p, "allow_custom_datalist", "server"), 0);
	assert_int_equal(authz_rule(p, "allow_byoc", "site-9"), 0);
	assert_int_equal(authz_rule(p, "no_such_rule", "site-1"), 0);
}

/* A small policy: org a in groups g1 and g2, org b in g2 only. */
#define SMALL(role_rights_g1, role_rights_g2, rules_g1, orgs) \
	"{\"version\": \"1\", \"roles\": {\"r\": \"\", \"s\": \"\"}," \
	"\"groups\": {\"g1\": {\"role_rights\": " role_rights_g1 \
	", \"rules\": " rules_g1 "}, \"g2\": {\"role_rights\": " \
	role_rights_g2 "}}," \
	"\"users\": {\"u\": {\"org\": \"a\", \"roles\": [\"r\", \"s\"]}}," \
	"\"orgs\": " orgs "," \
	"\"sites\": {\"sa\": \"a\", \"sb\": \"b\", \"sc\": \"c\"}," \
	"\"rules\": {\"allow_byoc\": {\"type\": \"bool\", " \
	"\"default\": true}}," \
	"\"rights\": {\"x_self\": {\"default\": true, \"precond\": " \
	"\"selfOrg\"}, \"x_all\": {\"default\": false}}}"

static void
small(const char *text, struct policy *p)
{
	char	 err[POLICY_ERR_MAX];

	if (policy_parse(text, strlen(text), p, err) == -1)
		fail_msg("%s", err);
}

static void
test_any_pair_grants(void **state)
{
	struct policy	 p;

	/* g1 says no for role r, g2 says yes for role s: granted. */
	small(SMALL("{\"r\": {\"x_all\": false}}", "{\"s\": {\"x_all\": true}}",
	    "{}", "{\"a\": [\"g1\", \"g2\"], \"b\": [\"g2\"]}"), &p);
	assert_int_equal(authz_right(&p, "u", "x_all", "sa"), 1);
	assert_int_equal(authz_right(&p, "u", "x_all", "sb"), 1);
	policy_free(&p);
}

static void
test_a_no_overrides_the_default(void **state)
{
	struct policy	 p;

	/* x_self defaults to true; g1 says no: at sa (org a) no. At sb,
	 * another org, selfOrg already says no. */
	small(SMALL("{\"r\": {\"x_self\": false}}", "{}", "{}",
	    "{\"a\": [\"g1\"], \"b\": [\"g2\"]}"), &p);
	assert_int_equal(authz_right(&p, "u", "x_self", "sa"), 0);
	assert_int_equal(authz_right(&p, "u", "x_all", "sa"), 0);
	policy_free(&p);
}

static void
test_self_org_never_crosses_orgs(void **state)
{
	struct policy	 p;

	small(SMALL("{\"r\": {\"x_self\": true}}", "{\"r\": {\"x_self\": "
	    "true}}", "{}", "{\"a\": [\"g1\"], \"b\": [\"g1\", \"g2\"]}"), &p);
	assert_int_equal(authz_right(&p, "u", "x_self", "sa"), 1);
	assert_int_equal(authz_right(&p, "u", "x_self", "sb"), 0);
	policy_free(&p);
}

static void
test_star_lists_the_groups_of_other_orgs(void **state)
{
	struct policy	 p;

	small(SMALL("{\"r\": {\"x_all\": true}}", "{}", "{}",
	    "{\"a\": [\"g2\"], \"*\": [\"g1\"]}"), &p);
	assert_int_equal(authz_right(&p, "u", "x_all", "sa"), 0);
	assert_int_equal(authz_right(&p, "u", "x_all", "sc"), 1);
	policy_free(&p);
}

static void
test_rules_by_the_groups_of_the_sites_org(void **state)
{
	struct policy	 p;

	small(SMALL("{}", "{}", "{\"allow_byoc\": false}",
	    "{\"a\": [\"g1\"], \"b\": [\"g2\"]}"), &p);
	assert_int_equal(authz_rule(&p, "allow_byoc", "sa"), 0);
	/* No group of org b says: the rule's default. */
	assert_int_equal(authz_rule(&p, "allow_byoc", "sb"), 1);
	policy_free(&p);
}

/* refused - text is refused with why */
static void
refused(const char *text, const char *why)
{
	struct policy	 p;
	char		 err[POLICY_ERR_MAX];

	assert_int_equal(policy_parse(text, strlen(text), &p, err), -1);
	assert_string_equal(err, why);
	assert_null(p.doc);
}

#define BASE(extra) \
	"{\"version\": \"1\", \"roles\": {\"r\": \"\"}, \"groups\": {}," \
	"\"users\": {}, \"orgs\": {}, \"sites\": {}, \"rules\": {}," \
	"\"rights\": {\"x\": {\"default\": false" extra "}}}"

static void
test_misfit_policies_are_refused(void **state)
{
	refused(BASE(", \"precondition\": \"selfOrg\""),
	    "rights.x: unknown key \"precondition\"");
	refused(BASE(", \"precond\": \"sameOrg\""),
	    "rights.x.precond is not \"selfOrg\"");
	refused(BASE(", \"type\": \"int\""), "rights.x.type is not \"bool\"");
	refused("{\"version\": \"1\", \"roles\": {}, \"groups\": {},"
	    "\"users\": {}, \"orgs\": {}, \"sites\": {}, \"rules\": {},"
	    "\"rights\": {\"x\": {\"default\": 1}}}",
	    "rights.x.default is not true or false");
	refused("{\"version\": \"1\", \"roles\": {\"r\": \"\"}, "
	    "\"groups\": {\"g\": {\"role_rights\": {\"q\": {}}}}, "
	    "\"users\": {}, \"orgs\": {}, \"sites\": {}, \"rules\": {}, "
	    "\"rights\": {}}", "groups.g.role_rights.q: unknown role");
	refused("{\"version\": \"1\", \"roles\": {\"r\": \"\"}, "
	    "\"groups\": {\"g\": {\"role_rights\": {\"r\": {\"y\": true}}}}, "
	    "\"users\": {}, \"orgs\": {}, \"sites\": {}, \"rules\": {}, "
	    "\"rights\": {}}",
	    "groups.g.role_rights.r names an unknown right \"y\"");
	refused("{\"version\": \"1\", \"roles\": {\"r\": \"\"}, "
	    "\"groups\": {}, \"users\": {\"u\": {\"org\": \"a\", "
	    "\"roles\": [\"boss\"]}}, \"orgs\": {}, \"sites\": {}, "
	    "\"rules\": {}, \"rights\": {}}",
	    "users.u.roles names an unknown role");
	refused("{\"version\": \"1\", \"roles\": {}, \"groups\": {}, "
	    "\"users\": {}, \"orgs\": {\"a\": [\"g9\"]}, \"sites\": {}, "
	    "\"rules\": {}, \"rights\": {}}",
	    "orgs.a names an unknown group");
	refused("{\"version\": \"1\", \"roles\": {}, \"groups\": {}, "
	    "\"users\": {}, \"orgs\": {}, \"sites\": {\"s\": 3}, "
	    "\"rules\": {}, \"rights\": {}}", "sites.s is not an org");
	refused("{\"version\": \"1\", \"roles\": {}, \"groups\": {}, "
	    "\"users\": {}, \"orgs\": {}, \"sites\": {}, \"rules\": {}, "
	    "\"rights\": {}, \"admins\": {}}",
	    "authorization.json: unknown key \"admins\"");
	refused("{\"version\": \"1\", \"roles\": {}}", "rights is not an "
	    "object");
	refused("{\"version\": 1}", "version is not a string");
	refused("[]", "not a JSON object");
	refused("{\"version\": \"1\", \"version\": \"2\"}",
	    "line 1: duplicate object key near '\"version\"'");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_demo_policy_table,
		    demo_setup, demo_teardown),
		cmocka_unit_test_setup_teardown(
		    test_default_holds_when_nothing_is_said,
		    demo_setup, demo_teardown),
		cmocka_unit_test_setup_teardown(test_strangers_hold_nothing,
		    demo_setup, demo_teardown),
		cmocka_unit_test_setup_teardown(test_demo_rules_are_strict,
		    demo_setup, demo_teardown),
		cmocka_unit_test(test_any_pair_grants),
		cmocka_unit_test(test_a_no_overrides_the_default),
		cmocka_unit_test(test_self_org_never_crosses_orgs),
		cmocka_unit_test(test_star_lists_the_groups_of_other_orgs),
		cmocka_unit_test(test_rules_by_the_groups_of_the_sites_org),
		cmocka_unit_test(test_misfit_policies_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
