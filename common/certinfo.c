/*
 * certinfo - a certificate's expiry, read with OpenSSL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certinfo.h"
#include "rootca.h"

#define CERTINFO_DAY	86400

int
certinfo_not_after(const void *pem, size_t len, time_t *not_after,
    char *err, size_t errlen)
{
	BIO		*bio;
	X509		*cert;
	struct tm	 tm;
	int		 rc = -1;

	if (len > ROOTCA_FILE_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		snprintf(err, errlen, "not a PEM certificate");
		return -1;
	}
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	memset(&tm, 0, sizeof(tm));
	if (cert == NULL)
		snprintf(err, errlen, "not a PEM certificate");
	else if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1 ||
	    (*not_after = timegm(&tm)) == (time_t)-1)
		snprintf(err, errlen, "the certificate's expiry is unreadable");
	else
		rc = 0;
	X509_free(cert);
	return rc;
}

int
certinfo_file_not_after(const char *path, time_t *not_after, char *err,
    size_t errlen)
{
	char	*pem, why[256];
	size_t	 len;
	int	 rc;

	if ((pem = rootca_read_file(path, ROOTCA_FILE_MAX, &len, err,
	    errlen)) == NULL)
		return -1;
	if ((rc = certinfo_not_after(pem, len, not_after, why,
	    sizeof(why))) == -1)
		snprintf(err, errlen, "%s: %s", path, why);
	free(pem);
	return rc;
}

long
certinfo_days_left(time_t not_after, time_t now)
{
	double	 d = difftime(not_after, now) / CERTINFO_DAY;

	return d < 0 ? -(long)(-d + 0.999999) : (long)d;
}

int
certinfo_expiring(time_t not_after, time_t now)
{
	return difftime(not_after, now) <
	    (double)CERTINFO_WARN_DAYS * CERTINFO_DAY;
}

void
certinfo_time(time_t t, char out[CERTINFO_TIME_LEN + 1])
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, CERTINFO_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ",
	    &tm) == 0)
		snprintf(out, CERTINFO_TIME_LEN + 1, "?");
}
