/*
 * cmd_sys - sys_info: the server's system and the sites'.
 *
 * The server's part is read by admind itself from /proc and os-release
 * (common/sysinfo.c), spawning nothing; a site answers sys.info with the
 * same fields, read by the same module.
 */
#include <stdio.h>

#include "admind.h"
#include "sysinfo.h"

static const char *const sys_columns[] = {
	"os", "kernel", "cpus", "memory_bytes", "load", "uptime_seconds",
	"workspace", NULL
};

/* sys_table - the server's row, then each site's */
static void
sys_table(struct command_run *run)
{
	run_sites_table(run, sys_columns);
}

void
cmd_sys_info(struct command_run *run)
{
	struct sysinfo_host	 host;
	json_t			*body;
	char			 err[256] = "out of memory";

	if (run_has_server(run)) {
		if (sysinfo_collect(&host, err, sizeof(err)) == -1 ||
		    (body = sysinfo_json(&host, run->r_ad->workspace)) ==
		    NULL) {
			run_fail(run, "server: %s", err);
			return;
		}
		run_add_answer(run, "server", body);
	}
	run_to_sites(run, "sys.info", json_object());
	run->r_then = sys_table;
}
