/*
 * revocation - load, verify and look up the list of revoked
 * certificates.
 *
 * The list is checked for its exact shape before its signature: every
 * string it may hold is plain ASCII that JSON never escapes, so the
 * canonical text jansson writes (sorted keys, compact) is byte for byte
 * the text flprovision signed with Python's json module. A list is
 * replaced only by one that verifies; the file is looked at again when
 * its identity (device, inode, size, times) changes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "log.h"
#include "revocation.h"

static int	revocation_fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
revocation_fail(char *err, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* revocation_hex - 64 lowercase hex digits */
static int
revocation_hex(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (i == DIGEST_HEX_LEN || !((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == DIGEST_HEX_LEN;
}

/* revocation_name - a participant's name as flprovision allows it, or
 * empty for a certificate it did not know */
static int
revocation_name(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (i == REVOCATION_NAME_MAX ||
		    strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-", s[i]) == NULL)
			return 0;
	return 1;
}

/* revocation_time - 2024-05-01T12:00:00Z */
static int
revocation_time(const char *s)
{
	static const char	 shape[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t			 i;

	if (strlen(s) != REVOCATION_TIME_LEN)
		return 0;
	for (i = 0; i < REVOCATION_TIME_LEN; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') :
		    s[i] != shape[i])
			return 0;
	return 1;
}

static int
revocation_entry(json_t *e, size_t i, struct revoked *out, char *err,
    size_t errlen)
{
	const char	*fp, *name, *when;

	if (json_unpack(e, "{s:s, s:s, s:s !}", "fingerprint", &fp, "name",
	    &name, "time", &when) == -1)
		return revocation_fail(err, errlen, "revoked[%zu] is not an "
		    "object of exactly fingerprint, name and time", i);
	if (!revocation_hex(fp))
		return revocation_fail(err, errlen, "revoked[%zu].fingerprint "
		    "is not 64 lowercase hex digits", i);
	if (!revocation_name(name))
		return revocation_fail(err, errlen, "revoked[%zu].name is not "
		    "a participant's name", i);
	if (!revocation_time(when))
		return revocation_fail(err, errlen, "revoked[%zu].time is not "
		    "a UTC time like 2024-05-01T12:00:00Z", i);
	memcpy(out->re_fingerprint, fp, DIGEST_HEX_LEN + 1);
	snprintf(out->re_name, sizeof(out->re_name), "%s", name);
	memcpy(out->re_time, when, REVOCATION_TIME_LEN + 1);
	return 0;
}

/* revocation_signed - the signature covers the canonical rest */
static int
revocation_signed(json_t *revoked, const char *sig, const struct rootca *root)
{
	json_t	*body;
	char	*text;
	int	 ok;

	if ((body = json_pack("{s:i, s:O}", "version", REVOCATION_VERSION,
	    "revoked", revoked)) == NULL)
		return 0;
	text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENSURE_ASCII);
	json_decref(body);
	if (text == NULL)
		return 0;
	ok = rootca_verify(root, sig, NULL, 0, text, strlen(text));
	free(text);
	return ok;
}

static int
revocation_cmp(const void *a, const void *b)
{
	return strcmp(((const struct revoked *)a)->re_fingerprint,
	    ((const struct revoked *)b)->re_fingerprint);
}

/* revocation_entries - every entry checked, into a sorted array */
static int
revocation_entries(json_t *revoked, struct revocation_list *list, char *err,
    size_t errlen)
{
	size_t	 i, n = json_array_size(revoked);

	if (n > REVOCATION_MAX)
		return revocation_fail(err, errlen, "more than %d revoked "
		    "certificates", REVOCATION_MAX);
	if (n > 0 && (list->rl_entries = calloc(n, sizeof(struct revoked))) ==
	    NULL)
		return revocation_fail(err, errlen, "out of memory");
	for (i = 0; i < n; i++)
		if (revocation_entry(json_array_get(revoked, i), i,
		    &list->rl_entries[i], err, errlen) == -1)
			return -1;
	list->rl_count = n;
	if (n > 0)
		qsort(list->rl_entries, n, sizeof(struct revoked),
		    revocation_cmp);
	return 0;
}

int
revocation_parse(const void *buf, size_t len, const struct rootca *root,
    struct revocation_list *list, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*doc, *revoked;
	json_int_t	 version = 0;
	const char	*sig;
	int		 rc = -1;

	memset(list, 0, sizeof(*list));
	if ((doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		return revocation_fail(err, errlen, "not JSON: line %d: %s",
		    jerr.line, jerr.text);
	if (json_unpack(doc, "{s:I, s:o, s:s !}", "version", &version,
	    "revoked", &revoked, "signature", &sig) == -1 ||
	    version != REVOCATION_VERSION || !json_is_array(revoked))
		revocation_fail(err, errlen, "not a revocation list of version "
		    "%d: exactly version, revoked and signature",
		    REVOCATION_VERSION);
	else if (revocation_entries(revoked, list, err, errlen) == -1)
		;
	else if (!revocation_signed(revoked, sig, root))
		revocation_fail(err, errlen, "its signature does not verify "
		    "with the root CA");
	else
		rc = 0;
	json_decref(doc);
	if (rc == -1)
		revocation_list_free(list);
	return rc;
}

void
revocation_list_free(struct revocation_list *list)
{
	free(list->rl_entries);
	memset(list, 0, sizeof(*list));
}

const struct revoked *
revocation_find(const struct revocation_list *list, const char *fingerprint)
{
	struct revoked	 key;

	if (list->rl_count == 0 || strlen(fingerprint) != DIGEST_HEX_LEN)
		return NULL;
	memcpy(key.re_fingerprint, fingerprint, DIGEST_HEX_LEN + 1);
	return bsearch(&key, list->rl_entries, list->rl_count,
	    sizeof(struct revoked), revocation_cmp);
}

int
revocation_init(struct revocation *rv, const char *workspace)
{
	memset(rv, 0, sizeof(*rv));
	rv->rv_checked = -1;
	if ((size_t)snprintf(rv->rv_path, sizeof(rv->rv_path),
	    "%s/startup/%s", workspace, REVOCATION_FILE) >=
	    sizeof(rv->rv_path) ||
	    (size_t)snprintf(rv->rv_root_path, sizeof(rv->rv_root_path),
	    "%s/startup/rootCA.pem", workspace) >= sizeof(rv->rv_root_path))
		return -1;
	return 0;
}

void
revocation_free(struct revocation *rv)
{
	rootca_free(&rv->rv_root);
	revocation_list_free(&rv->rv_list);
}

/* revocation_root - the root CA, read once */
static int
revocation_root(struct revocation *rv, char *err, size_t errlen)
{
	char	*pem;
	size_t	 len;
	int	 rc;

	if (rv->rv_root.rc_key != NULL)
		return 0;
	if ((pem = rootca_read_file(rv->rv_root_path, ROOTCA_FILE_MAX, &len,
	    err, errlen)) == NULL)
		return -1;
	rc = rootca_load(&rv->rv_root, pem, len, err, errlen);
	free(pem);
	return rc;
}

/* revocation_load - the file's list, in force only once it verified */
static void
revocation_load(struct revocation *rv)
{
	struct revocation_list	 list;
	char			 err[REVOCATION_ERR_MAX];
	char			*buf;
	size_t			 len;
	int			 rc;

	if ((buf = rootca_read_file(rv->rv_path, ROOTCA_FILE_MAX, &len, err,
	    sizeof(err))) == NULL)
		rc = -1;
	else if ((rc = revocation_root(rv, err, sizeof(err))) == 0)
		rc = revocation_parse(buf, len, &rv->rv_root, &list, err,
		    sizeof(err));
	free(buf);
	if (rc == -1) {
		log_warnx("revocation list %s refused: %s; %zu certificates "
		    "stay revoked as before", rv->rv_path, err,
		    rv->rv_list.rl_count);
		return;
	}
	revocation_list_free(&rv->rv_list);
	rv->rv_list = list;
	log_info("revocation list %s: %zu certificates revoked", rv->rv_path,
	    list.rl_count);
}

/* revocation_same - the file is the one looked at last time */
static int
revocation_same(const struct revocation *rv, const struct stat *st)
{
	return rv->rv_present && rv->rv_dev == st->st_dev &&
	    rv->rv_ino == st->st_ino && rv->rv_size == st->st_size &&
	    rv->rv_mtime.tv_sec == st->st_mtim.tv_sec &&
	    rv->rv_mtime.tv_nsec == st->st_mtim.tv_nsec &&
	    rv->rv_ctime.tv_sec == st->st_ctim.tv_sec &&
	    rv->rv_ctime.tv_nsec == st->st_ctim.tv_nsec;
}

/* revocation_gone - no file: nothing is revoked */
static void
revocation_gone(struct revocation *rv)
{
	if (rv->rv_present)
		log_info("revocation list %s removed: no certificate is "
		    "revoked now", rv->rv_path);
	rv->rv_present = 0;
	revocation_list_free(&rv->rv_list);
}

void
revocation_refresh(struct revocation *rv, double now)
{
	struct stat	 st;
	int		 saved;

	if (rv->rv_checked >= 0 && now - rv->rv_checked < REVOCATION_INTERVAL)
		return;
	rv->rv_checked = now;
	if (stat(rv->rv_path, &st) == -1) {
		saved = errno;
		if (saved == ENOENT)
			revocation_gone(rv);
		else if (saved != rv->rv_errno)
			log_warnx("revocation list %s: %s; %zu certificates "
			    "stay revoked as before", rv->rv_path,
			    strerror(saved), rv->rv_list.rl_count);
		/* Looked at again whole once it can be. */
		rv->rv_present = 0;
		rv->rv_errno = saved == ENOENT ? 0 : saved;
		return;
	}
	rv->rv_errno = 0;
	if (revocation_same(rv, &st))
		return;
	rv->rv_present = 1;
	rv->rv_dev = st.st_dev;
	rv->rv_ino = st.st_ino;
	rv->rv_size = st.st_size;
	rv->rv_mtime = st.st_mtim;
	rv->rv_ctime = st.st_ctim;
	revocation_load(rv);
}

int
revocation_peer(struct revocation *rv, const char *fingerprint, double now,
    char *msg, size_t len)
{
	if (fingerprint == NULL || !revocation_hex(fingerprint)) {
		snprintf(msg, len, "no certificate fingerprint to check");
		return -1;
	}
	revocation_refresh(rv, now);
	if (revocation_find(&rv->rv_list, fingerprint) == NULL)
		return 0;
	snprintf(msg, len, "%s", REVOCATION_REFUSAL);
	return -1;
}

int
revocation_check(const char *workspace, const char *fingerprint, char *msg,
    size_t len)
{
	static struct revocation	 rv;
	static int			 ready;
	struct timespec			 ts;

	if (!ready) {
		if (revocation_init(&rv, workspace) == -1) {
			snprintf(msg, len, "workspace path too long");
			return -1;
		}
		ready = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return revocation_peer(&rv, fingerprint, (double)ts.tv_sec +
	    (double)ts.tv_nsec / 1e9, msg, len);
}
