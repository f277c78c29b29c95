/*
 * test_npz - models saved and loaded as .npz files in a temporary folder:
 * a round trip, an atomic save that fails and leaves the old file as it
 * was, and archives that are not models.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "npz.h"

#define CAP	(1 << 24)

struct fixture {
	char	 dir[64];
	char	 path[128];
};

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	strcpy(f->dir, "/tmp/test_npz.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/FL_global_model.npz", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	struct dirent	*de;
	char		 path[512];
	DIR		*d;

	if ((d = opendir(f->dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", f->dir,
			    de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* add - a tensor whose element i is base + i */
static void
add(struct model *m, const char *name, enum dtype dt, int ndim,
    const int64_t *shape, double base)
{
	struct tensor	 t;
	size_t		 i;

	assert_int_equal(tensor_alloc(&t, name, dt, ndim, shape), 0);
	for (i = 0; i < t.count; i++)
		tensor_set(&t, i, base + (double)i);
	assert_int_equal(model_add(m, &t), 0);
}

static void
sample_model(struct model *m, double base)
{
	static const int64_t	 w[] = { 3, 4 }, b[] = { 4 };

	memset(m, 0, sizeof(*m));
	add(m, "layer1/weight", DTYPE_FLOAT32, 2, w, base);
	add(m, "layer1/bias", DTYPE_INT64, 1, b, base);
	add(m, "scale", DTYPE_FLOAT16, 0, NULL, base);
}

/* slurp - a whole file, for byte comparisons */
static uint8_t *
slurp(const char *path, size_t *len)
{
	uint8_t		*buf;
	FILE		*fp;
	long		 n;

	assert_non_null(fp = fopen(path, "rb"));
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static int
count_files(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
test_round_trip(void **state)
{
	struct fixture	*f = *state;
	struct model	 m, back;
	struct tensor	*t;
	char		 err[NPZ_ERR_MAX];
	size_t		 i;

	sample_model(&m, 1.5);
	assert_int_equal(npz_save(f->path, &m, err), 0);
	assert_int_equal(npz_load(f->path, CAP, &back, err), 0);
	assert_int_equal(back.count, 3);
	for (i = 0; i < m.count; i++) {
		t = model_find(&back, m.tensors[i].name);
		assert_non_null(t);
		assert_int_equal(t->dtype, m.tensors[i].dtype);
		assert_true(tensor_same_shape(t, &m.tensors[i]));
		assert_memory_equal(t->data, m.tensors[i].data,
		    t->count * dtype_size(t->dtype));
	}
	t = model_find(&back, "layer1/bias");
	/* 1.5 + i rounded half to even, as np.rint: 2, 2, 4, 4 */
	assert_true(tensor_get(t, 0) == 2.0);
	assert_true(tensor_get(t, 1) == 2.0);
	assert_true(tensor_get(t, 3) == 4.0);
	assert_int_equal(count_files(f->dir), 1);
	model_free(&m);
	model_free(&back);
}

static void
test_save_replaces_old_model(void **state)
{
	struct fixture	*f = *state;
	struct model	 m, back;
	char		 err[NPZ_ERR_MAX];

	sample_model(&m, 0);
	assert_int_equal(npz_save(f->path, &m, err), 0);
	model_free(&m);
	sample_model(&m, 10);
	assert_int_equal(npz_save(f->path, &m, err), 0);
	assert_int_equal(npz_load(f->path, CAP, &back, err), 0);
	assert_true(tensor_get(model_find(&back, "scale"), 0) == 10.0);
	assert_int_equal(count_files(f->dir), 1);
	model_free(&m);
	model_free(&back);
}

/*
 * A file size limit makes the write fail with EFBIG half way, as a full
 * disk would with ENOSPC. SIGXFSZ is ignored so write(2) returns the
 * error instead of killing the test.
 */
static void
test_failed_save_leaves_old_file(void **state)
{
	struct fixture	*f = *state;
	static const int64_t	 big[] = { 64, 1024 };
	struct model	 m;
	struct rlimit	 saved, small;
	char		 err[NPZ_ERR_MAX];
	uint8_t		*before, *after;
	size_t		 blen, alen;
	void		(*old)(int);

	sample_model(&m, 0);
	assert_int_equal(npz_save(f->path, &m, err), 0);
	before = slurp(f->path, &blen);
	add(&m, "big", DTYPE_FLOAT64, 2, big, 0);

	old = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	small = saved;
	small.rlim_cur = 64 * 1024;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	assert_int_equal(npz_save(f->path, &m, err), -1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	signal(SIGXFSZ, old);

	assert_non_null(strstr(err, "File too large"));
	after = slurp(f->path, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	assert_int_equal(count_files(f->dir), 1);	/* no temporary left */
	free(before);
	free(after);
	model_free(&m);
}

static void
test_save_into_missing_folder_fails(void **state)
{
	struct fixture	*f = *state;
	struct model	 m;
	char		 path[256], err[NPZ_ERR_MAX];

	snprintf(path, sizeof(path), "%s/absent/model.npz", f->dir);
	sample_model(&m, 0);
	assert_int_equal(npz_save(path, &m, err), -1);
	assert_non_null(strstr(err, "No such file"));
	model_free(&m);
}

static void
write_file(const char *path, const void *buf, size_t len)
{
	FILE	*fp;

	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

static void
refused(const char *path, size_t cap, const char *word)
{
	struct model	 m;
	char		 err[NPZ_ERR_MAX];

	assert_int_equal(npz_load(path, cap, &m, err), -1);
	if (strstr(err, word) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, word);
	assert_int_equal(m.count, 0);
	assert_null(m.tensors);
}

/* np.savez_compressed(f, a=np.arange(3, dtype='<i2')): one deflated
 * member "a.npy". */
static const uint8_t npz_compressed[] = {
	0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00,
	0x00, 0x21, 0x00, 0x6a, 0xcf, 0xf2, 0x51, 0x4a, 0x00, 0x00, 0x00,
	0x86, 0x00, 0x00, 0x00, 0x05, 0x00, 0x14, 0x00, 0x61, 0x2e, 0x6e,
	0x70, 0x79, 0x01, 0x00, 0x10, 0x00, 0x86, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x4a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x9b, 0xec, 0x17, 0xea, 0x1b, 0x10, 0xc9, 0xc8, 0x50, 0xc6, 0x50,
	0xad, 0x9e, 0x92, 0x5a, 0x9c, 0x5c, 0xa4, 0x6e, 0xa5, 0xa0, 0x6e,
	0x93, 0x69, 0xa4, 0xae, 0xa3, 0xa0, 0x9e, 0x96, 0x5f, 0x54, 0x52,
	0x94, 0x98, 0x17, 0x9f, 0x5f, 0x94, 0x92, 0x0a, 0x12, 0x77, 0x4b,
	0xcc, 0x29, 0x4e, 0x05, 0x8a, 0x17, 0x67, 0x24, 0x16, 0xa4, 0x02,
	0xf9, 0x1a, 0xc6, 0x3a, 0x9a, 0x3a, 0x0a, 0xb5, 0x0a, 0x14, 0x00,
	0x2e, 0x06, 0x06, 0x46, 0x06, 0x26, 0x06, 0x00, 0x50, 0x4b, 0x01,
	0x02, 0x14, 0x03, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
	0x21, 0x00, 0x6a, 0xcf, 0xf2, 0x51, 0x4a, 0x00, 0x00, 0x00, 0x86,
	0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x61,
	0x2e, 0x6e, 0x70, 0x79, 0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x00, 0x01, 0x00, 0x33, 0x00, 0x00, 0x00, 0x81, 0x00,
	0x00, 0x00, 0x00, 0x00,
};

static void
test_loads_numpy_savez_compressed(void **state)
{
	struct fixture	*f = *state;
	struct model	 m;
	struct tensor	*t;
	char		 err[NPZ_ERR_MAX];

	write_file(f->path, npz_compressed, sizeof(npz_compressed));
	assert_int_equal(npz_load(f->path, CAP, &m, err), 0);
	assert_int_equal(m.count, 1);
	assert_non_null(t = model_find(&m, "a"));
	assert_int_equal(t->dtype, DTYPE_INT16);
	assert_int_equal(t->count, 3);
	assert_true(tensor_get(t, 0) == 0.0);
	assert_true(tensor_get(t, 2) == 2.0);
	model_free(&m);
}

static void
test_refuses_file_that_is_no_zip(void **state)
{
	struct fixture	*f = *state;

	write_file(f->path, "\x93NUMPY\x01\x00", 8);
	refused(f->path, CAP, "not a readable zip");
}

/* A zip with one stored member "notes.txt" holding "hi", as Python's
 * zipfile writes it. */
static const uint8_t zip_with_text[] = {
	0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x21, 0x00, 0xac, 0x2a, 0x93, 0xd8, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00,
	0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 'n', 'o', 't', 'e', 's', '.',
	't', 'x', 't', 'h', 'i', 0x50, 0x4b, 0x01, 0x02, 0x14, 0x03, 0x14,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00, 0xac, 0x2a, 0x93,
	0xd8, 0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x01, 0x00,
	0x00, 0x00, 0x00, 'n', 'o', 't', 'e', 's', '.', 't', 'x', 't',
	0x50, 0x4b, 0x05, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
	0x37, 0x00, 0x00, 0x00, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void
test_refuses_zip_that_is_no_npz(void **state)
{
	struct fixture	*f = *state;

	write_file(f->path, zip_with_text, sizeof(zip_with_text));
	refused(f->path, CAP, "not a .npy");
}

static void
test_refuses_model_over_cap(void **state)
{
	struct fixture	*f = *state;
	struct model	 m;
	char		 err[NPZ_ERR_MAX];

	/* 48 + 32 + 2 bytes of tensor data */
	sample_model(&m, 0);
	assert_int_equal(npz_save(f->path, &m, err), 0);
	refused(f->path, 81, "limit");
	model_free(&m);
}

static void
test_refuses_missing_file(void **state)
{
	refused("/nonexistent/FL_global_model.npz", CAP, "nonexistent");
}

#define IN_FOLDER(test) \
	cmocka_unit_test_setup_teardown(test, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		IN_FOLDER(test_round_trip),
		IN_FOLDER(test_save_replaces_old_model),
		IN_FOLDER(test_failed_save_leaves_old_file),
		IN_FOLDER(test_save_into_missing_folder_fails),
		IN_FOLDER(test_loads_numpy_savez_compressed),
		IN_FOLDER(test_refuses_file_that_is_no_zip),
		IN_FOLDER(test_refuses_zip_that_is_no_npz),
		IN_FOLDER(test_refuses_model_over_cap),
		cmocka_unit_test(test_refuses_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
