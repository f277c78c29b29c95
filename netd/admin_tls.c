/*
 * admin_tls - the admin port's OpenSSL context, from the PEM text netd
 * read at start-up: tls_policy.h's versions and suites, no compression,
 * no renegotiation, no session resumption (one command per connection
 * has nothing to resume), and client certificates required, verified
 * against the project's root CA only, from memory: no file is opened.
 */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "admin_tls.h"
#include "tls_policy.h"

/* admin_tls_certs - the server's certificate chain, from PEM */
static int
admin_tls_certs(SSL_CTX *ctx, const char *pem)
{
	BIO	*bio;
	X509	*cert;
	int	 rv = -1;

	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		return -1;
	if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL ||
	    SSL_CTX_use_certificate(ctx, cert) != 1)
		goto done;
	X509_free(cert);
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, cert) != 1)
			goto done;
	rv = 0;
	cert = NULL;
done:
	X509_free(cert);
	BIO_free(bio);
	ERR_clear_error();
	return rv;
}

/* admin_tls_key - the server's private key, from PEM */
static int
admin_tls_key(SSL_CTX *ctx, const char *pem)
{
	BIO		*bio;
	EVP_PKEY	*key;
	int		 rv = -1;

	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		return -1;
	if ((key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) != NULL &&
	    SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
	    SSL_CTX_check_private_key(ctx) == 1)
		rv = 0;
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rv;
}

/* admin_tls_roots - the CAs that client certificates must chain to */
static int
admin_tls_roots(SSL_CTX *ctx, const char *pem)
{
	BIO	*bio;
	X509	*cert;
	int	 n = 0;

	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		return -1;
	while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx),
		    cert) != 1 || SSL_CTX_add_client_CA(ctx, cert) != 1)
			n = -1;
		else if (n >= 0)
			n++;
		X509_free(cert);
	}
	BIO_free(bio);
	ERR_clear_error();
	return n > 0 ? 0 : -1;
}

SSL_CTX *
admin_tls_context(const char *key_pem, const char *cert_pem,
    const char *root_pem, SSL_verify_cb verify)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return NULL;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_POLICY_CIPHERS) != 1 ||
	    SSL_CTX_set_num_tickets(ctx, 0) != 1)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_CLIENT_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);

	if (admin_tls_certs(ctx, cert_pem) == -1 ||
	    admin_tls_key(ctx, key_pem) == -1 ||
	    admin_tls_roots(ctx, root_pem) == -1)
		goto fail;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify);
	/* The project's CA signs every kit itself: no chain is longer. */
	SSL_CTX_set_verify_depth(ctx, 1);
	return ctx;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}
