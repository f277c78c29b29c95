/*
 * certinfo - when a certificate expires, for an operator's view: the
 * server's certificate in check_status, a warning ahead of time. It
 * checks no chain and trusts nothing: the TLS handshake does that.
 */
#ifndef FL_CERTINFO_H
#define FL_CERTINFO_H

#include <stddef.h>
#include <time.h>

/* Warn this many days before a certificate expires. */
#define CERTINFO_WARN_DAYS	30
#define CERTINFO_TIME_LEN	20	/* 2024-05-01T12:00:00Z */

/* The not-after time of the first certificate of PEM text, or of a
 * PEM file. 0, or -1 with why in err. */
int	certinfo_not_after(const void *pem, size_t len, time_t *not_after,
	    char *err, size_t errlen);
int	certinfo_file_not_after(const char *path, time_t *not_after,
	    char *err, size_t errlen);
/* Whole days from now until not_after, negative once it has passed. */
long	certinfo_days_left(time_t not_after, time_t now);
/* 1 when not_after is less than CERTINFO_WARN_DAYS away, or past. */
int	certinfo_expiring(time_t not_after, time_t now);
/* not_after as UTC text, "2024-05-01T12:00:00Z". */
void	certinfo_time(time_t, char out[CERTINFO_TIME_LEN + 1]);

#endif
