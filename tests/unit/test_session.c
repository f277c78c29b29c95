/*
 * test_session - console logins and sessions: Clara's password hashes
 * (a known PBKDF2-HMAC-SHA512 vector), the users file and its mode,
 * certificate logins by CN only, tokens bound to a certificate and to
 * an idle time, and failed logins slowed per user and per certificate:
 * 2^n seconds after n failures, told at once, never slept.
 */
#include <sys/stat.h>

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../admind/session.h"

#define PASSWORD	"correct-horse"
/* From Python: salt = "0123456789abcdef" * 4, then hashlib.pbkdf2_hmac(
 * "sha512", b"correct-horse", salt.encode(), 100000).hex(). */
#define KNOWN_HASH \
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
    "a67ef499e2f4433d97ee2e3a82250f0c35e3ddd2e1409f8490e138298702c57c" \
    "41094e4b7d62886ffd3e15e5fefdebcdc9b4f5efabf1315682051a5da5667bfb"
#define FP_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" \
		"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define T0	1000.0

struct fixture {
	char		 dir[64];
	char		 path[128];
	struct sessions	 s;
};

static void
write_users(struct fixture *f, const char *text, mode_t mode)
{
	FILE	*fp;

	assert_non_null(fp = fopen(f->path, "w"));
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(f->path, mode), 0);
}

static int
setup(void **state)
{
	struct fixture	*f;

	assert_non_null(f = calloc(1, sizeof(*f)));
	strcpy(f->dir, "/tmp/test_session.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/users.passwd", f->dir);
	write_users(f, "{\"alice@a.org\": \"" KNOWN_HASH "\"}", 0600);
	assert_int_equal(sessions_init(&f->s, 3600, f->path), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	sessions_free(&f->s);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int
login(struct fixture *f, const char *user, const char *password,
    const char *fp, double now, char *token, char *err)
{
	return session_login_password(&f->s, user, password, 1, fp, now,
	    token, err);
}

static void
test_known_hash_matches_its_password_only(void **state)
{
	assert_int_equal(session_password_matches(KNOWN_HASH, PASSWORD), 1);
	assert_int_equal(session_password_matches(KNOWN_HASH, "Correct-horse"),
	    0);
	assert_int_equal(session_password_matches(KNOWN_HASH, ""), 0);
	/* Short, or uppercase hex: not a hash. */
	assert_int_equal(session_password_matches("0123", PASSWORD), 0);
	assert_int_equal(session_password_matches(
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
	    "a67ef499e2f4433d97ee2e3a82250f0c35e3ddd2e1409f8490e138298702c57c"
	    "41094e4b7d62886ffd3e15e5fefdebcdc9b4f5efabf1315682051a5da5667bfb",
	    PASSWORD), 0);
}

static void
test_new_hashes_verify_and_differ(void **state)
{
	char	 a[SESSION_HASH_HEX + 1], b[SESSION_HASH_HEX + 1];

	assert_int_equal(session_password_hash("s3cret", a), 0);
	assert_int_equal(session_password_hash("s3cret", b), 0);
	assert_int_equal(strlen(a), SESSION_HASH_HEX);
	assert_string_not_equal(a, b);
	assert_int_equal(session_password_matches(a, "s3cret"), 1);
	assert_int_equal(session_password_matches(b, "s3cret"), 1);
	assert_int_equal(session_password_matches(a, "s3cre"), 0);
}

static void
test_password_login_opens_a_session(void **state)
{
	struct fixture	*f = *state;
	char		 token[TOKEN_HEX_LEN + 1], err[SESSION_ERR_MAX];

	assert_int_equal(login(f, "alice@a.org", PASSWORD, FP_A, T0, token,
	    err), 0);
	assert_int_equal(strlen(token), TOKEN_HEX_LEN);
	assert_string_equal(session_check(&f->s, token, FP_A, T0 + 1, err),
	    "alice@a.org");
}

static void
test_wrong_password_and_unknown_user_read_alike(void **state)
{
	struct fixture	*f = *state;
	char		 token[TOKEN_HEX_LEN + 1], err[SESSION_ERR_MAX];

	assert_int_equal(login(f, "alice@a.org", "nope", FP_A, T0, token,
	    err), -1);
	assert_string_equal(err, "wrong user name or password");
	assert_int_equal(login(f, "bob@a.org", PASSWORD, FP_B, T0, token,
	    err), -1);
	assert_string_equal(err, "wrong user name or password");
}

static void
test_failures_lock_for_two_to_the_n_seconds(void **state)
{
	struct fixture	*f = *state;
	char		 token[TOKEN_HEX_LEN + 1], err[SESSION_ERR_MAX];

	assert_int_equal(login(f, "alice@a.org", "x", FP_A, T0, token, err),
	    -1);
	assert_true(session_locked(&f->s, "u:alice@a.org", T0) == 2.0);
	assert_true(session_locked(&f->s, "c:" FP_A, T0) == 2.0);
	/* Even the right password waits, and the wait is told. */
	assert_int_equal(login(f, "alice@a.org", PASSWORD, FP_A, T0 + 0.5,
	    token, err), -1);
	assert_string_equal(err, "too many failed logins, try again in 2 s");
	assert_int_equal(login(f, "alice@a.org", "y", FP_A, T0 + 2.5, token,
	    err), -1);
	assert_true(session_locked(&f->s, "u:alice@a.org", T0 + 2.5) == 4.0);
	assert_int_equal(login(f, "alice@a.org", "z", FP_A, T0 + 7, token,
	    err), -1);
	assert_true(session_locked(&f->s, "u:alice@a.org", T0 + 7) == 8.0);
	assert_int_equal(login(f, "alice@a.org", PASSWORD, FP_A, T0 + 15.5,
	    token, err), 0);
	assert_true(session_locked(&f->s, "u:alice@a.org", T0 + 15.5) == 0);
}

static void
test_lock_is_per_certificate_too(void **state)
{
	struct fixture	*f = *state;
	char		 token[TOKEN_HEX_LEN + 1], err[SESSION_ERR_MAX];

	assert_int_equal(login(f, "bob@a.org", "x", FP_A, T0, token, err),
	    -1);
	/* Another user from the same certificate waits too. */
	assert_int_equal(login(f, "alice@a.org", PASSWORD, FP_A, T0 + 1,
	    token, err), -1);
	assert_string_equal(err, "too many failed logins, try again in 1 s");
	/* The same user from another certificate does not. */
	assert_int_equal(login(f, "alice@a.org", PASSWORD, FP_B, T0 + 1,
	    token, err), 0);
}

static void
test_lock_is_capped(void **state)
{
	struct fixture	*f = *state;
	char		 token[TOKEN_HEX_LEN + 1], err[SESSION_ERR_MAX];
	double		 now = T0;
	int		 i;

	for (i = 0; i < 12; i++) {
		now += session_locked(&f->s, "c:" FP_B, now) + 0.1;
		assert_int_equal(session_login_cert(&f->s, "eve", "mallory", 1,
		    1, FP_B, now, token, err), -1);
	}
	/* now is a sum of fractions: equal to a microsecond. */
	assert_true(fabs(session_locked(&f->s, "c:" FP_B, now) -
	    SESSION_LOCK_MAX) < 1e-6);
}

static void
test_user_must_be_in_the_policy(void **state)
{
	struct fixture	*f = *state;
	char		 token[TOKEN_HEX_LEN + 1], err[SESSION_ERR_MAX];

	assert_int_equal(session_login_password(&f->s, "alice@a.org",
	    PASSWORD, 0, FP_A, T0, token, err), -1);
	assert_string_equal(err, "alice@a.org is not a user of the "
	    "authorization policy");
}

static void
test_users_file_must_be_private_and_well_formed(void **state)
{
	struct fixture	*f = *state;
	char		 token[TOKEN_HEX_LEN + 1], err[SESSION_ERR_MAX];

	write_users(f, "{\"alice@a.org\": \"" KNOWN_HASH "\"}", 0644);
	assert_int_equal(login(f, "alice@a.org", PASSWORD, FP_A, T0, token,
	    err), -1);
	assert_string_equal(err, "the users file may be read or changed by "
	    "others: password logins are off until it is mode 0600");
	write_users(f, "{\"alice@a.org\": \"plain\"}", 0600);
	assert_int_equal(login(f, "alice@a.org", PASSWORD, FP_A, T0, token,
	    err), -1);
	assert_string_equal(err, "the users file's entry for alice@a.org is "
	    "not a salt and PBKDF2 hash in lowercase hex");
	unlink(f->path);
	assert_int_equal(login(f, "alice@a.org", PASSWORD, FP_A, T0, token,
	    err), -1);
	assert_string_equal(err, "password logins are not set up (no users "
	    "file): use _cert_login");
	/* None of these was a guess: nothing is locked. */
	assert_true(session_locked(&f->s, "u:alice@a.org", T0) == 0);
}

static void
test_cert_login_by_cn_only(void **state)
{
	struct fixture	*f = *state;
	char		 token[TOKEN_HEX_LEN + 1], err[SESSION_ERR_MAX];

	assert_int_equal(session_login_cert(&f->s, "bob@a.org", "alice@a.org",
	    1, 1, FP_A, T0, token, err), -1);
	assert_string_equal(err, "bob@a.org is not the name in this "
	    "certificate");
	assert_int_equal(session_login_cert(&f->s, "site-1", "site-1", 0, 1,
	    FP_B, T0, token, err), -1);
	assert_string_equal(err, "not an admin certificate");
	assert_int_equal(session_login_cert(&f->s, "carol@a.org",
	    "carol@a.org", 1, 1, "cccc", T0, token, err), 0);
	assert_string_equal(session_check(&f->s, token, "cccc", T0, err),
	    "carol@a.org");
}

static void
test_session_is_bound_to_its_certificate(void **state)
{
	struct fixture	*f = *state;
	char		 token[TOKEN_HEX_LEN + 1], err[SESSION_ERR_MAX];

	assert_int_equal(login(f, "alice@a.org", PASSWORD, FP_A, T0, token,
	    err), 0);
	assert_null(session_check(&f->s, token, FP_B, T0 + 1, err));
	assert_string_equal(err, "this session was opened with another "
	    "certificate: log in with your own");
	/* The owner still has it. */
	assert_non_null(session_check(&f->s, token, FP_A, T0 + 2, err));
}

static void
test_idle_session_expires_and_says_so(void **state)
{
	struct fixture	*f = *state;
	char		 token[TOKEN_HEX_LEN + 1], err[SESSION_ERR_MAX];

	assert_int_equal(login(f, "alice@a.org", PASSWORD, FP_A, T0, token,
	    err), 0);
	/* Each use restarts the idle time. */
	assert_non_null(session_check(&f->s, token, FP_A, T0 + 3000, err));
	assert_non_null(session_check(&f->s, token, FP_A, T0 + 6000, err));
	assert_null(session_check(&f->s, token, FP_A, T0 + 9601, err));
	assert_string_equal(err, "session expired after 3600 s without a "
	    "command: log in again");
	assert_null(session_check(&f->s, token, FP_A, T0 + 9602, err));
	assert_string_equal(err, "unknown session: log in again");
}

static void
test_logout_and_missing_tokens(void **state)
{
	struct fixture	*f = *state;
	char		 token[TOKEN_HEX_LEN + 1], err[SESSION_ERR_MAX];

	assert_null(session_check(&f->s, NULL, FP_A, T0, err));
	assert_string_equal(err, "not logged in: log in with _login or "
	    "_cert_login first");
	assert_null(session_check(&f->s, "", FP_A, T0, err));
	assert_int_equal(login(f, "alice@a.org", PASSWORD, FP_A, T0, token,
	    err), 0);
	session_logout(&f->s, token);
	assert_null(session_check(&f->s, token, FP_A, T0, err));
	assert_string_equal(err, "unknown session: log in again");
}

static void
test_full_table_drops_the_least_recently_used(void **state)
{
	struct fixture	*f = *state;
	char		 first[TOKEN_HEX_LEN + 1], second[TOKEN_HEX_LEN + 1];
	char		 token[TOKEN_HEX_LEN + 1], err[SESSION_ERR_MAX];
	int		 i;

	assert_int_equal(session_login_cert(&f->s, "u", "u", 1, 1, "f", T0,
	    first, err), 0);
	assert_int_equal(session_login_cert(&f->s, "u", "u", 1, 1, "f", T0 + 1,
	    second, err), 0);
	/* The first is used again: the second is now the oldest. */
	assert_non_null(session_check(&f->s, first, "f", T0 + 2, err));
	for (i = 2; i < SESSIONS_MAX; i++)
		assert_int_equal(session_login_cert(&f->s, "u", "u", 1, 1, "f",
		    T0 + 3, token, err), 0);
	assert_int_equal(session_login_cert(&f->s, "u", "u", 1, 1, "f", T0 + 4,
	    token, err), 0);
	assert_non_null(session_check(&f->s, first, "f", T0 + 5, err));
	assert_null(session_check(&f->s, second, "f", T0 + 5, err));
	assert_string_equal(err, "unknown session: log in again");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_hash_matches_its_password_only),
		cmocka_unit_test(test_new_hashes_verify_and_differ),
#define T(name)	cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_password_login_opens_a_session),
		T(test_wrong_password_and_unknown_user_read_alike),
		T(test_failures_lock_for_two_to_the_n_seconds),
		T(test_lock_is_per_certificate_too),
		T(test_lock_is_capped),
		T(test_user_must_be_in_the_policy),
		T(test_users_file_must_be_private_and_well_formed),
		T(test_cert_login_by_cn_only),
		T(test_session_is_bound_to_its_certificate),
		T(test_idle_session_expires_and_says_so),
		T(test_logout_and_missing_tokens),
		T(test_full_table_drops_the_least_recently_used),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
