/*
 * cmd_sys - sys_info: the server's system and the sites'.
 *
 * The server's part is read by admind itself, spawning nothing: what
 * never changes (uname, the OS release, the number of processors) once
 * at start, before the seccomp filter; memory, load and uptime from
 * /proc at each command. A site answers sys.info with the same fields.
 */
#include <sys/utsname.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admind.h"

static const char *const sys_columns[] = {
	"os", "kernel", "cpus", "memory_bytes", "load", "uptime_seconds",
	"workspace", NULL
};

/* sys_read - a small /proc or /etc file's text; 0 bytes if unreadable */
static size_t
sys_read(const char *path, char *buf, size_t size)
{
	ssize_t	 n;
	int	 fd;

	buf[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (size_t)n;
}

/* sys_os_name - PRETTY_NAME of os-release, unquoted */
static void
sys_os_name(char *out, size_t size)
{
	char	 buf[4096], *p, *end;

	snprintf(out, size, "Linux");
	if (sys_read("/etc/os-release", buf, sizeof(buf)) == 0 ||
	    (p = strstr(buf, "PRETTY_NAME=")) == NULL)
		return;
	p += strlen("PRETTY_NAME=");
	if (*p == '"')
		p++;
	end = p + strcspn(p, "\"\n");
	*end = '\0';
	snprintf(out, size, "%s", p);
}

void
cmd_sys_init(struct sys_static *ss)
{
	struct utsname	 u;
	long		 cpus;

	memset(ss, 0, sizeof(*ss));
	sys_os_name(ss->ss_os, sizeof(ss->ss_os));
	if (uname(&u) == 0) {
		snprintf(ss->ss_kernel, sizeof(ss->ss_kernel), "%s %s",
		    u.sysname, u.release);
		snprintf(ss->ss_machine, sizeof(ss->ss_machine), "%s",
		    u.machine);
		snprintf(ss->ss_host, sizeof(ss->ss_host), "%s", u.nodename);
	}
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	ss->ss_cpus = cpus > 0 ? cpus : 1;
}

/* sys_memory - MemTotal of /proc/meminfo in bytes, or -1 */
static json_int_t
sys_memory(void)
{
	char		 buf[8192], *p;
	long long	 kb;

	if (sys_read("/proc/meminfo", buf, sizeof(buf)) == 0 ||
	    (p = strstr(buf, "MemTotal:")) == NULL ||
	    sscanf(p, "MemTotal: %lld kB", &kb) != 1)
		return -1;
	return (json_int_t)kb * 1024;
}

/* sys_server - the server's answer, as a site's sys.info would be */
static json_t *
sys_server(const struct admind *ad)
{
	const struct sys_static	*ss = &ad->sys;
	char			 buf[128], load[64];
	double			 l1, l5, l15, up = 0;

	load[0] = '\0';
	if (sys_read("/proc/loadavg", buf, sizeof(buf)) > 0 &&
	    sscanf(buf, "%lf %lf %lf", &l1, &l5, &l15) == 3)
		snprintf(load, sizeof(load), "%.2f %.2f %.2f", l1, l5, l15);
	if (sys_read("/proc/uptime", buf, sizeof(buf)) > 0)
		(void)sscanf(buf, "%lf", &up);
	return json_pack("{s:s, s:s, s:i, s:I, s:s, s:I, s:s}",
	    "os", ss->ss_os, "kernel", ss->ss_kernel, "cpus",
	    (int)ss->ss_cpus, "memory_bytes", sys_memory(), "load", load,
	    "uptime_seconds", (json_int_t)up, "workspace", ad->workspace);
}

/* sys_table - the server's row, then each site's */
static void
sys_table(struct command_run *run)
{
	run_sites_table(run, sys_columns);
}

void
cmd_sys_info(struct command_run *run)
{
	if (run_has_server(run))
		run_add_answer(run, "server", sys_server(run->r_ad));
	run_to_sites(run, "sys.info", json_object());
	run->r_then = sys_table;
}
