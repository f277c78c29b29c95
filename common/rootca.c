/*
 * rootca - load the project's root CA and check what its key signed.
 *
 * OpenSSL parses the certificate and checks the signatures. A root CA
 * whose key is not ECDSA P-256 is refused: flprovision makes no other,
 * and a signature scheme chosen by the file's author is a door left
 * open. Errors are written into the caller's buffer, never logged here.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "rootca.h"

/* A DER ECDSA P-256 signature is at most 72 bytes: 96 in base64. */
#define ROOTCA_SIG_B64_MAX	128

static int	rootca_fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
rootca_fail(char *err, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* rootca_p256 - the key is ECDSA on the P-256 curve */
static int
rootca_p256(EVP_PKEY *key)
{
	char	 group[64];
	size_t	 len = 0;

	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
		return 0;
	if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1)
		return 0;
	return strcmp(group, "prime256v1") == 0;
}

/* rootca_fingerprint - SHA-256 of the certificate's DER encoding */
static int
rootca_fingerprint(X509 *cert, char out[DIGEST_HEX_LEN + 1])
{
	unsigned char	*der = NULL;
	int		 len;

	if ((len = i2d_X509(cert, &der)) <= 0)
		return -1;
	digest_sha256_hex(der, (size_t)len, out);
	OPENSSL_free(der);
	return 0;
}

int
rootca_load(struct rootca *rc, const void *pem, size_t len, char *err,
    size_t errlen)
{
	BIO	*bio;
	X509	*cert, *more;
	int	 rc_ok = -1;

	memset(rc, 0, sizeof(*rc));
	if (len > ROOTCA_FILE_MAX ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return rootca_fail(err, errlen, "rootCA.pem is too large");
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	/* A second CA would be trusted by TLS without being checked here. */
	more = cert != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	ERR_clear_error();
	if (cert == NULL)
		return rootca_fail(err, errlen, "rootCA.pem is not a PEM "
		    "certificate");

	if (more != NULL)
		rootca_fail(err, errlen, "rootCA.pem holds more than one "
		    "certificate");
	else if (X509_check_ca(cert) == 0)
		rootca_fail(err, errlen, "rootCA.pem is not a CA certificate");
	else if ((rc->rc_key = X509_get_pubkey(cert)) == NULL ||
	    !rootca_p256(rc->rc_key))
		rootca_fail(err, errlen, "rootCA.pem's key is not ECDSA "
		    "P-256");
	else if (rootca_fingerprint(cert, rc->rc_fingerprint) == -1)
		rootca_fail(err, errlen, "rootCA.pem cannot be encoded");
	else
		rc_ok = 0;
	X509_free(cert);
	X509_free(more);
	if (rc_ok == -1)
		rootca_free(rc);
	return rc_ok;
}

void
rootca_free(struct rootca *rc)
{
	EVP_PKEY_free(rc->rc_key);
	memset(rc, 0, sizeof(*rc));
}

/* rootca_base64 - decode a signature; its length, or -1 */
static int
rootca_base64(const char *b64, unsigned char *out)
{
	size_t	 len = strlen(b64), pad = 0;
	int	 n;

	if (len == 0 || len % 4 != 0 || len > ROOTCA_SIG_B64_MAX)
		return -1;
	if (b64[len - 1] == '=')
		pad++;
	if (b64[len - 2] == '=')
		pad++;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if ((n = EVP_DecodeBlock(out, (const unsigned char *)b64,
	    (int)len)) < (int)pad)
		return -1;
	return n - (int)pad;
}

int
rootca_verify(const struct rootca *rc, const char *sig_b64, const void *head,
    size_t headlen, const void *body, size_t bodylen)
{
	unsigned char	 sig[ROOTCA_SIG_B64_MAX];
	EVP_MD_CTX	*ctx;
	int		 siglen, ok;

	if (rc->rc_key == NULL || sig_b64 == NULL ||
	    (siglen = rootca_base64(sig_b64, sig)) <= 0)
		return 0;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    rc->rc_key) == 1 &&
	    (headlen == 0 || EVP_DigestVerifyUpdate(ctx, head, headlen) == 1) &&
	    (bodylen == 0 || EVP_DigestVerifyUpdate(ctx, body, bodylen) == 1) &&
	    EVP_DigestVerifyFinal(ctx, sig, (size_t)siglen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* rootca_read_fd - the rest of fd, expected to be size bytes */
static char *
rootca_read_fd(int fd, size_t size, size_t *len)
{
	char	*buf;
	size_t	 off = 0;
	ssize_t	 n = 0;

	if ((buf = malloc(size + 1)) == NULL)
		return NULL;
	/* One byte more than expected: a file that grows is refused. */
	while (off <= size) {
		n = read(fd, buf + off, size + 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (n == -1 || off != size) {
		if (n != -1)
			errno = EAGAIN;
		rootca_forget(buf, size + 1);
		return NULL;
	}
	buf[off] = '\0';
	*len = off;
	return buf;
}

char *
rootca_read_file(const char *path, size_t max, size_t *len, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		saved = errno;
		if (errno == ELOOP)
			rootca_fail(err, errlen, "%s is a symbolic link", path);
		else
			rootca_fail(err, errlen, "%s: %s", path,
			    strerror(errno));
		errno = saved;
		return NULL;
	}
	buf = NULL;
	if (fstat(fd, &st) == -1)
		rootca_fail(err, errlen, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rootca_fail(err, errlen, "%s is not a regular file", path);
	else if ((size_t)st.st_size > max)
		rootca_fail(err, errlen, "%s is larger than %zu bytes", path,
		    max);
	else if ((buf = rootca_read_fd(fd, (size_t)st.st_size, len)) == NULL)
		rootca_fail(err, errlen, "%s: %s", path, errno == EAGAIN ?
		    "changed while it was read" : strerror(errno));
	close(fd);
	if (buf == NULL)
		errno = EINVAL;
	return buf;
}

void
rootca_forget(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}
