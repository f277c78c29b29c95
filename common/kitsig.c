/*
 * kitsig - check a startup kit's files against signature.json.
 *
 * rootCA.pem comes first: it must be the CA the kit was signed for (its
 * fingerprint), carry its own signature, and match the pin when one is
 * set. Then each file the program reads, in the order given. Each file
 * is read whole into memory, checked and wiped: the program reads it
 * again afterwards, so a kit folder that others can write would let a
 * file change in between; the appliance's startup/ is root's alone.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kitsig.h"
#include "log.h"
#include "rootca.h"

#define KITSIG_VERSION		1
#define KITSIG_ALGORITHM	"ecdsa-p256-sha256"
#define KITSIG_ROOT		"rootCA.pem"

const char *const kitsig_netd_files[] = {
	"fed_server.json", "rootCA.pem", "server.crt", "server.key", NULL
};
const char *const kitsig_aggd_files[] = {
	"fed_server.json", "authorization.json", "rootCA.pem", NULL
};
/* Not users.passwd: operators set the admins' passwords on the server. */
const char *const kitsig_admind_files[] = {
	"fed_server.json", "authorization.json", "rootCA.pem", NULL
};
const char *const kitsig_site_files[] = {
	"fed_client.json", "client.crt", "client.key", "rootCA.pem", NULL
};

struct kitsig {
	const char	*ks_dir;
	json_t		*ks_doc;
	json_t		*ks_files;	/* {NAME: signature} */
	struct rootca	 ks_root;
	char		*ks_err;
	size_t		 ks_errlen;
};

static int	kitsig_fail(struct kitsig *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
kitsig_fail(struct kitsig *ks, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	n = snprintf(ks->ks_err, ks->ks_errlen, "startup kit: ");
	if (n < 0 || (size_t)n >= ks->ks_errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ks->ks_err + n, ks->ks_errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* kitsig_read - a file of the kit, or NULL having said why */
static char *
kitsig_read(struct kitsig *ks, const char *name, size_t *len)
{
	char	 path[PATH_MAX], why[KITSIG_ERR_MAX];
	char	*buf;
	int	 saved;

	if (strchr(name, '/') != NULL || (size_t)snprintf(path, sizeof(path),
	    "%s/%s", ks->ks_dir, name) >= sizeof(path)) {
		kitsig_fail(ks, "%s: not a file of the kit", name);
		return NULL;
	}
	if ((buf = rootca_read_file(path, ROOTCA_FILE_MAX, len, why,
	    sizeof(why))) == NULL) {
		saved = errno;
		kitsig_fail(ks, "%s", why);
		errno = saved;
	}
	return buf;
}

/* kitsig_hex - a fingerprint as 64 lowercase hex digits, colons dropped */
static int
kitsig_hex(const char *in, char out[DIGEST_HEX_LEN + 1])
{
	size_t	 n = 0;

	for (; *in != '\0'; in++) {
		if (*in == ':')
			continue;
		if (n == DIGEST_HEX_LEN || strchr("0123456789abcdefABCDEF",
		    *in) == NULL)
			return -1;
		out[n++] = (*in >= 'A' && *in <= 'F') ? *in - 'A' + 'a' : *in;
	}
	out[n] = '\0';
	return n == DIGEST_HEX_LEN ? 0 : -1;
}

/* kitsig_load - signature.json, its shape checked */
static int
kitsig_load(struct kitsig *ks)
{
	json_error_t	 jerr;
	json_t		*sig;
	const char	*name, *fp, *alg;
	char		*text;
	size_t		 len;
	json_int_t	 version = 0;

	if ((text = kitsig_read(ks, KITSIG_FILE, &len)) == NULL) {
		if (errno == ENOENT)
			kitsig_fail(ks, "%s is missing: the kit is not signed "
			    "(flprovision sign signs it)", KITSIG_FILE);
		return -1;
	}
	ks->ks_doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (ks->ks_doc == NULL)
		return kitsig_fail(ks, "%s is not JSON: %s", KITSIG_FILE,
		    jerr.text);
	if (json_unpack(ks->ks_doc, "{s:I, s:s, s:s, s:o !}", "version",
	    &version, "algorithm", &alg, "root_fingerprint", &fp, "files",
	    &ks->ks_files) == -1 || version != KITSIG_VERSION ||
	    strcmp(alg, KITSIG_ALGORITHM) != 0 ||
	    !json_is_object(ks->ks_files))
		return kitsig_fail(ks, "%s is not a signature file of version "
		    "%d with %s signatures", KITSIG_FILE, KITSIG_VERSION,
		    KITSIG_ALGORITHM);
	json_object_foreach(ks->ks_files, name, sig)
		if (!json_is_string(sig))
			return kitsig_fail(ks, "%s: the signature of %.64s is "
			    "not a string", KITSIG_FILE, name);
	return 0;
}

/* kitsig_signed - name's bytes verify with its listed signature */
static int
kitsig_signed(struct kitsig *ks, const char *name, const char *buf,
    size_t len)
{
	const char	*sig;

	if ((sig = json_string_value(json_object_get(ks->ks_files,
	    name))) == NULL)
		return kitsig_fail(ks, "%s is not signed", name);
	if (!rootca_verify(&ks->ks_root, sig, name, strlen(name) + 1, buf,
	    len))
		return kitsig_fail(ks, "%s was changed after it was signed",
		    name);
	return 0;
}

/* kitsig_pinned - the pin, or NULL when none is set */
static const char *
kitsig_pinned(void)
{
	const char	*pin = getenv(KITSIG_PIN_ENV);

	return pin != NULL && pin[0] != '\0' ? pin : NULL;
}

/* kitsig_pin - rootCA.pem is the root pinned outside the kit, if any */
static int
kitsig_pin(struct kitsig *ks)
{
	const char	*pin = kitsig_pinned();
	char		 hex[DIGEST_HEX_LEN + 1];

	if (pin == NULL)
		return 0;
	if (kitsig_hex(pin, hex) == -1)
		return kitsig_fail(ks, "%s is not a SHA-256 fingerprint",
		    KITSIG_PIN_ENV);
	if (strcmp(hex, ks->ks_root.rc_fingerprint) != 0)
		return kitsig_fail(ks, "%s is not the root CA pinned by %s "
		    "(its SHA-256 is %s)", KITSIG_ROOT, KITSIG_PIN_ENV,
		    ks->ks_root.rc_fingerprint);
	return 0;
}

/* kitsig_root - the kit's root CA: the one it was signed for, signed */
static int
kitsig_root(struct kitsig *ks)
{
	const char	*want;
	char		*pem, why[KITSIG_ERR_MAX], hex[DIGEST_HEX_LEN + 1];
	size_t		 len;
	int		 rc;

	want = json_string_value(json_object_get(ks->ks_doc,
	    "root_fingerprint"));
	if (kitsig_hex(want, hex) == -1)
		return kitsig_fail(ks, "%s: root_fingerprint is not a SHA-256 "
		    "fingerprint", KITSIG_FILE);
	if ((pem = kitsig_read(ks, KITSIG_ROOT, &len)) == NULL)
		return -1;
	if (rootca_load(&ks->ks_root, pem, len, why, sizeof(why)) == -1)
		rc = kitsig_fail(ks, "%s was changed after it was signed: %s",
		    KITSIG_ROOT, why);
	else if (strcmp(hex, ks->ks_root.rc_fingerprint) != 0)
		rc = kitsig_fail(ks, "%s was changed after it was signed: it "
		    "is not the root CA the kit was signed for", KITSIG_ROOT);
	else
		rc = kitsig_signed(ks, KITSIG_ROOT, pem, len);
	free(pem);
	if (rc == -1)
		return -1;
	return kitsig_pin(ks);
}

int
kitsig_verify(const char *startup, const char *const *names, char *err,
    size_t errlen)
{
	struct kitsig	 ks;
	char		*buf;
	size_t		 i, len;
	int		 ok, rc = -1;

	memset(&ks, 0, sizeof(ks));
	ks.ks_dir = startup;
	ks.ks_err = err;
	ks.ks_errlen = errlen;
	if (kitsig_load(&ks) == -1 || kitsig_root(&ks) == -1)
		goto done;
	for (i = 0; names[i] != NULL; i++) {
		if ((buf = kitsig_read(&ks, names[i], &len)) == NULL)
			goto done;
		/* A key among them: wiped, whatever the verdict. */
		ok = kitsig_signed(&ks, names[i], buf, len) == 0;
		rootca_forget(buf, len);
		if (!ok)
			goto done;
	}
	rc = 0;
 done:
	rootca_free(&ks.ks_root);
	json_decref(ks.ks_doc);
	return rc;
}

void
kitsig_require(const char *startup, const char *const *names)
{
	char	 err[KITSIG_ERR_MAX];
	size_t	 n;

	if (kitsig_verify(startup, names, err, sizeof(err)) == -1)
		fatalx("%s; refusing to start (%s)", err, startup);
	for (n = 0; names[n] != NULL; n++)
		;
	log_info("startup kit %s: the %zu files used are signed by the "
	    "root CA%s", startup, n, kitsig_pinned() != NULL ?
	    " pinned by " KITSIG_PIN_ENV : "");
}

void
kitsig_require_workspace(const char *workspace, const char *const *names)
{
	char	 startup[PATH_MAX];

	if ((size_t)snprintf(startup, sizeof(startup), "%s/startup",
	    workspace) >= sizeof(startup))
		fatalx("workspace path too long: %s", workspace);
	kitsig_require(startup, names);
}
