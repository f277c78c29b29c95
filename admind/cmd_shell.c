/*
 * cmd_shell - pwd, ls, cat, head, tail and grep, on the server's
 * workspace or a site's.
 *
 * For the server, common/wsfile.c runs the command inside admind, on
 * the workspace: no shell, no program, no link followed, only the
 * readable extensions. For a site the same words travel as sys.shell,
 * and the site's own wsfile.c applies the same rules to its workspace.
 * The words after the target are passed on as typed, quotes included,
 * so that both split them the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admind.h"
#include "wsfile.h"

/* shell_line - "NAME WORDS..." without the target, as typed */
static char *
shell_line(const struct command_run *run)
{
	const char	*rest = cmdline_rest(run->r_line, 2);
	char		*line;

	if (asprintf(&line, "%s%s%s", run->r_cmd->c_name,
	    rest[0] != '\0' ? " " : "", rest) == -1)
		return NULL;
	return line;
}

/* shell_server - the command on the server's workspace, here */
static void
shell_server(struct command_run *run, const char *line)
{
	struct wsfile_out	 out;
	char			 err[WSFILE_ERR_MAX];

	if (wsfile_run_line(run->r_ad->workspace, line, strlen(line), &out,
	    err, sizeof(err)) == -1) {
		run_fail(run, "%s", err);
		return;
	}
	frame_string(&run->r_reply, out.text != NULL ? out.text : "");
	run_result(run, "%zu bytes%s", out.len, out.truncated ?
	    ", cut" : "");
	wsfile_out_free(&out);
}

/* shell_site_answer - the site's output, or why there is none */
static void
shell_site_answer(struct command_run *run)
{
	const struct site_wait	*w = &run->r_waits[0];
	const char		*text;

	switch (w->w_state) {
	case WAIT_OK:
		text = json_string_value(json_object_get(w->w_body,
		    "output"));
		frame_string(&run->r_reply, text != NULL ? text : "");
		run_result(run, "%s answered", w->w_site);
		break;
	case WAIT_ERROR:
		text = json_string_value(json_object_get(w->w_body,
		    "error"));
		run_fail(run, "%s: %s", w->w_site, text != NULL ? text :
		    "refused, no reason given");
		break;
	case WAIT_ABSENT:
		run_fail(run, "%s is not connected", w->w_site);
		break;
	case WAIT_UNSENT:
		run_fail(run, "%s has too many requests waiting", w->w_site);
		break;
	default:
		run_fail(run, "%s did not reply within %d s", w->w_site,
		    run->r_ad->site_timeout);
		break;
	}
}

void
cmd_shell_run(struct command_run *run)
{
	char	*line;

	if ((line = shell_line(run)) == NULL) {
		run_fail(run, "admind is out of memory");
		return;
	}
	if (run->r_args.target == TARGET_SERVER)
		shell_server(run, line);
	else {
		run_to_sites(run, "sys.shell", json_pack("{s:s}", "cmd",
		    line));
		if (run->r_nwaits == 1)
			run->r_then = shell_site_answer;
	}
	free(line);
}
