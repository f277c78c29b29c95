/*
 * sysinfo - read a host's facts from /proc and os-release.
 *
 * Each file is small and read whole with open and read, the calls that
 * every confined daemon already makes. A system without os-release is
 * reported by its kernel's name; a /proc file that cannot be read fails
 * the whole report, naming the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysinfo.h"

#define SYSINFO_FILE_MAX	8192

/* sysinfo_read - a small file, NUL-terminated; -1 with errno */
static int
sysinfo_read(const char *path, char *buf, size_t size)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while (off + 1 < size) {
		if ((n = read(fd, buf + off, size - 1 - off)) == -1) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		off += n;
	}
	close(fd);
	buf[off] = '\0';
	return 0;
}

/* sysinfo_line - the first line of a file, printable, into out */
static int
sysinfo_line(const char *path, char *out, size_t size)
{
	size_t	 i;

	if (sysinfo_read(path, out, size) == -1)
		return -1;
	for (i = 0; out[i] != '\0' && out[i] != '\n'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '?';
	out[i] = '\0';
	return 0;
}

/* sysinfo_unquote - an os-release value, unquoted and printable */
static void
sysinfo_unquote(char *value, char *out, size_t size)
{
	size_t	 len, i;

	if (*value == '"' || *value == '\'')
		value++;
	len = strlen(value);
	if (len > 0 && (value[len - 1] == '"' || value[len - 1] == '\''))
		value[--len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 ||
		    (unsigned char)value[i] >= 0x7f)
			value[i] = '?';
	snprintf(out, size, "%s", value);
}

/* sysinfo_os - PRETTY_NAME of os-release; 0 if there is none */
static int
sysinfo_os(char *out, size_t size)
{
	static const char *const paths[] = {
		"/etc/os-release", "/usr/lib/os-release"
	};
	char	 buf[SYSINFO_FILE_MAX], *line, *save;
	size_t	 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (sysinfo_read(paths[i], buf, sizeof(buf)) == -1)
			continue;
		for (line = strtok_r(buf, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
				sysinfo_unquote(line + 12, out, size);
				return 1;
			}
	}
	return 0;
}

/* sysinfo_kernel - "Linux 6.1.0-18-amd64" */
static int
sysinfo_kernel(struct sysinfo_host *h)
{
	char	 type[32], release[96];

	if (sysinfo_line("/proc/sys/kernel/ostype", type, sizeof(type)) ==
	    -1 || sysinfo_line("/proc/sys/kernel/osrelease", release,
	    sizeof(release)) == -1)
		return -1;
	snprintf(h->kernel, sizeof(h->kernel), "%s %s", type, release);
	if (!sysinfo_os(h->os, sizeof(h->os)))
		snprintf(h->os, sizeof(h->os), "%s", type);
	return 0;
}

/* sysinfo_memory - MemTotal of /proc/meminfo, in bytes */
static int
sysinfo_memory(struct sysinfo_host *h)
{
	char	 buf[SYSINFO_FILE_MAX], *p;

	if (sysinfo_read("/proc/meminfo", buf, sizeof(buf)) == -1)
		return -1;
	if ((p = strstr(buf, "MemTotal:")) == NULL ||
	    sscanf(p + 9, "%lld", &h->memory_bytes) != 1) {
		errno = EINVAL;
		return -1;
	}
	h->memory_bytes *= 1024;
	return 0;
}

/* sysinfo_load - the 1, 5 and 15 minute averages, as /proc shows them */
static int
sysinfo_load(struct sysinfo_host *h)
{
	char	 buf[256];
	double	 avg[3];

	if (sysinfo_read("/proc/loadavg", buf, sizeof(buf)) == -1)
		return -1;
	if (sscanf(buf, "%lf %lf %lf", &avg[0], &avg[1], &avg[2]) != 3) {
		errno = EINVAL;
		return -1;
	}
	snprintf(h->load, sizeof(h->load), "%.2f %.2f %.2f", avg[0], avg[1],
	    avg[2]);
	return 0;
}

static int
sysinfo_uptime(struct sysinfo_host *h)
{
	char	 buf[256];
	double	 up;

	if (sysinfo_read("/proc/uptime", buf, sizeof(buf)) == -1)
		return -1;
	if (sscanf(buf, "%lf", &up) != 1 || up < 0) {
		errno = EINVAL;
		return -1;
	}
	h->uptime_seconds = (long long)up;
	return 0;
}

int
sysinfo_collect(struct sysinfo_host *h, char *err, size_t errlen)
{
	const char	*failed = NULL;

	memset(h, 0, sizeof(*h));
	if (sysinfo_kernel(h) == -1)
		failed = "/proc/sys/kernel";
	else if (sysinfo_memory(h) == -1)
		failed = "/proc/meminfo";
	else if (sysinfo_load(h) == -1)
		failed = "/proc/loadavg";
	else if (sysinfo_uptime(h) == -1)
		failed = "/proc/uptime";
	if (failed != NULL) {
		snprintf(err, errlen, "cannot read %s: %s", failed,
		    strerror(errno));
		return -1;
	}
	/* glibc reads /sys/devices/system/cpu/online, or /proc/stat. */
	if ((h->cpus = sysconf(_SC_NPROCESSORS_ONLN)) < 1)
		h->cpus = 1;
	return 0;
}

json_t *
sysinfo_json(const struct sysinfo_host *h, const char *workspace)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:s, s:I, s:s}",
	    "os", h->os, "kernel", h->kernel, "cpus", (json_int_t)h->cpus,
	    "memory_bytes", (json_int_t)h->memory_bytes, "load", h->load,
	    "uptime_seconds", (json_int_t)h->uptime_seconds,
	    "workspace", workspace);
}
