/*
 * peer - the identity of a site, server or admin from its certificate.
 *
 * flprovision writes the kind of every certificate into its subject's
 * organizational unit: OU=server, OU=site or OU=admin. A certificate
 * with no OU, an unknown one or several is of no kind, and the training
 * port refuses it. The fingerprint is the SHA-256 of the DER encoding,
 * as `openssl x509 -fingerprint -sha256` prints it, in lowercase hex
 * without colons: revocation lists name certificates by it.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log.h"
#include "peer.h"

static const struct {
	const char	*ou;
	Flipc__PeerKind	 kind;
} peer_kinds[] = {
	{ "server",	FLIPC__PEER_KIND__PEER_SERVER },
	{ "site",	FLIPC__PEER_KIND__PEER_SITE },
	{ "admin",	FLIPC__PEER_KIND__PEER_ADMIN },
};

const char *
peer_kind_name(Flipc__PeerKind kind)
{
	size_t	 i;

	for (i = 0; i < sizeof(peer_kinds) / sizeof(peer_kinds[0]); i++)
		if (peer_kinds[i].kind == kind)
			return peer_kinds[i].ou;
	return "none";
}

/* peer_printable - only printable ASCII goes into logs and envelopes */
static int
peer_printable(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

/* peer_ou_kind - the kind that one OU value names */
static Flipc__PeerKind
peer_ou_kind(const ASN1_STRING *ou)
{
	const unsigned char	*value = ASN1_STRING_get0_data(ou);
	size_t			 len = (size_t)ASN1_STRING_length(ou), i;

	for (i = 0; i < sizeof(peer_kinds) / sizeof(peer_kinds[0]); i++)
		if (strlen(peer_kinds[i].ou) == len &&
		    memcmp(peer_kinds[i].ou, value, len) == 0)
			return peer_kinds[i].kind;
	return FLIPC__PEER_KIND__PEER_NONE;
}

/* peer_kind - the kind from the subject's only OU */
static Flipc__PeerKind
peer_kind(X509 *cert)
{
	X509_NAME	*subject = X509_get_subject_name(cert);
	X509_NAME_ENTRY	*entry;
	int		 first, next;

	first = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName,
	    -1);
	if (first < 0)
		return FLIPC__PEER_KIND__PEER_NONE;
	next = X509_NAME_get_index_by_NID(subject, NID_organizationalUnitName,
	    first);
	if (next >= 0)
		return FLIPC__PEER_KIND__PEER_NONE;
	entry = X509_NAME_get_entry(subject, first);
	return peer_ou_kind(X509_NAME_ENTRY_get_data(entry));
}

/* peer_fingerprint - SHA-256 of the DER certificate, lowercase hex */
static int
peer_fingerprint(X509 *cert, char out[PEER_FINGERPRINT_LEN + 1])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;

	if (!X509_digest(cert, EVP_sha256(), md, &mdlen) ||
	    mdlen * 2 != PEER_FINGERPRINT_LEN)
		return -1;
	for (i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* peer_read_pem - the first certificate of a PEM text */
static X509 *
peer_read_pem(const char *pem, size_t pemlen)
{
	BIO	*bio;
	X509	*cert;

	if (pemlen > INT_MAX)
		return NULL;
	if ((bio = BIO_new_mem_buf(pem, (int)pemlen)) == NULL)
		return NULL;
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return cert;
}

/* peer_name - set the common name, unless it is unusable */
static int
peer_name(struct peer *peer, const char *cn, size_t cnlen)
{
	if (cnlen == 0 || cnlen > PEER_CN_MAX || !peer_printable(cn, cnlen)) {
		log_warnx("peer %s: unusable certificate common name",
		    peer->address);
		return -1;
	}
	memcpy(peer->common_name, cn, cnlen);
	peer->common_name[cnlen] = '\0';
	return 0;
}

/* peer_describe - the kind and the fingerprint of a named peer */
static int
peer_describe(struct peer *peer, X509 *cert)
{
	peer->kind = peer_kind(cert);
	if (peer_fingerprint(cert, peer->fingerprint) == -1) {
		log_warnx("peer %s (%s): no certificate fingerprint",
		    peer->address, peer->common_name);
		return -1;
	}
	return 0;
}

int
peer_identify(struct peer *peer, const char *cn, size_t cnlen,
    const char *pem, size_t pemlen, const char *address)
{
	X509	*cert;
	int	 rv;

	memset(peer, 0, sizeof(*peer));
	snprintf(peer->address, sizeof(peer->address), "%s", address);
	if (peer_name(peer, cn, cnlen) == -1)
		return -1;
	if ((cert = peer_read_pem(pem, pemlen)) == NULL) {
		log_warnx("peer %s (%s): unreadable certificate",
		    peer->address, peer->common_name);
		return -1;
	}
	rv = peer_describe(peer, cert);
	X509_free(cert);
	return rv;
}

/*
 * peer_identify_cert - the same from a certificate OpenSSL verified. A
 * subject with no common name or several is unusable: which one names
 * the admin would be a guess.
 */
int
peer_identify_cert(struct peer *peer, X509 *cert, const char *address)
{
	X509_NAME	*subject = X509_get_subject_name(cert);
	unsigned char	*cn = NULL;
	int		 first, len = -1, rv;

	memset(peer, 0, sizeof(*peer));
	snprintf(peer->address, sizeof(peer->address), "%s", address);
	first = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
	if (first >= 0 &&
	    X509_NAME_get_index_by_NID(subject, NID_commonName, first) < 0)
		len = ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(subject, first)));
	rv = len < 0 ? -1 : peer_name(peer, (const char *)cn, (size_t)len);
	OPENSSL_free(cn);
	if (len < 0)
		log_warnx("peer %s: no single certificate common name",
		    peer->address);
	if (rv == -1)
		return -1;
	return peer_describe(peer, cert);
}
