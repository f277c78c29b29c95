/*
 * digest - SHA-256 in lowercase hex, for update provenance and
 * certificate fingerprints; random tokens. OpenSSL does the work.
 */
#ifndef FL_DIGEST_H
#define FL_DIGEST_H

#include <stddef.h>

#define DIGEST_HEX_LEN	64
#define TOKEN_HEX_LEN	32

/* len bytes as 2 * len lowercase hex digits and a NUL. */
void	digest_hex(const unsigned char *, size_t len, char *out);
/* 1 when s is exactly len lowercase hex digits. */
int	digest_is_hex(const char *s, size_t len);
void	digest_sha256_hex(const void *, size_t, char out[DIGEST_HEX_LEN + 1]);
/* 128 random bits from the kernel as 32 hex characters. -1 on failure. */
int	digest_random_token(char out[TOKEN_HEX_LEN + 1]);
/* Constant-time comparison of two NUL-terminated strings. */
int	digest_equal(const char *, const char *);

#endif
