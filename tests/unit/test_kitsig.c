/*
 * test_kitsig - a startup kit signed as flprovision signs it, then each
 * way it can go wrong, each refused with the file named: a changed byte,
 * a file not listed, no signatures, a signature moved to another name, a
 * second CA in rootCA.pem, a kit signed for another root, a link, and a
 * root pinned outside the kit.
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
#include <jansson.h>

#include "ca_fixture.h"
#include "kitsig.h"
#include "rootca.h"

static const char *const kit_names[] = {
	"fed_server.json", "server.key", "rootCA.pem", NULL
};
static const char	 kit_config[] = "{\"servers\": [{\"name\": \"p\"}]}\n";
static const char	 kit_key[] = "-----BEGIN PRIVATE KEY-----\nMIGH\n";

struct kit {
	struct ca	 ca;
	json_t		*files;		/* {NAME: signature} */
	char		 fingerprint[DIGEST_HEX_LEN + 1];
	char		 err[KITSIG_ERR_MAX];
};

/* kit_sign - one file written and signed under name */
static void
kit_sign(struct kit *k, const char *name, const char *data)
{
	char	*sig;

	ca_write(&k->ca, name, data, strlen(data));
	sig = ca_sign(k->ca.key, name, strlen(name) + 1, data, strlen(data));
	json_object_set_new(k->files, name, json_string(sig));
	free(sig);
}

/* kit_seal - signature.json from what was signed */
static void
kit_seal(struct kit *k, const char *fingerprint)
{
	json_t	*doc;
	char	*text;

	doc = json_pack("{s:i, s:s, s:s, s:O}", "version", 1, "algorithm",
	    "ecdsa-p256-sha256", "root_fingerprint", fingerprint, "files",
	    k->files);
	assert_non_null(text = json_dumps(doc, JSON_INDENT(2)));
	ca_write(&k->ca, "signature.json", text, strlen(text));
	free(text);
	json_decref(doc);
}

static int
setup(void **state)
{
	struct kit	*k;
	struct rootca	 root;

	unsetenv(KITSIG_PIN_ENV);
	assert_non_null(k = calloc(1, sizeof(*k)));
	ca_new(&k->ca);
	assert_int_equal(rootca_load(&root, k->ca.pem, strlen(k->ca.pem),
	    k->err, sizeof(k->err)), 0);
	memcpy(k->fingerprint, root.rc_fingerprint, sizeof(k->fingerprint));
	rootca_free(&root);
	assert_non_null(k->files = json_object());
	kit_sign(k, "rootCA.pem", k->ca.pem);
	kit_sign(k, "fed_server.json", kit_config);
	kit_sign(k, "server.key", kit_key);
	kit_seal(k, k->fingerprint);
	*state = k;
	return 0;
}

static int
teardown(void **state)
{
	struct kit	*k = *state;

	unsetenv(KITSIG_PIN_ENV);
	json_decref(k->files);
	ca_free(&k->ca);
	free(k);
	return 0;
}

static int
verify(struct kit *k)
{
	k->err[0] = '\0';
	return kitsig_verify(k->ca.dir, kit_names, k->err, sizeof(k->err));
}

static void
test_signed_kit_verifies(void **state)
{
	struct kit	*k = *state;

	assert_int_equal(verify(k), 0);
}

static void
test_changed_byte_names_the_file(void **state)
{
	struct kit	*k = *state;

	const char	*edited = "{\"servers\": [{\"name\": \"q\"}]}\n";

	ca_write(&k->ca, "fed_server.json", edited, strlen(edited));
	assert_int_equal(verify(k), -1);
	assert_string_equal(k->err, "startup kit: fed_server.json was changed "
	    "after it was signed");
}

static void
test_changed_key_names_the_file(void **state)
{
	struct kit	*k = *state;

	ca_write(&k->ca, "server.key", "-----BEGIN PRIVATE KEY-----\nMIGI\n",
	    strlen(kit_key));
	assert_int_equal(verify(k), -1);
	assert_string_equal(k->err, "startup kit: server.key was changed "
	    "after it was signed");
}

static void
test_file_left_out_is_not_signed(void **state)
{
	struct kit	*k = *state;

	json_object_del(k->files, "server.key");
	kit_seal(k, k->fingerprint);
	assert_int_equal(verify(k), -1);
	assert_string_equal(k->err, "startup kit: server.key is not signed");
}

static void
test_no_signatures_is_refused(void **state)
{
	struct kit	*k = *state;

	assert_int_equal(unlink(ca_path(&k->ca, "signature.json")), 0);
	assert_int_equal(verify(k), -1);
	assert_string_equal(k->err, "startup kit: signature.json is missing: "
	    "the kit is not signed (flprovision sign signs it)");
}

static void
test_signature_of_another_name_does_not_verify(void **state)
{
	struct kit	*k = *state;
	char		*sig;

	/* The same bytes, signed as another file of the kit. */
	sig = ca_sign(k->ca.key, "other.json", strlen("other.json") + 1,
	    kit_config, strlen(kit_config));
	json_object_set_new(k->files, "fed_server.json", json_string(sig));
	free(sig);
	kit_seal(k, k->fingerprint);
	assert_int_equal(verify(k), -1);
	assert_string_equal(k->err, "startup kit: fed_server.json was changed "
	    "after it was signed");
}

static void
test_missing_file_is_named(void **state)
{
	struct kit	*k = *state;
	char		 want[PATH_MAX + 64];

	assert_int_equal(unlink(ca_path(&k->ca, "server.key")), 0);
	assert_int_equal(verify(k), -1);
	snprintf(want, sizeof(want), "startup kit: %s: No such file or "
	    "directory", ca_path(&k->ca, "server.key"));
	assert_string_equal(k->err, want);
}

static void
test_link_is_refused(void **state)
{
	struct kit	*k = *state;
	char		 target[PATH_MAX], want[PATH_MAX + 64];

	snprintf(target, sizeof(target), "%s", ca_path(&k->ca, "server.key"));
	assert_int_equal(rename(target, ca_path(&k->ca, "real.key")), 0);
	assert_int_equal(symlink("real.key", target), 0);
	assert_int_equal(verify(k), -1);
	snprintf(want, sizeof(want), "startup kit: %s is a symbolic link",
	    target);
	assert_string_equal(k->err, want);
}

static void
test_second_ca_in_root_is_refused(void **state)
{
	struct kit	*k = *state;
	X509		*cert;
	EVP_PKEY	*other;
	char		*pem, *both;

	assert_non_null(other = EVP_EC_gen("P-256"));
	cert = ca_cert(other, other, "intruder", 1, 365);
	pem = ca_pem(cert);
	assert_true(asprintf(&both, "%s%s", k->ca.pem, pem) > 0);
	kit_sign(k, "rootCA.pem", both);
	kit_seal(k, k->fingerprint);
	assert_int_equal(verify(k), -1);
	assert_string_equal(k->err, "startup kit: rootCA.pem was changed after "
	    "it was signed: rootCA.pem holds more than one certificate");
	X509_free(cert);
	EVP_PKEY_free(other);
	free(pem);
	free(both);
}

static void
test_kit_signed_for_another_root_is_refused(void **state)
{
	struct kit	*k = *state;

	kit_seal(k, "0000000000000000000000000000000000000000000000000000000000"
	    "000000");
	assert_int_equal(verify(k), -1);
	assert_string_equal(k->err, "startup kit: rootCA.pem was changed after "
	    "it was signed: it is not the root CA the kit was signed for");
}

static void
test_malformed_signature_file_is_refused(void **state)
{
	struct kit	*k = *state;
	const char	*v2 = "{\"version\": 2, \"algorithm\": "
			    "\"ecdsa-p256-sha256\", "
			    "\"root_fingerprint\": \"\", \"files\": {}}";

	ca_write(&k->ca, "signature.json", v2, strlen(v2));
	assert_int_equal(verify(k), -1);
	assert_string_equal(k->err, "startup kit: signature.json is not a "
	    "signature file of version 1 with ecdsa-p256-sha256 signatures");
	ca_write(&k->ca, "signature.json", "{", 1);
	assert_int_equal(verify(k), -1);
	assert_non_null(strstr(k->err, "startup kit: signature.json is not "
	    "JSON"));
}

static void
test_pinned_root_must_match(void **state)
{
	struct kit	*k = *state;
	char		 pin[3 * DIGEST_HEX_LEN / 2];
	size_t		 i, n = 0;

	assert_int_equal(setenv(KITSIG_PIN_ENV, "00:11", 1), 0);
	assert_int_equal(verify(k), -1);
	assert_string_equal(k->err, "startup kit: FLSERVER_ROOT_FINGERPRINT "
	    "is not a SHA-256 fingerprint");

	assert_int_equal(setenv(KITSIG_PIN_ENV, "ab" "ab" "ab" "ab" "ab" "ab"
	    "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab"
	    "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab" "ab",
	    1), 0);
	assert_int_equal(verify(k), -1);
	assert_non_null(strstr(k->err, "startup kit: rootCA.pem is not the "
	    "root CA pinned by FLSERVER_ROOT_FINGERPRINT"));

	/* As openssl prints it: upper case, colons. */
	for (i = 0; i < DIGEST_HEX_LEN; i++) {
		if (i > 0 && i % 2 == 0)
			pin[n++] = ':';
		pin[n++] = k->fingerprint[i] >= 'a' ? k->fingerprint[i] - 32 :
		    k->fingerprint[i];
	}
	pin[n] = '\0';
	assert_int_equal(setenv(KITSIG_PIN_ENV, pin, 1), 0);
	assert_int_equal(verify(k), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signed_kit_verifies,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_changed_byte_names_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_changed_key_names_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_file_left_out_is_not_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_signatures_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_signature_of_another_name_does_not_verify, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_is_named,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_is_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_second_ca_in_root_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kit_signed_for_another_root_is_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_malformed_signature_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinned_root_must_match,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
