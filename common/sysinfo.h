/*
 * sysinfo - what sys_info reports about a host: its system, kernel,
 * processors, memory, load and uptime, read from /proc and os-release
 * inside the calling process. It starts no program, and it makes no
 * uname(2) or sysinfo(2) call, which admind's seccomp filter does not
 * list: /proc/sys/kernel says the same. The server's admind and each
 * site's flsite report the same fields.
 */
#ifndef FL_SYSINFO_H
#define FL_SYSINFO_H

#include <stddef.h>

#include <jansson.h>

#define SYSINFO_TEXT_MAX	128

struct sysinfo_host {
	char		 os[SYSINFO_TEXT_MAX];	   /* os-release PRETTY_NAME */
	char		 kernel[SYSINFO_TEXT_MAX]; /* "Linux 6.1.0-18-amd64" */
	long		 cpus;			   /* online */
	long long	 memory_bytes;		   /* MemTotal */
	char		 load[64];		   /* "0.52 0.31 0.12" */
	long long	 uptime_seconds;
};

/* 0, or -1 with the file that could not be read in err. */
int	sysinfo_collect(struct sysinfo_host *, char *err, size_t errlen);

/*
 * The reply's object: {"os", "kernel", "cpus", "memory_bytes", "load"
 * (the 1, 5 and 15 minute averages, "0.52 0.31 0.12"), "uptime_seconds",
 * "workspace"}. NULL when memory runs out or workspace is not UTF-8.
 */
json_t	*sysinfo_json(const struct sysinfo_host *, const char *workspace);

#endif
