/*
 * audit - the trail of admin actions, kept so that an auditor can tell
 * whether it is whole and unchanged.
 *
 * Files:
 *	WORKSPACE/audit/audit.log	the records, appended, 0600
 *	WORKSPACE/audit/audit.pub	the public key, for the auditor
 *	WORKSPACE/state/audit.key	the Ed25519 signing key, 0600
 *	WORKSPACE/state/audit.head	the last record's seq and chain
 *
 * At start the whole trail is verified with the key (common/audit_verify)
 * and against state/audit.head; a trail that does not verify, or a key
 * or trail gone while the other remains, stops admind: a new chain is
 * never begun over an old one. Each record is written with one write(2)
 * on an O_APPEND descriptor and fdatasync'd before audit_record returns;
 * its sequence number and chain value then go to the log, outside the
 * file. After a failed sync nothing more is recorded until a restart
 * verifies what reached the disk.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "audit.h"
#include "digest.h"
#include "log.h"
#include "sandbox.h"

/* state/audit.head: "%020lld %s\n", rewritten in place. */
#define AUDIT_HEAD_LEN		(20 + 1 + AUDIT_CHAIN_HEX + 1)
#define AUDIT_PUB_MAX		4096

struct audit_paths {
	char	 ap_dir[PATH_MAX];
	char	 ap_state[PATH_MAX];
	char	 ap_log[PATH_MAX];
	char	 ap_pub[PATH_MAX];
	char	 ap_key[PATH_MAX];
	char	 ap_head[PATH_MAX];
};

struct audit {
	int			 au_fd;		/* audit.log, O_APPEND */
	int			 au_headfd;	/* state/audit.head */
	EVP_PKEY		*au_key;
	struct audit_head	 au_head;	/* the last record's */
	off_t			 au_size;	/* bytes of whole records */
	int			 au_failed;	/* no more records */
	time_t			 au_time;	/* fixed by a test, or 0 */
	struct audit_paths	 au_paths;
};

static int
audit_paths(struct audit_paths *p, const char *ws)
{
	return snprintf(p->ap_dir, sizeof(p->ap_dir), "%s/audit", ws) >=
	    (int)sizeof(p->ap_dir) ||
	    snprintf(p->ap_state, sizeof(p->ap_state), "%s/state", ws) >=
	    (int)sizeof(p->ap_state) ||
	    snprintf(p->ap_log, sizeof(p->ap_log), "%s/audit/audit.log", ws) >=
	    (int)sizeof(p->ap_log) ||
	    snprintf(p->ap_pub, sizeof(p->ap_pub), "%s/audit/audit.pub", ws) >=
	    (int)sizeof(p->ap_pub) ||
	    snprintf(p->ap_key, sizeof(p->ap_key), "%s/state/audit.key", ws) >=
	    (int)sizeof(p->ap_key) ||
	    snprintf(p->ap_head, sizeof(p->ap_head), "%s/state/audit.head",
	    ws) >= (int)sizeof(p->ap_head) ? -1 : 0;
}

/* audit_sync_dir - a file made in dir survives a crash */
static int
audit_sync_dir(const char *dir, char *err, size_t size)
{
	int	 fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, size, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((rc = fsync(fd)) == -1)
		snprintf(err, size, "fsync %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

/*
 * audit_folder - no one else may add, replace or remove a file in dir.
 * A folder shared with aggd (the appliance's state/, root's with an ACL
 * for each daemon) is fit when sticky: each keeps the other's files.
 */
static int
audit_folder(const char *dir, int shared, char *err, size_t size)
{
	struct stat	 st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, size, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) == -1) {
		snprintf(err, size, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode) && !(st.st_mode & S_IWOTH) &&
	    (st.st_uid == geteuid() || (shared && st.st_uid == 0)) &&
	    (!(st.st_mode & S_IWGRP) || (shared && (st.st_mode & S_ISVTX))))
		return 0;
	snprintf(err, size, "%s must be a folder that no one else can write "
	    "to (mode %04o, uid %u)%s", dir, (unsigned)(st.st_mode & 07777),
	    (unsigned)st.st_uid, shared ? ", or root's and sticky" : "");
	return -1;
}

/* audit_check_file - a regular file of ours that no one else can write */
static int
audit_check_file(int fd, const char *path, struct stat *st, char *err,
    size_t size)
{
	if (fstat(fd, st) == -1) {
		snprintf(err, size, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st->st_mode) || st->st_uid != geteuid() ||
	    (st->st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, size, "%s must be a regular file of uid %u that "
		    "no one else can write to (mode %04o, uid %u)", path,
		    (unsigned)geteuid(), (unsigned)(st->st_mode & 07777),
		    (unsigned)st->st_uid);
		return -1;
	}
	return 0;
}

static int
audit_exists(const char *path)
{
	struct stat	 st;

	return lstat(path, &st) == 0 || errno != ENOENT;
}

/*
 * audit_open_trail - open audit.log, or make it at the very first start.
 * A trail gone while its key remains was removed: refuse.
 */
static int
audit_open_trail(struct audit *a, char *err, size_t size)
{
	const struct audit_paths	*p = &a->au_paths;
	struct stat			 st;
	int				 flags;

	flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC;
	if ((a->au_fd = open(p->ap_log, flags)) == -1 && errno == ENOENT) {
		if (audit_exists(p->ap_key)) {
			snprintf(err, size, "audit trail %s is missing but its "
			    "key %s exists: refusing to begin a new chain "
			    "(restore the trail; see doc/audit.md)",
			    p->ap_log, p->ap_key);
			return -1;
		}
		a->au_fd = open(p->ap_log, flags | O_CREAT | O_EXCL, 0600);
		if (a->au_fd != -1 &&
		    audit_sync_dir(p->ap_dir, err, size) == -1)
			return -1;
	}
	if (a->au_fd == -1) {
		snprintf(err, size, "%s: %s", p->ap_log, strerror(errno));
		return -1;
	}
	if (audit_check_file(a->au_fd, p->ap_log, &st, err, size) == -1)
		return -1;
	a->au_size = st.st_size;
	return 0;
}

/* audit_make_key - a new Ed25519 key, written 0600 and synced */
static int
audit_make_key(struct audit *a, char *err, size_t size)
{
	const struct audit_paths	*p = &a->au_paths;
	FILE				*f = NULL;
	int				 fd, ok;

	if ((a->au_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL) {
		snprintf(err, size, "cannot make an Ed25519 key");
		return -1;
	}
	fd = open(p->ap_key, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, size, "%s: %s", p->ap_key, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	ok = PEM_write_PrivateKey(f, a->au_key, NULL, NULL, 0, NULL,
	    NULL) == 1 && fflush(f) == 0 && fsync(fd) == 0;
	if (fclose(f) != 0 || !ok) {
		snprintf(err, size, "cannot write %s", p->ap_key);
		unlink(p->ap_key);
		return -1;
	}
	return audit_sync_dir(p->ap_state, err, size);
}

static int
audit_read_key(struct audit *a, char *err, size_t size)
{
	const char	*path = a->au_paths.ap_key;
	FILE		*f;

	if (sandbox_check_private_key(path) == -1) {
		snprintf(err, size, "refusing the audit key %s", path);
		return -1;
	}
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, size, "%s: %s", path, strerror(errno));
		return -1;
	}
	a->au_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (a->au_key == NULL || EVP_PKEY_get_id(a->au_key) !=
	    EVP_PKEY_ED25519) {
		snprintf(err, size, "%s is not an Ed25519 private key in PEM",
		    path);
		return -1;
	}
	return 0;
}

/*
 * audit_key - read the signing key, or make it while the trail holds no
 * record yet. A key gone from a trail with records cannot be replaced:
 * the records after it would not verify with the key the auditor pinned.
 */
static int
audit_key(struct audit *a, char *err, size_t size)
{
	const struct audit_paths	*p = &a->au_paths;
	char				 fp[AUDIT_CHAIN_HEX + 1];

	if (audit_exists(p->ap_key))
		return audit_read_key(a, err, size);
	if (a->au_size > 0) {
		snprintf(err, size, "audit key %s is missing but the trail %s "
		    "has records: restore the key (see doc/audit.md)",
		    p->ap_key, p->ap_log);
		return -1;
	}
	if (audit_make_key(a, err, size) == -1 ||
	    audit_verify_fingerprint(a->au_key, fp) == -1)
		return -1;
	log_info("audit: made the audit key %s; its public key is %s, "
	    "fingerprint SHA256:%s: give the auditor a copy", p->ap_key,
	    p->ap_pub, fp);
	return 0;
}

/* audit_pub_pem - the public key in PEM, as audit.pub holds it */
static int
audit_pub_pem(EVP_PKEY *key, char *out, size_t size, size_t *len)
{
	BIO	*bio;
	char	*data;
	long	 n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	if (PEM_write_bio_PUBKEY(bio, key) != 1 ||
	    (n = BIO_get_mem_data(bio, &data)) <= 0 || (size_t)n >= size) {
		BIO_free(bio);
		return -1;
	}
	memcpy(out, data, (size_t)n);
	*len = (size_t)n;
	BIO_free(bio);
	return 0;
}

static int
audit_write_pub(const struct audit_paths *p, const char *pem, size_t len,
    char *err, size_t size)
{
	int	 fd, ok;

	fd = open(p->ap_pub, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd == -1) {
		snprintf(err, size, "%s: %s", p->ap_pub, strerror(errno));
		return -1;
	}
	ok = write(fd, pem, len) == (ssize_t)len && fsync(fd) == 0;
	close(fd);
	if (!ok) {
		snprintf(err, size, "cannot write %s", p->ap_pub);
		unlink(p->ap_pub);
		return -1;
	}
	return audit_sync_dir(p->ap_dir, err, size);
}

/* audit_pub - audit.pub is the key's public half, written if missing */
static int
audit_pub(struct audit *a, char *err, size_t size)
{
	const struct audit_paths	*p = &a->au_paths;
	char				 pem[AUDIT_PUB_MAX], old[AUDIT_PUB_MAX];
	size_t				 len;
	ssize_t				 n;
	int				 fd;

	if (audit_pub_pem(a->au_key, pem, sizeof(pem), &len) == -1) {
		snprintf(err, size, "cannot write the audit public key");
		return -1;
	}
	if ((fd = open(p->ap_pub, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return audit_write_pub(p, pem, len, err, size);
		snprintf(err, size, "%s: %s", p->ap_pub, strerror(errno));
		return -1;
	}
	n = read(fd, old, sizeof(old));
	close(fd);
	if (n != (ssize_t)len || memcmp(old, pem, len) != 0) {
		snprintf(err, size, "%s is not the public key of %s: it was "
		    "changed or the key was", p->ap_pub, p->ap_key);
		return -1;
	}
	return 0;
}

/* audit_parse_head - "SEQ CHAIN\n" as audit_save_head writes it */
static int
audit_parse_head(const char *buf, size_t len, struct audit_head *head)
{
	char	 text[AUDIT_HEAD_LEN + 1];

	if (len != AUDIT_HEAD_LEN || buf[20] != ' ' ||
	    buf[AUDIT_HEAD_LEN - 1] != '\n' || strspn(buf, "0123456789") != 20)
		return -1;
	memcpy(text, buf, len);
	text[20] = ':';
	text[AUDIT_HEAD_LEN - 1] = '\0';
	return audit_verify_parse_head(text, head);
}

/*
 * audit_open_head - state/audit.head, the head of the trail as admind
 * last left it. It catches a trail cut or restored from an older copy.
 */
static int
audit_open_head(struct audit *a, struct audit_head *head, int *known,
    char *err, size_t size)
{
	const struct audit_paths	*p = &a->au_paths;
	char				 buf[AUDIT_HEAD_LEN + 1];
	ssize_t				 n;
	int				 flags;

	*known = 0;
	flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC;
	if ((a->au_headfd = open(p->ap_head, flags)) == -1 &&
	    errno == ENOENT) {
		if (a->au_size > 0) {
			snprintf(err, size, "%s is missing but the trail %s "
			    "has records (see doc/audit.md)", p->ap_head,
			    p->ap_log);
			return -1;
		}
		a->au_headfd = open(p->ap_head, flags | O_CREAT | O_EXCL,
		    0600);
		if (a->au_headfd != -1)
			return audit_sync_dir(p->ap_state, err, size);
	}
	if (a->au_headfd == -1) {
		snprintf(err, size, "%s: %s", p->ap_head, strerror(errno));
		return -1;
	}
	n = pread(a->au_headfd, buf, sizeof(buf), 0);
	if (n < 0 || audit_parse_head(buf, (size_t)n, head) == -1) {
		snprintf(err, size, "%s does not hold a sequence number and a "
		    "chain value", p->ap_head);
		return -1;
	}
	*known = 1;
	return 0;
}

/* audit_save_head - not synced: the trail, synced first, is never behind */
static int
audit_save_head(struct audit *a)
{
	char	 buf[AUDIT_HEAD_LEN + 1];

	snprintf(buf, sizeof(buf), "%020lld %s\n", a->au_head.ah_seq,
	    a->au_head.ah_chain);
	if (pwrite(a->au_headfd, buf, AUDIT_HEAD_LEN, 0) != AUDIT_HEAD_LEN) {
		log_warn("audit: %s", a->au_paths.ap_head);
		return -1;
	}
	return 0;
}

/* audit_check - the whole trail verifies; its end becomes ours */
static int
audit_check(struct audit *a, const struct audit_head *head, int known,
    char *err, size_t size)
{
	struct audit_verdict	 v;

	if (audit_verify_fd(a->au_fd, a->au_key, head, known, &v) == -1) {
		snprintf(err, size, "audit trail %s is broken at record %lld "
		    "(line %lld): %s%s", a->au_paths.ap_log, v.av_seq,
		    v.av_line, v.av_reason, v.av_break == AUDIT_TRUNCATED ||
		    v.av_break == AUDIT_REWRITTEN ? " (in state/audit.head)" :
		    "");
		return -1;
	}
	if (v.av_size != a->au_size) {
		snprintf(err, size, "audit trail %s changed while it was "
		    "verified", a->au_paths.ap_log);
		return -1;
	}
	a->au_head = v.av_head;
	if (audit_save_head(a) == -1 || fsync(a->au_headfd) == -1) {
		snprintf(err, size, "cannot write %s", a->au_paths.ap_head);
		return -1;
	}
	return 0;
}

static int
audit_sign(struct audit *a, const unsigned char *chain, size_t len,
    char sig_hex[AUDIT_SIG_HEX + 1])
{
	unsigned char	 sig[AUDIT_SIG_HEX / 2];
	size_t		 siglen = sizeof(sig);
	EVP_MD_CTX	*ctx;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, a->au_key) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, chain, len) == 1 &&
	    siglen == sizeof(sig);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	digest_hex(sig, siglen, sig_hex);
	return 0;
}

/*
 * audit_ready - sign once and verify it, so that OpenSSL has set up what
 * signing needs before the seccomp filter, and the key is known to work.
 */
static int
audit_ready(struct audit *a, char *err, size_t size)
{
	unsigned char	 chain[AUDIT_CHAIN_HEX / 2];
	char		 chain_hex[AUDIT_CHAIN_HEX + 1], sig[AUDIT_SIG_HEX + 1];
	char		 fp[AUDIT_CHAIN_HEX + 1];

	memset(chain, 0xa5, sizeof(chain));
	digest_hex(chain, sizeof(chain), chain_hex);
	if (audit_sign(a, chain, sizeof(chain), sig) == -1 ||
	    !audit_verify_sig(a->au_key, chain_hex, sig) ||
	    audit_verify_fingerprint(a->au_key, fp) == -1) {
		snprintf(err, size, "the audit key %s cannot sign",
		    a->au_paths.ap_key);
		return -1;
	}
	log_info("audit: %s verified, %lld records; head seq %lld chain %s; "
	    "key SHA256:%s", a->au_paths.ap_log, a->au_head.ah_seq,
	    a->au_head.ah_seq, a->au_head.ah_chain, fp);
	return 0;
}

struct audit *
audit_open(const char *workspace, char *err, size_t size)
{
	struct audit		*a;
	struct audit_head	 head;
	int			 known;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, size, "out of memory");
		return NULL;
	}
	a->au_fd = a->au_headfd = -1;
	if (audit_paths(&a->au_paths, workspace) == -1) {
		snprintf(err, size, "workspace path too long: %s", workspace);
		goto fail;
	}
	if (audit_folder(a->au_paths.ap_state, 1, err, size) == -1 ||
	    audit_folder(a->au_paths.ap_dir, 0, err, size) == -1 ||
	    audit_open_trail(a, err, size) == -1 ||
	    audit_key(a, err, size) == -1 ||
	    audit_pub(a, err, size) == -1 ||
	    audit_open_head(a, &head, &known, err, size) == -1 ||
	    audit_check(a, &head, known, err, size) == -1 ||
	    audit_ready(a, err, size) == -1)
		goto fail;
	return a;
fail:
	audit_close(a);
	return NULL;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->au_fd != -1)
		close(a->au_fd);
	if (a->au_headfd != -1)
		close(a->au_headfd);
	EVP_PKEY_free(a->au_key);
	free(a);
}

const struct audit_head *
audit_head(const struct audit *a)
{
	return &a->au_head;
}

void
audit_fix_time(struct audit *a, time_t when)
{
	a->au_time = when;
}

int
audit_new_event_id(char out[AUDIT_EVENT_HEX + 1])
{
	return digest_random_token(out);
}

/* audit_seal - prev, chain and sig: the record joins the chain */
static char *
audit_seal(struct audit *a, json_t *record, char chain[AUDIT_CHAIN_HEX + 1])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	char		*body, sig[AUDIT_SIG_HEX + 1];
	int		 ok;

	if (json_object_set_new(record, "prev",
	    json_string(a->au_head.ah_chain)) == -1 ||
	    (body = audit_verify_body(record)) == NULL)
		return NULL;
	ok = EVP_Digest(body, strlen(body), md, &mdlen, EVP_sha256(),
	    NULL) == 1 && mdlen == AUDIT_CHAIN_HEX / 2;
	free(body);
	if (!ok || audit_sign(a, md, mdlen, sig) == -1)
		return NULL;
	digest_hex(md, mdlen, chain);
	if (json_object_set_new(record, "chain", json_string(chain)) == -1 ||
	    json_object_set_new(record, "sig", json_string(sig)) == -1)
		return NULL;
	return json_dumps(record, JSON_COMPACT);
}

/*
 * audit_append - the line at the end of the trail, on disk. A failed
 * write is cut off again so that the trail stays whole; after a failed
 * sync what reached the disk is unknown, so nothing more is written.
 */
static int
audit_append(struct audit *a, const char *line, size_t len)
{
	const char	*path = a->au_paths.ap_log;
	struct stat	 st;
	size_t		 off = 0;
	ssize_t		 n;

	if (fstat(a->au_fd, &st) == -1 || st.st_size != a->au_size) {
		log_warnx("audit: %s changed behind admind's back (%lld bytes, "
		    "not %lld): no more records until it is verified", path,
		    (long long)st.st_size, (long long)a->au_size);
		a->au_failed = 1;
		return -1;
	}
	while (off < len) {
		if ((n = write(a->au_fd, line + off, len - off)) > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		log_warn("audit: write %s", path);
		if (ftruncate(a->au_fd, a->au_size) == -1) {
			log_warn("audit: cannot cut a partial record off %s: "
			    "no more records until it is verified", path);
			a->au_failed = 1;
		}
		return -1;
	}
	if (fdatasync(a->au_fd) == -1) {
		log_warn("audit: fdatasync %s: no more records until it is "
		    "verified", path);
		a->au_failed = 1;
		return -1;
	}
	a->au_size += (off_t)len;
	return 0;
}

/* audit_line - the record as its line, sealed, with its end of line */
static char *
audit_line(struct audit *a, const struct audit_entry *e, const char *event,
    char chain[AUDIT_CHAIN_HEX + 1], size_t *len)
{
	json_t	*record;
	char	*line, *grown;

	if ((record = audit_entry_json(e, a->au_head.ah_seq + 1, event,
	    a->au_time ? a->au_time : time(NULL))) == NULL)
		return NULL;
	line = audit_seal(a, record, chain);
	json_decref(record);
	if (line == NULL)
		return NULL;
	*len = strlen(line);
	if (*len + 1 >= AUDIT_LINE_MAX ||
	    (grown = realloc(line, *len + 2)) == NULL) {
		free(line);
		return NULL;
	}
	grown[(*len)++] = '\n';
	grown[*len] = '\0';
	return grown;
}

static int
audit_event(const struct audit_entry *e, char event[AUDIT_EVENT_HEX + 1])
{
	if (e->ae_event_id == NULL || e->ae_event_id[0] == '\0')
		return audit_new_event_id(event);
	if (!digest_is_hex(e->ae_event_id, AUDIT_EVENT_HEX))
		return -1;
	memcpy(event, e->ae_event_id, AUDIT_EVENT_HEX + 1);
	return 0;
}

int
audit_record(struct audit *a, const struct audit_entry *e,
    char event_id_out[AUDIT_EVENT_HEX + 1])
{
	char		 event[AUDIT_EVENT_HEX + 1], chain[AUDIT_CHAIN_HEX + 1];
	char		*line = NULL, what[160];
	const char	*why = NULL;
	size_t		 len;

	if (a->au_failed)
		why = "the trail is unavailable since an earlier failure";
	else if (audit_event(e, event) == -1)
		why = "no usable event id";
	else if ((line = audit_line(a, e, event, chain, &len)) == NULL)
		why = "the record could not be made";
	else if (audit_append(a, line, len) == -1)
		why = "the record could not be written";
	free(line);
	if (why != NULL) {
		audit_entry_describe(e, what, sizeof(what));
		log_warnx("audit: no record of %s: %s", what, why);
		return -1;
	}

	a->au_head.ah_seq++;
	memcpy(a->au_head.ah_chain, chain, sizeof(a->au_head.ah_chain));
	audit_save_head(a);
	log_info("audit: seq %lld chain %s", a->au_head.ah_seq,
	    a->au_head.ah_chain);
	if (event_id_out != NULL)
		memcpy(event_id_out, event, AUDIT_EVENT_HEX + 1);
	return 0;
}
