/*
 * ca_fixture - a throwaway root CA for the unit tests of kitsig and
 * revocation: an ECDSA P-256 key, a self-signed CA certificate of it,
 * signatures made as flprovision makes them (DER, base64), and files
 * written into a fresh folder. OpenSSL makes everything; a failure ends
 * the test.
 */
#ifndef CA_FIXTURE_H
#define CA_FIXTURE_H

#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct ca {
	EVP_PKEY	*key;
	char		*pem;		/* the certificate */
	char		 dir[64];	/* a fresh folder */
};

/* ca_cert - a certificate of key signed by signer, valid for days */
static inline X509 *
ca_cert(EVP_PKEY *key, EVP_PKEY *signer, const char *cn, int is_ca,
    long days)
{
	X509		*cert;
	X509_NAME	*name;
	X509_EXTENSION	*ext;
	X509V3_CTX	 ctx;

	assert_non_null(cert = X509_new());
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), days * 86400);
	X509_set_pubkey(cert, key);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(cert, name);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	assert_non_null(ext = X509V3_EXT_conf_nid(NULL, &ctx,
	    NID_basic_constraints, is_ca ? "critical,CA:TRUE" : "CA:FALSE"));
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(cert, signer, EVP_sha256()) > 0);
	return cert;
}

/* ca_pem - a certificate as PEM text */
static inline char *
ca_pem(X509 *cert)
{
	BIO	*bio;
	char	*data, *out;
	long	 len;

	assert_non_null(bio = BIO_new(BIO_s_mem()));
	assert_int_equal(PEM_write_bio_X509(bio, cert), 1);
	len = BIO_get_mem_data(bio, &data);
	assert_non_null(out = strndup(data, (size_t)len));
	BIO_free(bio);
	return out;
}

static inline void
ca_new(struct ca *ca)
{
	X509	*cert;

	memset(ca, 0, sizeof(*ca));
	assert_non_null(ca->key = EVP_EC_gen("P-256"));
	cert = ca_cert(ca->key, ca->key, "test-project", 1, 365);
	ca->pem = ca_pem(cert);
	X509_free(cert);
	snprintf(ca->dir, sizeof(ca->dir), "/tmp/test_ca.XXXXXX");
	assert_non_null(mkdtemp(ca->dir));
}

static inline void
ca_free(struct ca *ca)
{
	char	 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ca->dir);
	assert_int_equal(system(cmd), 0);
	EVP_PKEY_free(ca->key);
	free(ca->pem);
}

/* ca_sign - base64 of the DER signature of head then body; free(3) it */
static inline char *
ca_sign(EVP_PKEY *key, const void *head, size_t headlen, const void *body,
    size_t bodylen)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 sig[128];
	char		*b64;
	size_t		 siglen = sizeof(sig);

	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL,
	    key), 1);
	if (headlen > 0)
		assert_int_equal(EVP_DigestSignUpdate(ctx, head, headlen), 1);
	if (bodylen > 0)
		assert_int_equal(EVP_DigestSignUpdate(ctx, body, bodylen), 1);
	assert_int_equal(EVP_DigestSignFinal(ctx, sig, &siglen), 1);
	EVP_MD_CTX_free(ctx);
	assert_non_null(b64 = calloc(1, 4 * ((siglen + 2) / 3) + 1));
	EVP_EncodeBlock((unsigned char *)b64, sig, (int)siglen);
	return b64;
}

/* ca_path - dir/name */
static inline const char *
ca_path(const struct ca *ca, const char *name)
{
	static char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", ca->dir, name);
	return path;
}

/* ca_write - a file of the folder, whole */
static inline void
ca_write(const struct ca *ca, const char *name, const void *data,
    size_t len)
{
	FILE	*f;

	assert_non_null(f = fopen(ca_path(ca, name), "w"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

#endif
