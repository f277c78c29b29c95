/*
 * test_revocation - the signed list of revoked certificates: what
 * verifies (the canonical text flprovision signs, however the file is
 * laid out), what is refused and why, and a daemon's list as its file
 * appears, changes, turns bad and goes away, looked at once a second.
 * Then a certificate's expiry, as check_status shows it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ca_fixture.h"
#include "certinfo.h"
#include "revocation.h"

#define FP_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"
#define FP_C	"cccccccccccccccccccccccccccccccc" \
		"cccccccccccccccccccccccccccccccc"
#define WHEN	"2024-05-01T12:00:00Z"
#define ENTRY(fp, name) \
	"{\"fingerprint\":\"" fp "\",\"name\":\"" name "\",\"time\":\"" \
	WHEN "\"}"

struct rev {
	struct ca	 ca;
	struct rootca	 root;
	char		 err[REVOCATION_ERR_MAX];
	char		 msg[128];
};

static int
setup(void **state)
{
	struct rev	*t;
	char		 dir[PATH_MAX];

	assert_non_null(t = calloc(1, sizeof(*t)));
	ca_new(&t->ca);
	assert_int_equal(rootca_load(&t->root, t->ca.pem, strlen(t->ca.pem),
	    t->err, sizeof(t->err)), 0);
	snprintf(dir, sizeof(dir), "%s/startup", t->ca.dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	ca_write(&t->ca, "startup/rootCA.pem", t->ca.pem, strlen(t->ca.pem));
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct rev	*t = *state;

	rootca_free(&t->root);
	ca_free(&t->ca);
	free(t);
	return 0;
}

/*
 * list_text - a list file: the signature over the canonical text of
 * entries (compact, keys sorted), the file itself laid out otherwise,
 * as flprovision writes it indented with its keys in another order.
 */
static char *
list_text(EVP_PKEY *key, const char *entries)
{
	char	*canonical, *sig, *text;

	assert_true(asprintf(&canonical, "{\"revoked\":[%s],\"version\":1}",
	    entries) > 0);
	sig = ca_sign(key, NULL, 0, canonical, strlen(canonical));
	assert_true(asprintf(&text, "{\n  \"version\": 1,\n  \"revoked\": "
	    "[%s],\n  \"signature\": \"%s\"\n}\n", entries, sig) > 0);
	free(canonical);
	free(sig);
	return text;
}

static int
parse(struct rev *t, const char *text, struct revocation_list *list)
{
	return revocation_parse(text, strlen(text), &t->root, list, t->err,
	    sizeof(t->err));
}

static void
test_signed_list_verifies_and_finds_each_fingerprint(void **state)
{
	struct rev		*t = *state;
	struct revocation_list	 list;
	const struct revoked	*e;
	char			*text;

	text = list_text(t->ca.key, ENTRY(FP_A, "site-1") ","
	    ENTRY(FP_B, "admin@example.org"));
	assert_int_equal(parse(t, text, &list), 0);
	assert_int_equal(list.rl_count, 2);
	assert_non_null(e = revocation_find(&list, FP_B));
	assert_string_equal(e->re_name, "admin@example.org");
	assert_string_equal(e->re_time, WHEN);
	assert_non_null(revocation_find(&list, FP_A));
	assert_null(revocation_find(&list, FP_C));
	revocation_list_free(&list);
	free(text);
}

static void
test_empty_list_verifies(void **state)
{
	struct rev		*t = *state;
	struct revocation_list	 list;
	char			*text = list_text(t->ca.key, "");

	assert_int_equal(parse(t, text, &list), 0);
	assert_int_equal(list.rl_count, 0);
	assert_null(revocation_find(&list, FP_A));
	free(text);
}

static void
test_list_signed_by_another_key_is_refused(void **state)
{
	struct rev		*t = *state;
	struct revocation_list	 list;
	EVP_PKEY		*other;
	char			*text;

	assert_non_null(other = EVP_EC_gen("P-256"));
	text = list_text(other, ENTRY(FP_A, "site-1"));
	assert_int_equal(parse(t, text, &list), -1);
	assert_string_equal(t->err, "its signature does not verify with the "
	    "root CA");
	assert_int_equal(list.rl_count, 0);
	EVP_PKEY_free(other);
	free(text);
}

static void
test_entry_changed_after_signing_is_refused(void **state)
{
	struct rev		*t = *state;
	struct revocation_list	 list;
	char			*text, *at;

	text = list_text(t->ca.key, ENTRY(FP_A, "site-1"));
	assert_non_null(at = strstr(text, "site-1"));
	at[5] = '2';
	assert_int_equal(parse(t, text, &list), -1);
	assert_string_equal(t->err, "its signature does not verify with the "
	    "root CA");
	free(text);
}

static void
test_signature_over_pretty_text_is_refused(void **state)
{
	struct rev		*t = *state;
	struct revocation_list	 list;
	const char		*body = "{\"version\": 1, \"revoked\": []}";
	char			*sig, *text;

	sig = ca_sign(t->ca.key, NULL, 0, body, strlen(body));
	assert_true(asprintf(&text, "{\"version\": 1, \"revoked\": [], "
	    "\"signature\": \"%s\"}", sig) > 0);
	assert_int_equal(parse(t, text, &list), -1);
	assert_string_equal(t->err, "its signature does not verify with the "
	    "root CA");
	free(sig);
	free(text);
}

static void
expect_refused(struct rev *t, const char *text, const char *why)
{
	struct revocation_list	 list;

	assert_int_equal(parse(t, text, &list), -1);
	assert_string_equal(t->err, why);
	assert_int_equal(list.rl_count, 0);
	assert_null(list.rl_entries);
}

static void
test_malformed_lists_are_refused_naming_the_fault(void **state)
{
	struct rev	*t = *state;
	const char	*shape = "not a revocation list of version 1: "
			    "exactly version, revoked and signature";

	expect_refused(t, "[]", shape);
	expect_refused(t, "{\"version\": 2, \"revoked\": [], \"signature\": "
	    "\"AAAA\"}", shape);
	expect_refused(t, "{\"version\": 1.0, \"revoked\": [], \"signature\": "
	    "\"AAAA\"}", shape);
	expect_refused(t, "{\"version\": 1, \"revoked\": {}, \"signature\": "
	    "\"AAAA\"}", shape);
	expect_refused(t, "{\"version\": 1, \"revoked\": [], \"signature\": "
	    "\"AAAA\", \"note\": \"x\"}", shape);
	expect_refused(t, "{\"version\": 1, \"revoked\": []}", shape);
	expect_refused(t, "{\"version\": 1, \"version\": 1}",
	    "not JSON: line 1: duplicate object key near '\"version\"'");
	expect_refused(t, "{\"version\": 1, \"revoked\": [{\"fingerprint\": "
	    "\"" FP_A "\", \"name\": \"s\"}], \"signature\": \"AAAA\"}",
	    "revoked[0] is not an object of exactly fingerprint, name and "
	    "time");
	expect_refused(t, "{\"version\": 1, \"revoked\": [{\"fingerprint\": "
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "\", \"name\": \"s\", \"time\": \"" WHEN "\"}], \"signature\": "
	    "\"AAAA\"}", "revoked[0].fingerprint is not 64 lowercase hex "
	    "digits");
	expect_refused(t, "{\"version\": 1, \"revoked\": [{\"fingerprint\": "
	    "\"" FP_A "\", \"name\": \"a b\", \"time\": \"" WHEN "\"}], "
	    "\"signature\": \"AAAA\"}", "revoked[0].name is not a "
	    "participant's name");
	expect_refused(t, "{\"version\": 1, \"revoked\": [{\"fingerprint\": "
	    "\"" FP_A "\", \"name\": \"s\", \"time\": \"2024-05-01 12:00:00"
	    "\"}], \"signature\": \"AAAA\"}", "revoked[0].time is not a UTC "
	    "time like 2024-05-01T12:00:00Z");
}

/* daemon - the list of a workspace, as aggd or admind keeps it */
static void
write_list(struct rev *t, const char *text)
{
	char	 tmp[PATH_MAX], path[PATH_MAX];

	/* Replaced whole, as an operator's copy would. */
	snprintf(tmp, sizeof(tmp), "%s/startup/.revoked", t->ca.dir);
	snprintf(path, sizeof(path), "%s/startup/revoked.json", t->ca.dir);
	ca_write(&t->ca, "startup/.revoked", text, strlen(text));
	assert_int_equal(rename(tmp, path), 0);
}

static int
peer(struct rev *t, struct revocation *rv, const char *fp, double now)
{
	t->msg[0] = '\0';
	return revocation_peer(rv, fp, now, t->msg, sizeof(t->msg));
}

static void
test_no_file_revokes_nothing(void **state)
{
	struct rev		*t = *state;
	struct revocation	 rv;

	assert_int_equal(revocation_init(&rv, t->ca.dir), 0);
	assert_int_equal(peer(t, &rv, FP_A, 100.0), 0);
	revocation_free(&rv);
}

static void
test_new_list_is_taken_at_most_once_a_second(void **state)
{
	struct rev		*t = *state;
	struct revocation	 rv;
	char			*text;

	assert_int_equal(revocation_init(&rv, t->ca.dir), 0);
	assert_int_equal(peer(t, &rv, FP_A, 100.0), 0);
	text = list_text(t->ca.key, ENTRY(FP_A, "site-1"));
	write_list(t, text);
	assert_int_equal(peer(t, &rv, FP_A, 100.5), 0);
	assert_int_equal(peer(t, &rv, FP_A, 101.0), -1);
	assert_string_equal(t->msg, "certificate revoked");
	assert_int_equal(peer(t, &rv, FP_B, 101.0), 0);
	revocation_free(&rv);
	free(text);
}

static void
test_bad_list_is_refused_and_the_old_one_kept(void **state)
{
	struct rev		*t = *state;
	struct revocation	 rv;
	EVP_PKEY		*other;
	char			*good, *forged;

	assert_non_null(other = EVP_EC_gen("P-256"));
	good = list_text(t->ca.key, ENTRY(FP_A, "site-1"));
	forged = list_text(other, "");
	write_list(t, good);
	assert_int_equal(revocation_init(&rv, t->ca.dir), 0);
	assert_int_equal(peer(t, &rv, FP_A, 10.0), -1);

	write_list(t, forged);
	assert_int_equal(peer(t, &rv, FP_A, 12.0), -1);
	assert_string_equal(t->msg, "certificate revoked");
	write_list(t, "{");
	assert_int_equal(peer(t, &rv, FP_A, 14.0), -1);
	revocation_free(&rv);
	EVP_PKEY_free(other);
	free(good);
	free(forged);
}

static void
test_list_changed_or_removed_is_followed(void **state)
{
	struct rev		*t = *state;
	struct revocation	 rv;
	char			*first, *second, path[PATH_MAX];

	first = list_text(t->ca.key, ENTRY(FP_A, "site-1"));
	second = list_text(t->ca.key, ENTRY(FP_B, "site-2"));
	write_list(t, first);
	assert_int_equal(revocation_init(&rv, t->ca.dir), 0);
	assert_int_equal(peer(t, &rv, FP_A, 10.0), -1);
	assert_int_equal(peer(t, &rv, FP_B, 10.0), 0);

	write_list(t, second);
	assert_int_equal(peer(t, &rv, FP_A, 11.0), 0);
	assert_int_equal(peer(t, &rv, FP_B, 11.0), -1);

	snprintf(path, sizeof(path), "%s/startup/revoked.json", t->ca.dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(peer(t, &rv, FP_B, 12.0), 0);
	revocation_free(&rv);
	free(first);
	free(second);
}

static void
test_peer_without_fingerprint_is_refused(void **state)
{
	struct rev		*t = *state;
	struct revocation	 rv;

	assert_int_equal(revocation_init(&rv, t->ca.dir), 0);
	assert_int_equal(peer(t, &rv, "", 1.0), -1);
	assert_string_equal(t->msg, "no certificate fingerprint to check");
	assert_int_equal(peer(t, &rv, NULL, 1.0), -1);
	assert_int_equal(peer(t, &rv, FP_A "0", 1.0), -1);
	revocation_free(&rv);
}

static void
test_list_with_a_foreign_root_in_the_kit_is_refused(void **state)
{
	struct rev		*t = *state;
	struct revocation	 rv;
	char			*pem, *text;
	X509			*cert;
	EVP_PKEY		*other;

	/* The list's signer is not the kit's root CA. */
	assert_non_null(other = EVP_EC_gen("P-256"));
	cert = ca_cert(other, other, "another", 1, 365);
	pem = ca_pem(cert);
	text = list_text(t->ca.key, ENTRY(FP_A, "site-1"));
	ca_write(&t->ca, "startup/rootCA.pem", pem, strlen(pem));
	write_list(t, text);
	assert_int_equal(revocation_init(&rv, t->ca.dir), 0);
	assert_int_equal(peer(t, &rv, FP_A, 1.0), 0);
	revocation_free(&rv);
	X509_free(cert);
	EVP_PKEY_free(other);
	free(pem);
	free(text);
}

static void
test_expiry_is_read_and_warned_30_days_ahead(void **state)
{
	struct rev	*t = *state;
	X509		*cert;
	char		*pem, when[CERTINFO_TIME_LEN + 1];
	time_t		 now = time(NULL), not_after;

	cert = ca_cert(t->ca.key, t->ca.key, "site-1", 0, 10);
	pem = ca_pem(cert);
	assert_int_equal(certinfo_not_after(pem, strlen(pem), &not_after,
	    t->err, sizeof(t->err)), 0);
	assert_true(not_after >= now + 10 * 86400 - 5);
	assert_true(not_after <= now + 10 * 86400 + 5);
	assert_int_equal(certinfo_expiring(not_after, now), 1);
	assert_true(certinfo_days_left(not_after, now) >= 9);
	assert_true(certinfo_days_left(not_after, now) <= 10);
	assert_int_equal(certinfo_expiring(not_after, now - 30 * 86400), 0);
	assert_true(certinfo_days_left(not_after, now + 11 * 86400) < 0);
	certinfo_time(0, when);
	assert_string_equal(when, "1970-01-01T00:00:00Z");
	X509_free(cert);
	free(pem);
}

static void
test_expiry_of_a_file_and_of_garbage(void **state)
{
	struct rev	*t = *state;
	time_t		 now = time(NULL), not_after;

	assert_int_equal(certinfo_file_not_after(ca_path(&t->ca,
	    "startup/rootCA.pem"), &not_after, t->err, sizeof(t->err)), 0);
	assert_int_equal(certinfo_expiring(not_after, now), 0);
	assert_int_equal(certinfo_not_after("-----BEGIN", 10, &not_after,
	    t->err, sizeof(t->err)), -1);
	assert_string_equal(t->err, "not a PEM certificate");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_signed_list_verifies_and_finds_each_fingerprint,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_list_verifies,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_list_signed_by_another_key_is_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_entry_changed_after_signing_is_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_signature_over_pretty_text_is_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_malformed_lists_are_refused_naming_the_fault, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_file_revokes_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_new_list_is_taken_at_most_once_a_second, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_list_is_refused_and_the_old_one_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_list_changed_or_removed_is_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_peer_without_fingerprint_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_list_with_a_foreign_root_in_the_kit_is_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_expiry_is_read_and_warned_30_days_ahead, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_expiry_of_a_file_and_of_garbage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
