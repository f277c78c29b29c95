/*
 * test_cmdline - console command lines: words split on spaces with
 * quotes keeping theirs and no shell anywhere, control characters
 * refused; commands found by name or scope.name, a name two scopes
 * share refused unless qualified; arguments checked against each
 * command's shape, with the exact message an operator reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../admind/admind.h"

static void
split(const char *line, struct cmdline *cl)
{
	char	 err[CMDLINE_ERR_MAX];

	assert_int_equal(cmdline_split(line, cl, err), 0);
}

static void
split_refused(const char *line, const char *why)
{
	struct cmdline	 cl;
	char		 err[CMDLINE_ERR_MAX];

	assert_int_equal(cmdline_split(line, &cl, err), -1);
	assert_string_equal(err, why);
	cmdline_free(&cl);
}

static void
test_words_split_on_spaces(void **state)
{
	struct cmdline	 cl;

	split("  ls   server  -l  ", &cl);
	assert_int_equal(cl.argc, 3);
	assert_string_equal(cl.argv[0], "ls");
	assert_string_equal(cl.argv[1], "server");
	assert_string_equal(cl.argv[2], "-l");
	assert_null(cl.argv[3]);
	cmdline_free(&cl);
}

static void
test_quotes_keep_spaces_and_go(void **state)
{
	struct cmdline	 cl;

	split("grep server 'a b' \"c 'd'\" x'y z'w ''", &cl);
	assert_int_equal(cl.argc, 6);
	assert_string_equal(cl.argv[2], "a b");
	assert_string_equal(cl.argv[3], "c 'd'");
	assert_string_equal(cl.argv[4], "xy zw");
	assert_string_equal(cl.argv[5], "");
	cmdline_free(&cl);
}

static void
test_shell_syntax_is_only_words(void **state)
{
	struct cmdline	 cl;

	split("cat server $(id).txt;reboot", &cl);
	assert_int_equal(cl.argc, 3);
	assert_string_equal(cl.argv[2], "$(id).txt;reboot");
	cmdline_free(&cl);
}

static void
test_bad_lines_are_refused(void **state)
{
	char	 line[CMDLINE_MAX + 2];
	char	 many[256] = "ls";
	int	 i;

	split_refused("", "an empty command");
	split_refused("   ", "an empty command");
	split_refused("cat server 'a.txt", "a quote is not closed");
	split_refused("cat\tserver a.txt",
	    "the command line holds a control character");
	split_refused("cat server a\x7f.txt",
	    "the command line holds a control character");
	split_refused("cat server a\n.txt",
	    "the command line holds a control character");
	memset(line, 'x', CMDLINE_MAX + 1);
	line[CMDLINE_MAX + 1] = '\0';
	split_refused(line, "the command line is longer than 4096 bytes");
	for (i = 0; i < CMDLINE_WORDS_MAX; i++)
		strcat(many, " a");
	split_refused(many, "more than 40 words");
}

/* A table where "status" is in two scopes. */
static const struct command twice[] = {
	{ "training", "status", "", SHAPE_NONE, 0, 0, AUTHZ_VIEW, 0, NULL },
	{ "sys", "status", "", SHAPE_NONE, 0, 0, AUTHZ_VIEW, 0, NULL },
	{ "sys", "uptime", "", SHAPE_NONE, 0, 0, AUTHZ_VIEW, 0, NULL },
};

static void
test_commands_are_found_by_name_or_scope(void **state)
{
	char	 err[CMDLINE_ERR_MAX];

	assert_ptr_equal(cmdline_find(twice, 3, "uptime", err), &twice[2]);
	assert_ptr_equal(cmdline_find(twice, 3, "sys.uptime", err),
	    &twice[2]);
	assert_ptr_equal(cmdline_find(twice, 3, "sys.status", err),
	    &twice[1]);
	assert_ptr_equal(cmdline_find(twice, 3, "training.status", err),
	    &twice[0]);
}

static void
test_a_name_in_two_scopes_must_be_qualified(void **state)
{
	char	 err[CMDLINE_ERR_MAX];

	assert_null(cmdline_find(twice, 3, "status", err));
	assert_string_equal(err, "status is in scopes training and sys: say "
	    "training.status or sys.status");
}

static void
test_unknown_commands_are_refused(void **state)
{
	char	 err[CMDLINE_ERR_MAX];

	assert_null(cmdline_find(twice, 3, "training.uptime", err));
	assert_string_equal(err, "unknown command training.uptime: _commands "
	    "lists the commands you may run");
	assert_null(cmdline_find(twice, 3, ".uptime", err));
	assert_null(cmdline_find(commands_table, commands_count, "rm", err));
	assert_string_equal(err, "unknown command rm: _commands lists the "
	    "commands you may run");
}

static void
test_every_command_name_is_unique_in_its_scope(void **state)
{
	char	 err[CMDLINE_ERR_MAX], qualified[128];
	size_t	 i;

	for (i = 0; i < commands_count; i++) {
		snprintf(qualified, sizeof(qualified), "%s.%s",
		    commands_table[i].c_scope, commands_table[i].c_name);
		assert_ptr_equal(cmdline_find(commands_table, commands_count,
		    qualified, err), &commands_table[i]);
		assert_ptr_equal(cmdline_find(commands_table, commands_count,
		    commands_table[i].c_name, err), &commands_table[i]);
	}
}

/* args - the line's arguments checked by its command's shape */
static int
args(const char *line, struct cmd_args *a, struct cmdline *cl, char *err)
{
	const struct command	*c;

	split(line, cl);
	assert_non_null(c = cmdline_find(commands_table, commands_count,
	    cl->argv[0], err));
	return cmdline_args(c, cl, a, err);
}

static void
args_refused(const char *line, const char *why)
{
	struct cmd_args	 a;
	struct cmdline	 cl;
	char		 err[CMDLINE_ERR_MAX];

	assert_int_equal(args(line, &a, &cl, err), -1);
	assert_string_equal(err, why);
	cmdline_free(&cl);
}

static void
test_run_numbers(void **state)
{
	struct cmd_args	 a;
	struct cmdline	 cl;
	char		 err[CMDLINE_ERR_MAX];

	assert_int_equal(args("set_run_number 12", &a, &cl, err), 0);
	assert_int_equal(a.number, 12);
	cmdline_free(&cl);
	args_refused("set_run_number 0", "set_run_number: 0 is not a run "
	    "number (1 or more)");
	args_refused("set_run_number -3", "set_run_number: -3 is not a run "
	    "number (1 or more)");
	args_refused("delete_run_number 1x", "delete_run_number: 1x is not a "
	    "run number (1 or more)");
	args_refused("set_run_number 99999999999", "set_run_number: "
	    "99999999999 is not a run number (1 or more)");
	args_refused("set_run_number", "usage: set_run_number N");
	args_refused("set_run_number 1 2", "usage: set_run_number N");
}

static void
test_timeouts(void **state)
{
	struct cmd_args	 a;
	struct cmdline	 cl;
	char		 err[CMDLINE_ERR_MAX];

	assert_int_equal(args("set_timeout 50", &a, &cl, err), 0);
	assert_int_equal(a.number, 50);
	cmdline_free(&cl);
	args_refused("set_timeout 51", "set_timeout: 51 is not a number of "
	    "seconds from 1 to 50");
	args_refused("set_timeout 0", "set_timeout: 0 is not a number of "
	    "seconds from 1 to 50");
}

static void
test_targets(void **state)
{
	struct cmd_args	 a;
	struct cmdline	 cl;
	char		 err[CMDLINE_ERR_MAX];

	assert_int_equal(args("start server", &a, &cl, err), 0);
	assert_int_equal(a.target, TARGET_SERVER);
	assert_int_equal(a.nsites, 0);
	cmdline_free(&cl);
	assert_int_equal(args("abort all", &a, &cl, err), 0);
	assert_int_equal(a.target, TARGET_ALL);
	cmdline_free(&cl);
	assert_int_equal(args("start client site-1 site-2", &a, &cl, err), 0);
	assert_int_equal(a.target, TARGET_CLIENT);
	assert_int_equal(a.nsites, 2);
	assert_string_equal(a.sites[0], "site-1");
	assert_string_equal(a.sites[1], "site-2");
	cmdline_free(&cl);
	assert_int_equal(args("check_status client", &a, &cl, err), 0);
	assert_int_equal(a.nsites, 0);
	cmdline_free(&cl);
}

static void
test_targets_refused(void **state)
{
	args_refused("start", "usage: start server|client [SITE...]|all");
	args_refused("start everything",
	    "usage: start server|client [SITE...]|all");
	args_refused("start server site-1",
	    "usage: start server|client [SITE...]|all");
	args_refused("check_status all",
	    "usage: check_status server|client [SITE...]");
	args_refused("start client site-1 site-1", "site site-1 is named "
	    "twice");
	args_refused("sys_info client ../etc", "../etc is not a site name");
	args_refused("deploy server", "usage: deploy MMAR "
	    "server|client [SITE...]|all");
}

static void
test_deploy_names_an_mmar_then_targets(void **state)
{
	struct cmd_args	 a;
	struct cmdline	 cl;
	char		 err[CMDLINE_ERR_MAX];

	assert_int_equal(args("deploy seg-mmar client site-2", &a, &cl, err),
	    0);
	assert_string_equal(a.name, "seg-mmar");
	assert_int_equal(a.target, TARGET_CLIENT);
	assert_string_equal(a.sites[0], "site-2");
	cmdline_free(&cl);
}

static void
test_shell_commands_take_a_target_then_words(void **state)
{
	struct cmd_args	 a;
	struct cmdline	 cl;
	char		 err[CMDLINE_ERR_MAX];

	assert_int_equal(args("ls server -l ../x", &a, &cl, err), 0);
	assert_int_equal(a.target, TARGET_SERVER);
	assert_int_equal(a.nwords, 2);
	assert_string_equal(a.words[1], "../x");
	cmdline_free(&cl);
	assert_int_equal(args("cat site-3 log.txt", &a, &cl, err), 0);
	assert_int_equal(a.target, TARGET_CLIENT);
	assert_string_equal(a.sites[0], "site-3");
	assert_int_equal(a.nwords, 1);
	cmdline_free(&cl);
	args_refused("cat /etc/passwd", "/etc/passwd is not a site name");
	args_refused("pwd", "usage: pwd server|SITE");
}

static void
test_validate_all_or_a_pair(void **state)
{
	struct cmd_args	 a;
	struct cmdline	 cl;
	char		 err[CMDLINE_ERR_MAX];

	assert_int_equal(args("validate all", &a, &cl, err), 0);
	assert_int_equal(a.target, TARGET_ALL);
	cmdline_free(&cl);
	assert_int_equal(args("validate site-1 site-2", &a, &cl, err), 0);
	assert_string_equal(a.name, "site-1");
	assert_string_equal(a.second, "site-2");
	cmdline_free(&cl);
	args_refused("validate site-1", "usage: validate all | SITE OWNER");
	args_refused("validate site-1 a/b", "usage: validate all | SITE "
	    "OWNER");
}

static void
test_logins(void **state)
{
	struct cmd_args	 a;
	struct cmdline	 cl;
	char		 err[CMDLINE_ERR_MAX];

	assert_int_equal(args("_login a@b.org s3cret", &a, &cl, err), 0);
	assert_string_equal(a.name, "a@b.org");
	assert_string_equal(a.second, "s3cret");
	cmdline_free(&cl);
	args_refused("_login a@b.org", "usage: _login USER PASSWORD");
	args_refused("_cert_login a/b", "a/b is not a user name");
	args_refused("_commands now", "usage: _commands");
	args_refused("remove_client site-1 site-2", "usage: remove_client "
	    "SITE");
}

static void
test_rest_is_the_text_after_words(void **state)
{
	assert_string_equal(cmdline_rest("grep  server  'a b' x.txt", 2),
	    "'a b' x.txt");
	assert_string_equal(cmdline_rest("ls 'my site' -l", 2), "-l");
	assert_string_equal(cmdline_rest("pwd server", 2), "");
	assert_string_equal(cmdline_rest("pwd", 2), "");
}

static void
test_site_names(void **state)
{
	char	 long_name[CMDLINE_NAME_MAX + 2];

	assert_int_equal(cmdline_site_name("site-1.hospital_a@x"), 1);
	assert_int_equal(cmdline_site_name(""), 0);
	assert_int_equal(cmdline_site_name("a b"), 0);
	assert_int_equal(cmdline_site_name("a/b"), 0);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(cmdline_site_name(long_name), 0);
	long_name[CMDLINE_NAME_MAX] = '\0';
	assert_int_equal(cmdline_site_name(long_name), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_split_on_spaces),
		cmocka_unit_test(test_quotes_keep_spaces_and_go),
		cmocka_unit_test(test_shell_syntax_is_only_words),
		cmocka_unit_test(test_bad_lines_are_refused),
		cmocka_unit_test(test_commands_are_found_by_name_or_scope),
		cmocka_unit_test(test_a_name_in_two_scopes_must_be_qualified),
		cmocka_unit_test(test_unknown_commands_are_refused),
		cmocka_unit_test(
		    test_every_command_name_is_unique_in_its_scope),
		cmocka_unit_test(test_run_numbers),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_targets_refused),
		cmocka_unit_test(test_deploy_names_an_mmar_then_targets),
		cmocka_unit_test(test_shell_commands_take_a_target_then_words),
		cmocka_unit_test(test_validate_all_or_a_pair),
		cmocka_unit_test(test_logins),
		cmocka_unit_test(test_rest_is_the_text_after_words),
		cmocka_unit_test(test_site_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
