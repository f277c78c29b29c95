/*
 * kitsig - refuse a startup kit whose files changed after flprovision
 * signed them.
 *
 * startup/signature.json is {"version": 1, "algorithm":
 * "ecdsa-p256-sha256", "root_fingerprint": SHA-256 of rootCA.pem's DER,
 * "files": {NAME: base64 signature}}, each signature the root CA's over
 * NAME, one NUL byte, then the file's bytes. Every file a program reads
 * from its kit must be listed and its signature must verify with the
 * kit's rootCA.pem; otherwise the program refuses to start, naming the
 * file.
 *
 * The root of trust is the kit's own rootCA.pem. Someone who rewrites
 * the whole kit, rootCA.pem included, around a CA of their own (or who
 * holds the project's root key) passes this check; only a fingerprint
 * pinned outside the kit stops the first: FLSERVER_ROOT_FINGERPRINT in
 * the environment, when set, must be rootCA.pem's SHA-256 (hex, colons
 * allowed). A pin inside the kit would be signed by the very key it
 * pins, and buy nothing.
 */
#ifndef FL_KITSIG_H
#define FL_KITSIG_H

#include <stddef.h>

#define KITSIG_FILE		"signature.json"
#define KITSIG_PIN_ENV		"FLSERVER_ROOT_FINGERPRINT"
#define KITSIG_ERR_MAX		512

/* The kit files each program reads, NULL-terminated. */
extern const char *const kitsig_netd_files[];
extern const char *const kitsig_aggd_files[];
extern const char *const kitsig_admind_files[];
extern const char *const kitsig_site_files[];

/* 0 when every file of names in the folder startup verifies; -1 with
 * "startup kit: NAME ..." in err otherwise. */
int	kitsig_verify(const char *startup, const char *const *names,
	    char *err, size_t errlen);

/* kitsig_verify, fatal on failure, logged once on success. */
void	kitsig_require(const char *startup, const char *const *names);
/* The same for WORKSPACE/startup. */
void	kitsig_require_workspace(const char *workspace,
	    const char *const *names);

#endif
