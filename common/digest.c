/*
 * digest - SHA-256 digests and random tokens.
 *
 * OpenSSL does the hashing. Tokens come from getrandom(2), which never
 * opens a file and so works under the seccomp filters; RAND_bytes is the
 * fallback on a kernel without it.
 */
#include <sys/random.h>

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "digest.h"
#include "log.h"

#define DIGEST_TOKEN_BYTES	(TOKEN_HEX_LEN / 2)

void
digest_hex(const unsigned char *bin, size_t len, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[bin[i] >> 4];
		out[2 * i + 1] = hex[bin[i] & 0xf];
	}
	out[2 * len] = '\0';
}

int
digest_is_hex(const char *s, size_t len)
{
	return strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

void
digest_sha256_hex(const void *buf, size_t len, char out[DIGEST_HEX_LEN + 1])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;

	/* Only an allocation failure inside OpenSSL gets here. */
	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != DIGEST_HEX_LEN / 2)
		fatalx("SHA-256 failed inside OpenSSL");
	digest_hex(md, mdlen, out);
}

static int
digest_getrandom(unsigned char *buf, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < len) {
		n = getrandom(buf + off, len - off, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

int
digest_random_token(char out[TOKEN_HEX_LEN + 1])
{
	unsigned char	 bin[DIGEST_TOKEN_BYTES];

	if (digest_getrandom(bin, sizeof(bin)) == -1 &&
	    RAND_bytes(bin, sizeof(bin)) != 1) {
		log_warnx("no random bytes for a token");
		out[0] = '\0';
		return -1;
	}
	digest_hex(bin, sizeof(bin), out);
	OPENSSL_cleanse(bin, sizeof(bin));
	return 0;
}

/*
 * digest_equal - the time taken depends on the lengths, never on the
 * content: a token's length is no secret, its characters are.
 */
int
digest_equal(const char *a, const char *b)
{
	size_t	 la, lb;
	int	 differ;

	if (a == NULL || b == NULL)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	differ = CRYPTO_memcmp(a, b, la < lb ? la : lb);
	return (la == lb) & (differ == 0);
}
