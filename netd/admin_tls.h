/*
 * admin_tls - the admin port's TLS context. It says what TLS the port
 * speaks and which client certificates chain to the project's root; it
 * does not decide which of them is an admin (verify does).
 */
#ifndef NETD_ADMIN_TLS_H
#define NETD_ADMIN_TLS_H

#include <openssl/ssl.h>

/*
 * A server context with the server's key and certificate chain, client
 * certificates required and checked against the roots, then by verify
 * for the client's own certificate. NULL when a PEM is unusable.
 */
SSL_CTX	*admin_tls_context(const char *key_pem, const char *cert_pem,
	    const char *root_pem, SSL_verify_cb verify);

#endif
