/*
 * test_digest - SHA-256 against the FIPS 180-2 vectors, tokens, and the
 * comparison used for them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "digest.h"

static void
test_sha256_known_vectors(void **state)
{
	char	 hex[DIGEST_HEX_LEN + 1];

	digest_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	digest_sha256_hex("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
}

static void
test_tokens_are_hex_and_differ(void **state)
{
	char	 a[TOKEN_HEX_LEN + 1], b[TOKEN_HEX_LEN + 1];

	assert_int_equal(digest_random_token(a), 0);
	assert_int_equal(digest_random_token(b), 0);
	assert_int_equal(strlen(a), TOKEN_HEX_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), TOKEN_HEX_LEN);
	assert_string_not_equal(a, b);
}

static void
test_equal_compares_content_and_length(void **state)
{
	assert_int_equal(digest_equal("0123abcd", "0123abcd"), 1);
	assert_int_equal(digest_equal("0123abcd", "0123abce"), 0);
	assert_int_equal(digest_equal("0123abcd", "0123abc"), 0);
	assert_int_equal(digest_equal("", "x"), 0);
	assert_int_equal(digest_equal("", ""), 1);
	assert_int_equal(digest_equal(NULL, "x"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_known_vectors),
		cmocka_unit_test(test_tokens_are_hex_and_differ),
		cmocka_unit_test(test_equal_compares_content_and_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
