/*
 * fuzz_console - a console transmission read the way admind reads one
 * before any session or right is looked at: its documents and items
 * (frame.c), then the command line's words, its command and the shape
 * of its arguments (cmdline.c).
 *
 * What is accepted must hold what the later steps rely on: a command
 * line with no control character, sites that are site names, counts
 * within the line's words.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../admind/admind.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* fuzz_console_args - abort unless the arguments are what they claim */
static void
fuzz_console_args(const struct cmdline *cl, const struct cmd_args *a)
{
	size_t	 i;

	if (a->nsites > (size_t)cl->argc || a->nwords > cl->argc)
		abort();
	for (i = 0; i < a->nsites; i++)
		if (!cmdline_site_name(a->sites[i]))
			abort();
	if (a->target != 0 && a->target != TARGET_SERVER &&
	    a->target != TARGET_CLIENT && a->target != TARGET_ALL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct command	*c;
	struct frame_request	 req;
	struct cmdline		 cl;
	struct cmd_args		 a;
	char			 ferr[FRAME_ERR_MAX], err[CMDLINE_ERR_MAX];
	size_t			 i;

	if (frame_request_parse(data, size, &req, ferr) == -1)
		return 0;
	if (cmdline_split(req.command, &cl, err) == 0) {
		for (i = 0; req.command[i] != '\0'; i++)
			if ((unsigned char)req.command[i] < 0x20)
				abort();
		if ((c = cmdline_find(commands_table, commands_count,
		    cl.argv[0], err)) != NULL &&
		    cmdline_args(c, &cl, &a, err) == 0)
			fuzz_console_args(&cl, &a);
		if (strlen(cmdline_rest(req.command, 2)) >
		    strlen(req.command))
			abort();
	}
	cmdline_free(&cl);
	frame_request_free(&req);
	return 0;
}
