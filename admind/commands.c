/*
 * commands - the console's commands, as Clara's admin server named them:
 * scope, name, the shape of the arguments, the right each needs at its
 * targets, and the function that runs it.
 *
 * Rights, as the contract maps them: start, abort, set_run_number,
 * delete_run_number and set_timeout need train; shutdown, restart,
 * remove_client and sys_info need operate; check_status, validate and
 * the shell-like commands need view; deploy needs deploy; upload_folder
 * needs upload_mmar at the server. A right is
 * needed at every target: the server is the target of a command on the
 * server's state.
 */
#include <stdio.h>
#include <string.h>

#include "admind.h"

#define TARGETS_ALL	(TARGET_SERVER | TARGET_CLIENT | TARGET_ALL)
#define TARGETS_ONE	(TARGET_SERVER | TARGET_CLIENT)

const struct command commands_table[] = {
	{ "session", "_login", "USER PASSWORD", SHAPE_LOGIN, 0, 0,
	    AUTHZ_LOGIN, CMD_LOGIN, cmd_session_login },
	{ "session", "_cert_login", "USER", SHAPE_USER, 0, 0,
	    AUTHZ_LOGIN, CMD_LOGIN, cmd_session_cert_login },
	{ "session", "_logout", "", SHAPE_NONE, 0, 0,
	    AUTHZ_LOGIN, 0, cmd_session_logout },
	{ "session", "_commands", "", SHAPE_NONE, 0, 0,
	    AUTHZ_LOGIN, 0, commands_list },

	{ "training", "set_run_number", "N", SHAPE_RUN, 0, 0,
	    AUTHZ_TRAIN, CMD_ACTS, cmd_training_set_run },
	{ "training", "delete_run_number", "N", SHAPE_RUN, 0, 0,
	    AUTHZ_TRAIN, CMD_ACTS, cmd_training_delete_run },
	{ "training", "upload_folder", "MMAR", SHAPE_MMAR, 0, 0,
	    AUTHZ_UPLOAD, CMD_ACTS, cmd_mmar_upload },
	{ "training", "deploy", "MMAR server|client [SITE...]|all",
	    SHAPE_DEPLOY, TARGETS_ALL, 0,
	    AUTHZ_DEPLOY, CMD_ACTS, cmd_mmar_deploy },
	{ "training", "start", "server|client [SITE...]|all",
	    SHAPE_TARGETS, TARGETS_ALL, 0,
	    AUTHZ_TRAIN, CMD_ACTS, cmd_training_start },
	{ "training", "abort", "server|client [SITE...]|all",
	    SHAPE_TARGETS, TARGETS_ALL, 0,
	    AUTHZ_TRAIN, CMD_ACTS, cmd_training_abort },
	{ "training", "check_status", "server|client [SITE...]",
	    SHAPE_TARGETS, TARGETS_ONE, 0,
	    AUTHZ_VIEW, 0, cmd_training_status },
	{ "training", "shutdown", "server|client [SITE...]|all",
	    SHAPE_TARGETS, TARGETS_ALL, 0,
	    AUTHZ_OPERATE, CMD_ACTS, cmd_training_shutdown },
	{ "training", "restart", "server|client [SITE...]|all",
	    SHAPE_TARGETS, TARGETS_ALL, 0,
	    AUTHZ_OPERATE, CMD_ACTS, cmd_training_restart },
	{ "training", "set_timeout", "SECONDS", SHAPE_SECONDS, 0, 0,
	    AUTHZ_TRAIN, CMD_ACTS, cmd_training_set_timeout },
	{ "training", "remove_client", "SITE", SHAPE_SITE, 0, 0,
	    AUTHZ_OPERATE, CMD_ACTS, cmd_training_remove_client },

	{ "validation", "validate", "all | SITE OWNER", SHAPE_VALIDATE, 0, 0,
	    AUTHZ_VIEW, 0, cmd_validate_run },
	{ "validation", "taskname", "", SHAPE_NONE, 0, 0,
	    AUTHZ_LOGIN, 0, commands_taskname },

	{ "utils", "pwd", "server|SITE", SHAPE_SHELL, 0,
	    CMDLINE_WORDS_MAX, AUTHZ_VIEW, 0, cmd_shell_run },
	{ "utils", "ls", "server|SITE [-a -l -t -S -R -u] [PATH]",
	    SHAPE_SHELL, 0, CMDLINE_WORDS_MAX, AUTHZ_VIEW, 0, cmd_shell_run },
	{ "utils", "cat", "server|SITE [-n -b -s -T] FILE",
	    SHAPE_SHELL, 0, CMDLINE_WORDS_MAX, AUTHZ_VIEW, 0, cmd_shell_run },
	{ "utils", "head", "server|SITE [-c N | -n N] FILE",
	    SHAPE_SHELL, 0, CMDLINE_WORDS_MAX, AUTHZ_VIEW, 0, cmd_shell_run },
	{ "utils", "tail", "server|SITE [-c N | -n N] FILE",
	    SHAPE_SHELL, 0, CMDLINE_WORDS_MAX, AUTHZ_VIEW, 0, cmd_shell_run },
	{ "utils", "grep", "server|SITE [-n -i -b] PATTERN FILE",
	    SHAPE_SHELL, 0, CMDLINE_WORDS_MAX, AUTHZ_VIEW, 0, cmd_shell_run },

	{ "sys", "sys_info", "server|client [SITE...]",
	    SHAPE_TARGETS, TARGETS_ONE, 0,
	    AUTHZ_OPERATE, 0, cmd_sys_info },
};

const size_t commands_count = sizeof(commands_table) /
    sizeof(commands_table[0]);

int
commands_may(const struct admind *ad, const char *user,
    enum authz_right right)
{
	const char	*site;
	json_t		*org;

	if (right == AUTHZ_LOGIN)
		return authz_allowed(&ad->policy, user, right, POLICY_SERVER);
	json_object_foreach(json_object_get(ad->policy.doc, "sites"), site,
	    org)
		if (authz_allowed(&ad->policy, user, right, site))
			return 1;
	return 0;
}

void
commands_list(struct command_run *run)
{
	const struct command	*c;
	json_t			*rows;
	size_t			 i, n = 0;

	rows = json_pack("[[s,s,s]]", "scope", "command", "usage");
	for (i = 0; rows != NULL && i < commands_count; i++) {
		c = &commands_table[i];
		if (!commands_may(run->r_ad, run->r_user, c->c_right))
			continue;
		json_array_append_new(rows, json_pack("[s,s,s]", c->c_scope,
		    c->c_name, c->c_usage));
		n++;
	}
	frame_table(&run->r_reply, rows);
	run_result(run, "%zu commands listed", n);
}

void
commands_taskname(struct command_run *run)
{
	frame_string(&run->r_reply, run->r_ad->project);
	run_result(run, "%s", run->r_ad->project);
}
