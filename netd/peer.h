/*
 * peer - who is on the other end of a TLS connection, from the
 * certificate the handshake verified: its common name, its kind (the
 * subject's OU, set by flprovision) and its SHA-256 fingerprint.
 *
 * This module reads certificates; it does not verify them (grpc and
 * OpenSSL did, against the project's root CA) and it does not decide
 * what a kind may do.
 */
#ifndef NETD_PEER_H
#define NETD_PEER_H

#include <stddef.h>

#include <openssl/x509.h>

#include "envelope.pb-c.h"

/* X.509's upper bound for a common name is 64 characters. */
#define PEER_CN_MAX		64
#define PEER_FINGERPRINT_LEN	64	/* SHA-256, lowercase hex */
#define PEER_ADDRESS_MAX	128

struct peer {
	char		 common_name[PEER_CN_MAX + 1];
	Flipc__PeerKind	 kind;
	char		 fingerprint[PEER_FINGERPRINT_LEN + 1];
	char		 address[PEER_ADDRESS_MAX + 1];
};

/*
 * Fill peer from the verified common name (not NUL-terminated) and the
 * PEM certificate of the connection. Returns 0, or -1 after logging when
 * either is unusable. A certificate without exactly one known OU gets
 * kind PEER_NONE.
 */
int		 peer_identify(struct peer *, const char *cn, size_t cnlen,
		    const char *pem, size_t pemlen, const char *address);
/* The same from a verified certificate: the admin port's. */
int		 peer_identify_cert(struct peer *, X509 *,
		    const char *address);
const char	*peer_kind_name(Flipc__PeerKind);

#endif
