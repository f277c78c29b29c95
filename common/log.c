/*
 * log - one line per event on standard error.
 *
 * Lines carry a UTC time, the program name and a level. The "warn" and
 * "fatal" forms add the text of errno. Output is unbuffered and written
 * with one write(2) per line, so lines from several threads never mix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_progname = "flserver";
static int		 log_verbose;

void
log_init(const char *progname, int verbose)
{
	log_progname = progname;
	log_verbose = verbose;
}

/* log_line - format one line and write it in one piece */
static void
log_line(const char *level, const char *errtext, const char *fmt, va_list ap)
{
	char		 line[2048], stamp[32];
	struct timespec	 now;
	struct tm	 tm;
	int		 n, m;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	n = snprintf(line, sizeof(line), "%s.%03ldZ %s %s: ", stamp,
	    now.tv_nsec / 1000000, log_progname, level);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m < 0)
		return;
	n = (size_t)(n + m) >= sizeof(line) - 1 ? (int)sizeof(line) - 2 : n + m;
	if (errtext != NULL) {
		m = snprintf(line + n, sizeof(line) - n, ": %s", errtext);
		if (m > 0)
			n = (size_t)(n + m) >= sizeof(line) - 1 ?
			    (int)sizeof(line) - 2 : n + m;
	}
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_line("warning", strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_line("warning", NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_line("info", NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_line("debug", NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_line("fatal", strerror(saved), fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_line("fatal", NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
