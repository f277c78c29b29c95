/*
 * rootca - the project's root CA as a startup kit carries it
 * (rootCA.pem), and the checks of what its key signed: the files of a
 * kit (kitsig.c) and the revocation list (revocation.c).
 *
 * Signatures are ECDSA P-256 over SHA-256, DER encoded, in base64, as
 * flprovision makes them. This module reads and checks; it holds no
 * private key and logs nothing.
 */
#ifndef FL_ROOTCA_H
#define FL_ROOTCA_H

#include <stddef.h>

#include <openssl/evp.h>

#include "digest.h"

/* A kit file, a revocation list: none is near this. */
#define ROOTCA_FILE_MAX		(4 * 1024 * 1024)

struct rootca {
	EVP_PKEY	*rc_key;
	/* SHA-256 of the certificate's DER encoding, lowercase hex. */
	char		 rc_fingerprint[DIGEST_HEX_LEN + 1];
};

/*
 * The root CA from PEM text: a CA certificate with an ECDSA P-256 key.
 * 0, or -1 with why in err.
 */
int	rootca_load(struct rootca *, const void *pem, size_t len, char *err,
	    size_t errlen);
void	rootca_free(struct rootca *);

/*
 * 1 when sig_b64 is the root's signature of the bytes of head followed
 * by the bytes of body (either may be empty), 0 otherwise.
 */
int	rootca_verify(const struct rootca *, const char *sig_b64,
	    const void *head, size_t headlen, const void *body, size_t bodylen);

/*
 * The whole of a regular file of at most max bytes, NUL-terminated
 * (the NUL not counted in *len), a link not followed. NULL with why in
 * err (errno is kept: ENOENT for a missing file). free(3) it; a secret
 * one is wiped first with rootca_forget.
 */
char	*rootca_read_file(const char *path, size_t max, size_t *len,
	    char *err, size_t errlen);
void	 rootca_forget(char *buf, size_t len);

#endif
