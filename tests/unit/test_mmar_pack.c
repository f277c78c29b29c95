/*
 * test_mmar_pack - an MMAR folder packed by mmar_pack unpacks (with
 * mmar_unpack) into the same files and validates; a folder holding a
 * symbolic link, or an archive over the cap, is refused; base64 goes
 * both ways and refuses text that is not base64 or decodes past its cap.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mmar.h"

struct t {
	char	 root[64];		/* src/ and out/ */
	char	 src[96];
	char	 out[96];
	char	 err[MMAR_ERR_MAX];
};

static const char server_conf[] =
	"{\"min_num_clients\": 2, \"num_rounds\": 3,\n"
	" \"ckpt_preload_path\": \"../models/initial.npz\"}\n";

static void
put(const char *dir, const char *name, const char *text)
{
	char	 path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *
slurp(const char *dir, const char *name)
{
	static char	 buf[4096];
	char		 path[256];
	size_t		 n;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int
setup(void **state)
{
	struct t	*t = calloc(1, sizeof(*t));
	char		 path[160];

	snprintf(t->root, sizeof(t->root), "/tmp/test_mmar_pack.XXXXXX");
	if (mkdtemp(t->root) == NULL)
		return -1;
	snprintf(t->src, sizeof(t->src), "%s/src", t->root);
	snprintf(t->out, sizeof(t->out), "%s/out", t->root);
	mkdir(t->src, 0755);
	snprintf(path, sizeof(path), "%s/config", t->src);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/models", t->src);
	mkdir(path, 0755);
	put(t->src, "config/config_fed_server.json", server_conf);
	put(t->src, "models/initial.npz", "not read by validate\n");
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct t	*t = *state;

	mmar_remove(t->root);
	free(t);
	return 0;
}

static void
test_pack_then_unpack_is_the_same(void **state)
{
	struct t	*t = *state;
	void		*ar;
	size_t		 len;
	int		 byoc = -1;

	assert_int_equal(mmar_pack(t->src, 1 << 20, &ar, &len, t->err,
	    sizeof(t->err)), 0);
	assert_int_equal(mmar_unpack(ar, len, t->out, NULL, t->err,
	    sizeof(t->err)), 0);
	free(ar);
	assert_string_equal(slurp(t->out, "config/config_fed_server.json"),
	    server_conf);
	assert_string_equal(slurp(t->out, "models/initial.npz"),
	    "not read by validate\n");
	assert_int_equal(mmar_validate(t->out, t->err, sizeof(t->err),
	    &byoc), 0);
	assert_int_equal(byoc, 0);
}

static void
test_link_is_refused(void **state)
{
	struct t	*t = *state;
	char		 path[160];
	void		*ar = NULL;
	size_t		 len;

	snprintf(path, sizeof(path), "%s/config/passwd", t->src);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(mmar_pack(t->src, 1 << 20, &ar, &len, t->err,
	    sizeof(t->err)), -1);
	assert_null(ar);
	assert_string_equal(t->err, "config/passwd: a symbolic link");
	assert_int_equal(mmar_pack(path, 1 << 20, &ar, &len, t->err,
	    sizeof(t->err)), -1);
}

static void
test_cap_is_kept(void **state)
{
	struct t	*t = *state;
	void		*ar = NULL;
	size_t		 len;

	assert_int_equal(mmar_pack(t->src, 2048, &ar, &len, t->err,
	    sizeof(t->err)), -1);
	assert_string_equal(t->err, "the archive is over 2048 bytes");
}

static void
test_base64_both_ways(void **state)
{
	struct t	*t = *state;
	const char	 data[] = "any bytes\0\xff";
	char		*b64;
	void		*back;
	size_t		 len;

	assert_non_null(b64 = mmar_base64(data, sizeof(data)));
	assert_non_null(back = mmar_unbase64(b64, 64, &len, t->err,
	    sizeof(t->err)));
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(back, data, len);
	free(back);
	assert_null(mmar_unbase64(b64, 4, &len, t->err, sizeof(t->err)));
	assert_string_equal(t->err, "the archive is over 4 bytes");
	free(b64);
	assert_null(mmar_unbase64("ab!=", 64, &len, t->err,
	    sizeof(t->err)));
	assert_string_equal(t->err, "the archive is not base64");
	assert_null(mmar_unbase64("abc", 64, &len, t->err, sizeof(t->err)));
}

#define T(test)	cmocka_unit_test_setup_teardown(test, setup, teardown)

int
main(void)
{
	const struct CMUnitTest	 tests[] = {
		T(test_pack_then_unpack_is_the_same),
		T(test_link_is_refused),
		T(test_cap_is_kept),
		T(test_base64_both_ways),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
