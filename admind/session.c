/*
 * session - logins, session tokens, idle expiry and the slowing down of
 * repeated failed logins.
 *
 * The users file is read at every password login, so that an operator
 * adds or changes a password without restarting admind; it is small.
 * A password is checked with PBKDF2 even for a user the file does not
 * name, so that the answer's timing does not tell which users exist.
 * The delay after failures is a refusal with a time to wait, never a
 * sleep: admind's loop serves everyone else meanwhile.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "digest.h"
#include "log.h"
#include "session.h"

/* The users file is a short list of hashes. */
#define SESSION_USERS_FILE_MAX	(1024 * 1024)
/* A failure record is forgotten this long after its refusal ended. */
#define SESSION_FORGET		3600.0
#define SESSION_KEY_LEN		64	/* PBKDF2-HMAC-SHA512's output */

/* Checked when the user is unknown, so that timing says nothing. */
static const char session_dummy_hash[] =
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000";

/* session_fail - record why a login or a session is refused */
static int
session_fail(char err[SESSION_ERR_MAX], const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, SESSION_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

int
sessions_init(struct sessions *s, double idle, const char *users_path)
{
	memset(s, 0, sizeof(*s));
	s->idle = idle;
	if ((s->list = calloc(SESSIONS_MAX, sizeof(*s->list))) == NULL ||
	    (s->failures = calloc(SESSION_FAILURES_MAX,
	    sizeof(*s->failures))) == NULL ||
	    (users_path != NULL &&
	    (s->users_path = strdup(users_path)) == NULL)) {
		sessions_free(s);
		return -1;
	}
	return 0;
}

void
sessions_free(struct sessions *s)
{
	if (s->list != NULL)
		explicit_bzero(s->list, SESSIONS_MAX * sizeof(*s->list));
	free(s->list);
	free(s->failures);
	free(s->users_path);
	memset(s, 0, sizeof(*s));
}

int
session_password_matches(const char *hash, const char *password)
{
	unsigned char	 key[SESSION_KEY_LEN];
	char		 hex[2 * SESSION_KEY_LEN + 1];
	int		 ok;

	if (!digest_is_hex(hash, SESSION_HASH_HEX))
		return 0;
	/* Clara's hashes use the salt's hex characters as the salt. */
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password),
	    (const unsigned char *)hash, SESSION_SALT_HEX,
	    SESSION_ITERATIONS, EVP_sha512(), sizeof(key), key) != 1)
		return 0;
	digest_hex(key, sizeof(key), hex);
	ok = CRYPTO_memcmp(hex, hash + SESSION_SALT_HEX,
	    2 * SESSION_KEY_LEN) == 0;
	explicit_bzero(key, sizeof(key));
	explicit_bzero(hex, sizeof(hex));
	return ok;
}

int
session_password_hash(const char *password, char out[SESSION_HASH_HEX + 1])
{
	unsigned char	 salt[SESSION_SALT_HEX / 2], key[SESSION_KEY_LEN];

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return -1;
	digest_hex(salt, sizeof(salt), out);
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password),
	    (const unsigned char *)out, SESSION_SALT_HEX,
	    SESSION_ITERATIONS, EVP_sha512(), sizeof(key), key) != 1)
		return -1;
	digest_hex(key, sizeof(key), out + SESSION_SALT_HEX);
	explicit_bzero(key, sizeof(key));
	return 0;
}

/* session_users_read - the users file's bytes, refused if others write */
static char *
session_users_read(const char *path, size_t *len, char err[SESSION_ERR_MAX])
{
	struct stat	 sb;
	char		*text = NULL;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			session_fail(err, "password logins are not set up "
			    "(no users file): use _cert_login");
		else
			session_fail(err, "the users file cannot be read: %s",
			    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > SESSION_USERS_FILE_MAX)
		session_fail(err, "the users file is not a small file");
	else if (sb.st_mode & (S_IWGRP | S_IWOTH | S_IROTH))
		session_fail(err, "the users file may be read or changed by "
		    "others: password logins are off until it is mode 0600");
	else if ((text = malloc(sb.st_size + 1)) == NULL)
		session_fail(err, "out of memory");
	else if ((n = read(fd, text, sb.st_size)) != sb.st_size) {
		session_fail(err, "the users file cannot be read");
		free(text);
		text = NULL;
	} else
		*len = (size_t)n;
	close(fd);
	return text;
}

/* session_users - the users file as {user: hash}, every hash checked */
static json_t *
session_users(const char *path, char err[SESSION_ERR_MAX])
{
	json_error_t	 error;
	json_t		*users, *hash;
	const char	*user;
	char		*text;
	size_t		 len;

	if ((text = session_users_read(path, &len, err)) == NULL)
		return NULL;
	users = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
	explicit_bzero(text, len);
	free(text);
	if (!json_is_object(users)) {
		json_decref(users);
		session_fail(err, "the users file is not a JSON object");
		return NULL;
	}
	json_object_foreach(users, user, hash)
		if (!json_is_string(hash) || !digest_is_hex(
		    json_string_value(hash), SESSION_HASH_HEX)) {
			session_fail(err, "the users file's entry for %.64s is "
			    "not a salt and PBKDF2 hash in lowercase hex",
			    user);
			json_decref(users);
			return NULL;
		}
	return users;
}

/* session_failure - the record of key, or NULL */
static struct session_failure *
session_failure(const struct sessions *s, const char *key)
{
	size_t	 i;

	for (i = 0; i < s->nfailures; i++)
		if (strcmp(s->failures[i].f_key, key) == 0)
			return &s->failures[i];
	return NULL;
}

double
session_locked(const struct sessions *s, const char *key, double now)
{
	struct session_failure	*f;

	if ((f = session_failure(s, key)) == NULL || f->f_until <= now)
		return 0;
	return f->f_until - now;
}

/* session_failed - one more failure of key: refused for 2^count s */
static void
session_failed(struct sessions *s, const char *key, double now)
{
	struct session_failure	*f;
	size_t			 i, oldest = 0;

	if ((f = session_failure(s, key)) == NULL) {
		if (s->nfailures < SESSION_FAILURES_MAX)
			f = &s->failures[s->nfailures++];
		else {
			for (i = 1; i < s->nfailures; i++)
				if (s->failures[i].f_last <
				    s->failures[oldest].f_last)
					oldest = i;
			f = &s->failures[oldest];
		}
		memset(f, 0, sizeof(*f));
		snprintf(f->f_key, sizeof(f->f_key), "%s", key);
	}
	if (now > f->f_until + SESSION_FORGET)
		f->f_count = 0;
	if (f->f_count < 31)
		f->f_count++;
	f->f_last = now;
	f->f_until = now + fmin(ldexp(1.0, (int)f->f_count),
	    SESSION_LOCK_MAX);
}

/* session_forget - a login succeeded: key starts afresh */
static void
session_forget(struct sessions *s, const char *key)
{
	struct session_failure	*f;

	if ((f = session_failure(s, key)) == NULL)
		return;
	*f = s->failures[--s->nfailures];
}

/* session_keys - the failure keys of a user and of a certificate */
static void
session_keys(const char *user, const char *fingerprint,
    char ukey[SESSION_USER_MAX + 3], char ckey[SESSION_USER_MAX + 3])
{
	snprintf(ukey, SESSION_USER_MAX + 3, "u:%s", user);
	snprintf(ckey, SESSION_USER_MAX + 3, "c:%s", fingerprint);
}

/* session_throttled - -1 with the time to wait if either key is locked */
static int
session_throttled(struct sessions *s, const char *ukey, const char *ckey,
    double now, char err[SESSION_ERR_MAX])
{
	double	 wait = fmax(session_locked(s, ukey, now),
		    session_locked(s, ckey, now));

	if (wait <= 0)
		return 0;
	return session_fail(err, "too many failed logins, try again in "
	    "%.0f s", ceil(wait));
}

/* session_refuse - count a failed login against both keys */
static int
session_refuse(struct sessions *s, const char *ukey, const char *ckey,
    double now)
{
	session_failed(s, ukey, now);
	session_failed(s, ckey, now);
	return -1;
}

/* session_remove - drop entry i of the session list */
static void
session_remove(struct sessions *s, size_t i)
{
	s->list[i] = s->list[--s->n];
	explicit_bzero(&s->list[s->n], sizeof(s->list[s->n]));
}

/* session_open - a new session; the least recently used makes room */
static int
session_open(struct sessions *s, const char *user, const char *fingerprint,
    double now, char token[TOKEN_HEX_LEN + 1], char err[SESSION_ERR_MAX])
{
	struct session	*se;
	size_t		 i, lru = 0;

	for (i = 0; i < s->n; )
		if (now - s->list[i].s_last_used > s->idle)
			session_remove(s, i);
		else
			i++;
	if (s->n == SESSIONS_MAX) {
		for (i = 1; i < s->n; i++)
			if (s->list[i].s_last_used < s->list[lru].s_last_used)
				lru = i;
		log_info("session of %s closed to make room for %s",
		    s->list[lru].s_user, user);
		session_remove(s, lru);
	}
	se = &s->list[s->n];
	if (digest_random_token(se->s_token) == -1)
		return session_fail(err, "no randomness for a session token");
	snprintf(se->s_user, sizeof(se->s_user), "%s", user);
	snprintf(se->s_fingerprint, sizeof(se->s_fingerprint), "%s",
	    fingerprint);
	se->s_last_used = now;
	s->n++;
	memcpy(token, se->s_token, TOKEN_HEX_LEN + 1);
	return 0;
}

int
session_login_password(struct sessions *s, const char *user,
    const char *password, int known, const char *fingerprint, double now,
    char token[TOKEN_HEX_LEN + 1], char err[SESSION_ERR_MAX])
{
	char		 ukey[SESSION_USER_MAX + 3], ckey[SESSION_USER_MAX + 3];
	json_t		*users;
	const char	*hash;
	int		 ok;

	session_keys(user, fingerprint, ukey, ckey);
	if (session_throttled(s, ukey, ckey, now, err) == -1)
		return -1;
	if (s->users_path == NULL)
		return session_fail(err, "password logins are not set up: "
		    "use _cert_login");
	if ((users = session_users(s->users_path, err)) == NULL)
		return -1;
	hash = json_string_value(json_object_get(users, user));
	ok = session_password_matches(hash != NULL ? hash :
	    session_dummy_hash, password) && hash != NULL;
	json_decref(users);
	if (!ok) {
		session_fail(err, "wrong user name or password");
		return session_refuse(s, ukey, ckey, now);
	}
	if (!known)
		return session_fail(err, "%s is not a user of the "
		    "authorization policy", user);
	session_forget(s, ukey);
	session_forget(s, ckey);
	return session_open(s, user, fingerprint, now, token, err);
}

int
session_login_cert(struct sessions *s, const char *user, const char *cn,
    int admin, int known, const char *fingerprint, double now,
    char token[TOKEN_HEX_LEN + 1], char err[SESSION_ERR_MAX])
{
	char	 ukey[SESSION_USER_MAX + 3], ckey[SESSION_USER_MAX + 3];

	session_keys(user, fingerprint, ukey, ckey);
	if (session_throttled(s, ukey, ckey, now, err) == -1)
		return -1;
	if (!admin) {
		session_fail(err, "not an admin certificate");
		return session_refuse(s, ukey, ckey, now);
	}
	if (strcmp(user, cn) != 0) {
		session_fail(err, "%s is not the name in this certificate",
		    user);
		return session_refuse(s, ukey, ckey, now);
	}
	if (!known)
		return session_fail(err, "%s is not a user of the "
		    "authorization policy", user);
	session_forget(s, ukey);
	session_forget(s, ckey);
	return session_open(s, user, fingerprint, now, token, err);
}

/* session_find - the index of token's session, or -1 */
static ssize_t
session_find(const struct sessions *s, const char *token)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		if (digest_equal(s->list[i].s_token, token))
			return (ssize_t)i;
	return -1;
}

const char *
session_check(struct sessions *s, const char *token, const char *fingerprint,
    double now, char err[SESSION_ERR_MAX])
{
	struct session	*se;
	ssize_t		 i;

	if (token == NULL || token[0] == '\0') {
		session_fail(err, "not logged in: log in with _login or "
		    "_cert_login first");
		return NULL;
	}
	if ((i = session_find(s, token)) == -1) {
		session_fail(err, "unknown session: log in again");
		return NULL;
	}
	se = &s->list[i];
	if (strcmp(se->s_fingerprint, fingerprint) != 0) {
		session_fail(err, "this session was opened with another "
		    "certificate: log in with your own");
		return NULL;
	}
	if (now - se->s_last_used > s->idle) {
		session_fail(err, "session expired after %.0f s without a "
		    "command: log in again", s->idle);
		session_remove(s, (size_t)i);
		return NULL;
	}
	se->s_last_used = now;
	return se->s_user;
}

void
session_logout(struct sessions *s, const char *token)
{
	ssize_t	 i;

	if ((i = session_find(s, token)) != -1)
		session_remove(s, (size_t)i);
}
