/*
 * revocation - certificates revoked by fingerprint, as the project's
 * root CA listed them (flprovision revoke), so that a lost site or
 * admin key can be shut out without provisioning the others again.
 *
 * WORKSPACE/startup/revoked.json is {"version": 1, "revoked":
 * [{"fingerprint", "name", "time"}...], "signature"}: the signature is
 * the root CA's (rootCA.pem of the same folder) over the canonical JSON
 * of the object without "signature" (keys sorted, no spaces). No file:
 * nothing is revoked. A daemon keeps the last list that verified and
 * looks at the file again at most once a second; a list that does not
 * verify is refused, logged once, and the one before stays in force.
 *
 * aggd and admind check every peer here; netd opens no file after start
 * and checks nothing. Fingerprints are SHA-256 of the certificate's DER
 * encoding in lowercase hex, as netd stamps them.
 */
#ifndef FL_REVOCATION_H
#define FL_REVOCATION_H

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <time.h>

#include "digest.h"
#include "rootca.h"

#define REVOCATION_FILE		"revoked.json"
#define REVOCATION_VERSION	1
#define REVOCATION_MAX		100000	/* certificates in a list */
#define REVOCATION_NAME_MAX	64
#define REVOCATION_TIME_LEN	20	/* 2024-05-01T12:00:00Z */
#define REVOCATION_ERR_MAX	256
/* Seconds between two looks at the file. */
#define REVOCATION_INTERVAL	1.0
/* What a revoked peer is told. */
#define REVOCATION_REFUSAL	"certificate revoked"

struct revoked {
	char	re_fingerprint[DIGEST_HEX_LEN + 1];
	char	re_name[REVOCATION_NAME_MAX + 1];
	char	re_time[REVOCATION_TIME_LEN + 1];
};

struct revocation_list {
	struct revoked	*rl_entries;	/* sorted by fingerprint */
	size_t		 rl_count;
};

/*
 * A list's bytes, its shape checked and its signature verified with
 * root. 0, or -1 with why in err and list left empty.
 */
int	revocation_parse(const void *buf, size_t len,
	    const struct rootca *root, struct revocation_list *list,
	    char *err, size_t errlen);
void	revocation_list_free(struct revocation_list *);
/* The entry for a fingerprint, or NULL. */
const struct revoked *revocation_find(const struct revocation_list *,
	    const char *fingerprint);

/* The list in force in one daemon, and what its file looked like. */
struct revocation {
	char			 rv_path[PATH_MAX];
	char			 rv_root_path[PATH_MAX];
	struct rootca		 rv_root;
	struct revocation_list	 rv_list;
	int			 rv_present;	/* the file was there */
	dev_t			 rv_dev;
	ino_t			 rv_ino;
	off_t			 rv_size;
	struct timespec		 rv_mtime;
	struct timespec		 rv_ctime;
	/* Why the file could not be looked at, logged once. */
	int			 rv_errno;
	/* Monotonic seconds of the last look; < 0: never. */
	double			 rv_checked;
};

/* Paths only: nothing is read until the first refresh. -1 if too long. */
int	revocation_init(struct revocation *, const char *workspace);
void	revocation_free(struct revocation *);
/* Read the file again if it changed and the last look is older than
 * REVOCATION_INTERVAL (now is monotonic seconds). */
void	revocation_refresh(struct revocation *, double now);
/*
 * 0 when the certificate may go on; -1 with why in msg when it is
 * revoked (REVOCATION_REFUSAL) or has no fingerprint to look up.
 * Refreshes first.
 */
int	revocation_peer(struct revocation *, const char *fingerprint,
	    double now, char *msg, size_t len);

/*
 * revocation_peer on the one list of this process, that of workspace
 * (fixed by the first call). For the daemons' request paths.
 */
int	revocation_check(const char *workspace, const char *fingerprint,
	    char *msg, size_t len);

#endif
