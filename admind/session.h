/*
 * session - who is logged in on the admin console.
 *
 * _login USER PASSWORD is checked against the users file
 * (WORKSPACE/startup/users.passwd, JSON: {"user": "64 hex characters of
 * salt, then the hex PBKDF2-HMAC-SHA512 of the password, 100000
 * iterations"}, as Clara stored them; tools/flpasswd writes it). Its
 * name has no extension the shell-like commands read, so that no admin
 * can cat the hashes. _cert_login USER needs no password: USER must be
 * the CN of the admin certificate netd verified. Either way the user
 * must be named in the authorization policy, which the caller says.
 *
 * A login opens a session with a random token, bound to the fingerprint
 * of the certificate it was made with, that expires after an idle time.
 * Failed logins are counted per user and per certificate: after n of
 * them, further attempts are refused for 2^n seconds (at most
 * SESSION_LOCK_MAX), answered at once. Nothing here sleeps, logs a
 * password or logs a token.
 */
#ifndef ADMIND_SESSION_H
#define ADMIND_SESSION_H

#include <stddef.h>

#include <jansson.h>

#include "digest.h"

#define SESSION_ERR_MAX		256
#define SESSION_USER_MAX	128
#define SESSION_FP_MAX		64	/* SHA-256 hex of a certificate */
#define SESSIONS_MAX		256
#define SESSION_IDLE_DEFAULT	3600
#define SESSION_FAILURES_MAX	1024	/* users and certificates tracked */
#define SESSION_LOCK_MAX	1024	/* seconds: 2^10 */
#define SESSION_ITERATIONS	100000
#define SESSION_SALT_HEX	64
#define SESSION_HASH_HEX	(SESSION_SALT_HEX + 128)

struct session {
	char	 s_token[TOKEN_HEX_LEN + 1];
	char	 s_user[SESSION_USER_MAX + 1];
	char	 s_fingerprint[SESSION_FP_MAX + 1];
	double	 s_last_used;		/* monotonic */
};

/* Failed logins of one user ("u:NAME") or certificate ("c:FP"). */
struct session_failure {
	char		 f_key[SESSION_USER_MAX + 3];
	unsigned int	 f_count;
	double		 f_last;	/* monotonic */
	double		 f_until;	/* refused until then */
};

struct sessions {
	struct session		*list;
	size_t			 n;
	struct session_failure	*failures;
	size_t			 nfailures;
	double			 idle;		/* seconds */
	char			*users_path;	/* NULL: no password logins */
};

int	sessions_init(struct sessions *, double idle, const char *users_path);
void	sessions_free(struct sessions *);

/*
 * Log in. known: the policy names user. fingerprint: the certificate's.
 * 0 with a new session's token in token, or -1 with why in err.
 */
int	session_login_password(struct sessions *, const char *user,
	    const char *password, int known, const char *fingerprint,
	    double now, char token[TOKEN_HEX_LEN + 1],
	    char err[SESSION_ERR_MAX]);
/* cn: the certificate's CN; admin: the certificate is an admin's. */
int	session_login_cert(struct sessions *, const char *user,
	    const char *cn, int admin, int known, const char *fingerprint,
	    double now, char token[TOKEN_HEX_LEN + 1],
	    char err[SESSION_ERR_MAX]);
/*
 * The session of token, used now from the certificate fingerprint: its
 * user (valid until the next call here), or NULL with why (none,
 * unknown, expired, another certificate).
 */
const char	*session_check(struct sessions *, const char *token,
		    const char *fingerprint, double now,
		    char err[SESSION_ERR_MAX]);
/* Forget the session of token (checked with session_check first). */
void	session_logout(struct sessions *, const char *token);

/* Whether password matches a users-file hash; 0 for a malformed hash. */
int	session_password_matches(const char *hash, const char *password);
/* A users-file hash of password with a fresh salt; -1 on failure. */
int	session_password_hash(const char *password,
	    char out[SESSION_HASH_HEX + 1]);
/* Seconds until key ("u:USER", "c:FP") may try again; 0: now. */
double	session_locked(const struct sessions *, const char *key, double now);

#endif
