/*
 * tls_policy - what TLS netd speaks on both of its ports: TLS 1.2 and
 * 1.3 only, and under 1.2 only suites with an ephemeral key exchange
 * (forward secrecy) and an AEAD cipher. TLS 1.3's own suites all are.
 *
 * The training port gets it through grpc core, which reads the list from
 * the environment (GRPC_SSL_CIPHER_SUITES) and already refuses anything
 * older than TLS 1.2; the admin port sets it on its own OpenSSL context.
 */
#ifndef NETD_TLS_POLICY_H
#define NETD_TLS_POLICY_H

#define TLS_POLICY_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"

#endif
