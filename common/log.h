/*
 * log - one line per event on standard error.
 *
 * Every daemon logs here and nowhere else: syslog(3) may reconnect with
 * socket(2) at any time, which the seccomp filters forbid. systemd's
 * journal or the launcher collects standard error. Never pass a key, a
 * password or a token to these functions.
 */
#ifndef FL_LOG_H
#define FL_LOG_H

#include <stdarg.h>

void	log_init(const char *progname, int verbose);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
