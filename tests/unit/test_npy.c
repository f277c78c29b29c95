/*
 * test_npy - the .npy reader and writer against bytes numpy produced.
 *
 * Inputs are built from a header dict and data bytes as numpy.save wrote
 * them (numpy 1.24); the writer is compared with numpy's output byte for
 * byte: its header length, its dict text, spaces up to a newline, data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "npy.h"

#define BIG	(1 << 20)

/* build - a .npy file: preamble, dict padded like numpy, then data */
static size_t
build(uint8_t *out, int version, const char *dict, const void *data,
    size_t dlen)
{
	size_t	 pre = version == 1 ? 10 : 12, text = strlen(dict), hlen;

	hlen = text + 1;
	hlen += 64 - (pre + hlen) % 64;
	memcpy(out, "\x93NUMPY", 6);
	out[6] = version;
	out[7] = 0;
	out[8] = hlen & 0xff;
	out[9] = (hlen >> 8) & 0xff;
	if (version == 2) {
		out[10] = (hlen >> 16) & 0xff;
		out[11] = (hlen >> 24) & 0xff;
	}
	memcpy(out + pre, dict, text);
	memset(out + pre + text, ' ', hlen - text - 1);
	out[pre + hlen - 1] = '\n';
	memcpy(out + pre + hlen, data, dlen);
	return pre + hlen + dlen;
}

/* One dtype: three values, as little-endian bytes from numpy. */
struct vector {
	const char	*code;
	enum dtype	 dtype;
	size_t		 size;
	uint8_t		 le[24];
	double		 values[3];
};

static const struct vector vectors[] = {
	{ "f2", DTYPE_FLOAT16, 2, { 0x00, 0x3e, 0x80, 0xc0, 0xff, 0x7b },
	    { 1.5, -2.25, 65504 } },
	{ "f4", DTYPE_FLOAT32, 4, { 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x50,
	    0xc0, 0x00, 0x00, 0x80, 0x4b }, { 0.5, -3.25, 16777216 } },
	{ "f8", DTYPE_FLOAT64, 8, { 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9,
	    0x3f, 0x9c, 0x75, 0x00, 0x88, 0x3c, 0xe4, 0x37, 0xfe, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x00, 0x04, 0x40 }, { 0.1, -1e300, 2.5 } },
	{ "i1", DTYPE_INT8, 1, { 0x80, 0x7f, 0x00 }, { -128, 127, 0 } },
	{ "i2", DTYPE_INT16, 2, { 0x00, 0x80, 0xff, 0x7f, 0xff, 0xff },
	    { -32768, 32767, -1 } },
	{ "i4", DTYPE_INT32, 4, { 0x00, 0x00, 0x00, 0x80, 0xff, 0xff, 0xff,
	    0x7f, 0x07, 0x00, 0x00, 0x00 }, { -2147483648.0, 2147483647, 7 } },
	{ "i8", DTYPE_INT64, 8, { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x80, 0xcb, 0x04, 0xfb, 0x71, 0x1f, 0x01, 0x00, 0x00, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	    { -9223372036854775808.0, 1234567890123.0, -1 } },
	{ "u1", DTYPE_UINT8, 1, { 0x00, 0xff, 0x07 }, { 0, 255, 7 } },
	{ "u2", DTYPE_UINT16, 2, { 0x00, 0x00, 0xff, 0xff, 0x02, 0x01 },
	    { 0, 65535, 258 } },
	{ "u4", DTYPE_UINT32, 4, { 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	    0xff, 0x00, 0x00, 0x01, 0x00 }, { 0, 4294967295.0, 65536 } },
	/* 2^64 - 1 is nearest to 2^64 as a double. */
	{ "u8", DTYPE_UINT64, 8, { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	    { 0, 9007199254740992.0, 18446744073709551616.0 } },
	{ "b1", DTYPE_BOOL, 1, { 0x01, 0x00, 0x01 }, { 1, 0, 1 } },
};

/* read_vector - decode one vector written in byte order order */
static void
read_vector(const struct vector *v, char order)
{
	static uint8_t	 file[4096];
	uint8_t		 data[24];
	char		 dict[128], err[NPY_ERR_MAX];
	struct tensor	 t;
	size_t		 i, j, len;

	/* numpy writes '|' for one-byte types; '<' and '>' mean the same. */
	snprintf(dict, sizeof(dict), "{'descr': '%c%s', 'fortran_order': "
	    "False, 'shape': (3,), }", v->size == 1 && order == '<' ? '|' :
	    order, v->code);
	for (i = 0; i < 3; i++)
		for (j = 0; j < v->size; j++)
			data[i * v->size + j] = order == '<' ?
			    v->le[i * v->size + j] :
			    v->le[i * v->size + v->size - 1 - j];
	len = build(file, 1, dict, data, 3 * v->size);

	assert_int_equal(npy_read(file, len, BIG, &t, err), 0);
	assert_int_equal(t.dtype, v->dtype);
	assert_int_equal(t.ndim, 1);
	assert_int_equal(t.shape[0], 3);
	assert_int_equal(t.count, 3);
	assert_null(t.name);
	assert_memory_equal(t.data, v->le, 3 * v->size);
	for (i = 0; i < 3; i++)
		assert_true(tensor_get(&t, i) == v->values[i]);
	tensor_free(&t);
}

static void
test_every_dtype_little_endian(void **state)
{
	size_t	 i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		read_vector(&vectors[i], '<');
}

static void
test_every_dtype_big_endian(void **state)
{
	size_t	 i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		read_vector(&vectors[i], '>');
}

static void
test_fortran_order_becomes_c_order(void **state)
{
	/* np.asfortranarray(np.arange(6, dtype='<i4').reshape(2, 3)) */
	static const int32_t	 fdata[] = { 0, 3, 1, 4, 2, 5 };
	uint8_t			 file[512];
	char			 err[NPY_ERR_MAX];
	struct tensor		 t;
	size_t			 len;
	int32_t			 i;

	len = build(file, 1, "{'descr': '<i4', 'fortran_order': True, "
	    "'shape': (2, 3), }", fdata, sizeof(fdata));
	assert_int_equal(npy_read(file, len, BIG, &t, err), 0);
	assert_int_equal(t.ndim, 2);
	for (i = 0; i < 6; i++)
		assert_int_equal(((int32_t *)t.data)[i], i);
	tensor_free(&t);
}

static void
test_fortran_order_three_dims(void **state)
{
	/* np.arange(24).reshape(2, 3, 4) in Fortran order: element (a, b, c)
	 * is at a + 2b + 6c and holds 12a + 4b + c. */
	uint8_t		 file[512];
	int64_t		 fdata[24];
	char		 err[NPY_ERR_MAX];
	struct tensor	 t;
	size_t		 len;
	int		 a, b, c;

	for (a = 0; a < 2; a++)
		for (b = 0; b < 3; b++)
			for (c = 0; c < 4; c++)
				fdata[a + 2 * b + 6 * c] = 12 * a + 4 * b + c;
	len = build(file, 1, "{'descr': '>i8', 'fortran_order': True, "
	    "'shape': (2, 3, 4), }", fdata, sizeof(fdata));
	/* Written little-endian above; say big and swap to match. */
	for (a = 0; a < 24; a++)
		((int64_t *)(file + len - sizeof(fdata)))[a] =
		    (int64_t)__builtin_bswap64((uint64_t)fdata[a]);
	assert_int_equal(npy_read(file, len, BIG, &t, err), 0);
	for (a = 0; a < 24; a++)
		assert_int_equal(((int64_t *)t.data)[a], a);
	tensor_free(&t);
}

static void
test_format_2_0(void **state)
{
	static const double	 data[] = { 1.0, 2.0 };
	uint8_t			 file[512];
	char			 err[NPY_ERR_MAX];
	struct tensor		 t;
	size_t			 len;

	/* np.lib.format.write_array(f, np.array([1.0, 2.0]), (2, 0)):
	 * header length 116 in four bytes. */
	len = build(file, 2, "{'descr': '<f8', 'fortran_order': False, "
	    "'shape': (2,), }", data, sizeof(data));
	assert_int_equal(len, 144);
	assert_int_equal(file[8], 116);
	assert_int_equal(npy_read(file, len, BIG, &t, err), 0);
	assert_true(tensor_get(&t, 0) == 1.0);
	assert_true(tensor_get(&t, 1) == 2.0);
	tensor_free(&t);
}

static void
test_scalar_shape(void **state)
{
	static const uint8_t	 data[] = { 0x00, 0x00, 0x60, 0x40 };
	uint8_t			 file[512];
	char			 err[NPY_ERR_MAX];
	struct tensor		 t;
	size_t			 len;

	len = build(file, 1, "{'descr': '<f4', 'fortran_order': False, "
	    "'shape': (), }", data, sizeof(data));
	assert_int_equal(npy_read(file, len, BIG, &t, err), 0);
	assert_int_equal(t.ndim, 0);
	assert_int_equal(t.count, 1);
	assert_true(tensor_get(&t, 0) == 3.5);
	tensor_free(&t);
}

static void
test_empty_array(void **state)
{
	uint8_t		 file[512];
	char		 err[NPY_ERR_MAX];
	struct tensor	 t;
	size_t		 len;

	len = build(file, 1, "{'descr': '<i8', 'fortran_order': False, "
	    "'shape': (0,), }", "", 0);
	assert_int_equal(npy_read(file, len, BIG, &t, err), 0);
	assert_int_equal(t.count, 0);
	assert_non_null(t.data);
	tensor_free(&t);
}

static void
test_other_spacing_and_key_order(void **state)
{
	static const uint8_t	 data[] = { 1, 2, 3, 4, 5, 6 };
	uint8_t			 file[512];
	char			 err[NPY_ERR_MAX];
	struct tensor		 t;
	size_t			 len;

	len = build(file, 1, "{\"shape\":(2,3,),'fortran_order':False,"
	    "'descr':'|u1'}", data, sizeof(data));
	assert_int_equal(npy_read(file, len, BIG, &t, err), 0);
	assert_int_equal(t.shape[0], 2);
	assert_int_equal(t.shape[1], 3);
	assert_int_equal(((uint8_t *)t.data)[5], 6);
	tensor_free(&t);
}

/* refused - npy_read fails and err contains word */
static void
refused(const void *file, size_t len, size_t max, const char *word)
{
	char		 err[NPY_ERR_MAX];
	struct tensor	 t;

	assert_int_equal(npy_read(file, len, max, &t, err), -1);
	if (strstr(err, word) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, word);
	assert_null(t.data);
}

static void
refused_dict(const char *dict, size_t dlen, const char *word)
{
	static uint8_t	 file[4096];
	static uint8_t	 data[256];

	refused(file, build(file, 1, dict, data, dlen), BIG, word);
}

static void
test_refuses_pickle(void **state)
{
	/* pickle.dumps(np.array([1.0])), protocol 4 */
	static const uint8_t	 pickle[] = { 0x80, 0x04, 0x95, 0x90, 0x00,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8c, 0x15, 'n', 'u', 'm',
	    'p', 'y', '.', 'c', 'o', 'r', 'e', '.' };

	refused(pickle, sizeof(pickle), BIG, "magic");
	refused("", 0, BIG, "magic");
	refused("\x93NUMPX\x01\x00", 8, BIG, "magic");
}

static void
test_refuses_object_dtype(void **state)
{
	refused_dict("{'descr': '|O', 'fortran_order': False, "
	    "'shape': (1,), }", 8, "object");
}

static void
test_refuses_unknown_descr(void **state)
{
	refused_dict("{'descr': '<c8', 'fortran_order': False, "
	    "'shape': (1,), }", 8, "unsupported dtype");
	refused_dict("{'descr': '|f4', 'fortran_order': False, "
	    "'shape': (1,), }", 4, "unsupported dtype");
	refused_dict("{'descr': '<U3', 'fortran_order': False, "
	    "'shape': (1,), }", 12, "unsupported dtype");
	refused_dict("{'descr': [('a', '<i4')], 'fortran_order': False, "
	    "'shape': (1,), }", 4, "structured");
}

static void
test_refuses_missing_key(void **state)
{
	refused_dict("{'descr': '<f4', 'fortran_order': False, }", 4,
	    "missing key 'shape'");
}

static void
test_refuses_extra_key(void **state)
{
	refused_dict("{'descr': '<f4', 'fortran_order': False, "
	    "'shape': (1,), 'extra': 1, }", 4, "unknown key 'extra'");
}

static void
test_refuses_duplicate_key(void **state)
{
	refused_dict("{'descr': '<f4', 'fortran_order': False, "
	    "'shape': (1,), 'shape': (1,), }", 4, "duplicate");
}

static void
test_refuses_shape_that_is_no_tuple(void **state)
{
	refused_dict("{'descr': '<f4', 'fortran_order': False, "
	    "'shape': (1), }", 4, "tuple");
}

static void
test_refuses_truncated_header(void **state)
{
	uint8_t		 file[512];
	size_t		 len;

	len = build(file, 1, "{'descr': '<f4', 'fortran_order': False, "
	    "'shape': (1,), }", "\0\0\0\0", 4);
	refused(file, 60, BIG, "truncated header");
	refused(file, 9, BIG, "truncated header");
	/* A length field past the end of the buffer. */
	file[8] = 0xff;
	file[9] = 0xff;
	refused(file, len, BIG, "truncated header");
}

static void
test_refuses_truncated_data(void **state)
{
	uint8_t		 file[512];
	size_t		 len;

	len = build(file, 1, "{'descr': '<f4', 'fortran_order': False, "
	    "'shape': (3,), }", "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
	refused(file, len - 1, BIG, "truncated data");
}

static void
test_refuses_trailing_data(void **state)
{
	uint8_t		 file[512];
	size_t		 len;

	len = build(file, 1, "{'descr': '<f4', 'fortran_order': False, "
	    "'shape': (3,), }", "\0\0\0\0\0\0\0\0\0\0\0\0\0", 13);
	refused(file, len, BIG, "trailing");
}

static void
test_refuses_overflowing_shape(void **state)
{
	refused_dict("{'descr': '<f8', 'fortran_order': False, "
	    "'shape': (4294967296, 4294967296, 16), }", 8, "overflows");
	refused_dict("{'descr': '<f8', 'fortran_order': False, "
	    "'shape': (2305843009213693952,), }", 8, "overflows");
	refused_dict("{'descr': '<f8', 'fortran_order': False, "
	    "'shape': (99999999999999999999,), }", 8, "overflows");
}

static void
test_refuses_negative_dimension(void **state)
{
	refused_dict("{'descr': '<f4', 'fortran_order': False, "
	    "'shape': (-1,), }", 0, "negative");
}

static void
test_refuses_too_many_dimensions(void **state)
{
	refused_dict("{'descr': '<f4', 'fortran_order': False, 'shape': "
	    "(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
	    "1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), }", 4, "dimensions");
}

static void
test_refuses_data_over_max_bytes(void **state)
{
	static uint8_t	 file[4096], data[800];
	size_t		 len;

	len = build(file, 1, "{'descr': '<f8', 'fortran_order': False, "
	    "'shape': (100,), }", data, sizeof(data));
	refused(file, len, 799, "exceeds");
}

static void
test_refuses_header_without_newline(void **state)
{
	uint8_t		 file[512];
	size_t		 len;

	len = build(file, 1, "{'descr': '<f4', 'fortran_order': False, "
	    "'shape': (1,), }", "\0\0\0\0", 4);
	file[127] = ' ';
	refused(file, len, BIG, "newline");
}

/* Writer fixtures: numpy.save's header length, dict and data. */
struct written {
	const char	*dict;
	size_t		 hlen;
	size_t		 total;
};

/* check_written - buf is numpy's bytes for dict, hlen and data */
static void
check_written(const struct tensor *t, const struct written *w,
    const void *data, size_t dlen)
{
	uint8_t		*buf;
	size_t		 n, text = strlen(w->dict), i;

	assert_int_equal(npy_size(t), w->total);
	buf = malloc(w->total);
	assert_non_null(buf);
	n = npy_write(t, buf);
	assert_int_equal(n, w->total);
	assert_memory_equal(buf, "\x93NUMPY\x01\x00", 8);
	assert_int_equal(buf[8] | buf[9] << 8, w->hlen);
	assert_memory_equal(buf + 10, w->dict, text);
	for (i = 10 + text; i < 10 + w->hlen - 1; i++)
		assert_int_equal(buf[i], ' ');
	assert_int_equal(buf[10 + w->hlen - 1], '\n');
	assert_memory_equal(buf + 10 + w->hlen, data, dlen);
	free(buf);
}

static void
test_write_float32_matrix(void **state)
{
	static const float	 v[] = { 1, 2, 3, 4 };
	static const int64_t	 shape[] = { 2, 2 };
	static const struct written w = { "{'descr': '<f4', "
	    "'fortran_order': False, 'shape': (2, 2), }", 118, 144 };
	struct tensor		 t;

	assert_int_equal(tensor_alloc(&t, "w", DTYPE_FLOAT32, 2, shape), 0);
	memcpy(t.data, v, sizeof(v));
	check_written(&t, &w, "\x00\x00\x80\x3f\x00\x00\x00\x40"
	    "\x00\x00\x40\x40\x00\x00\x80\x40", 16);
	tensor_free(&t);
}

static void
test_write_bool_vector(void **state)
{
	static const int64_t	 shape[] = { 3 };
	static const struct written w = { "{'descr': '|b1', "
	    "'fortran_order': False, 'shape': (3,), }", 118, 131 };
	struct tensor		 t;

	assert_int_equal(tensor_alloc(&t, "b", DTYPE_BOOL, 1, shape), 0);
	tensor_set(&t, 0, 1);
	tensor_set(&t, 2, 0.5);
	check_written(&t, &w, "\x01\x00\x01", 3);
	tensor_free(&t);
}

static void
test_write_half_scalar(void **state)
{
	static const struct written w = { "{'descr': '<f2', "
	    "'fortran_order': False, 'shape': (), }", 118, 130 };
	struct tensor		 t;

	assert_int_equal(tensor_alloc(&t, "h", DTYPE_FLOAT16, 0, NULL), 0);
	tensor_set(&t, 0, -1.5);
	check_written(&t, &w, "\x00\xbe", 2);
	tensor_free(&t);
}

static void
test_write_empty_int64(void **state)
{
	static const int64_t	 shape[] = { 0 };
	static const struct written w = { "{'descr': '<i8', "
	    "'fortran_order': False, 'shape': (0,), }", 118, 128 };
	struct tensor		 t;

	assert_int_equal(tensor_alloc(&t, "e", DTYPE_INT64, 1, shape), 0);
	check_written(&t, &w, "", 0);
	tensor_free(&t);
}

static void
test_write_uint8_three_dims(void **state)
{
	static const int64_t	 shape[] = { 2, 1, 3 };
	static const struct written w = { "{'descr': '|u1', "
	    "'fortran_order': False, 'shape': (2, 1, 3), }", 118, 134 };
	struct tensor		 t;
	size_t			 i;

	assert_int_equal(tensor_alloc(&t, "u", DTYPE_UINT8, 3, shape), 0);
	for (i = 0; i < 6; i++)
		tensor_set(&t, i, (double)i);
	check_written(&t, &w, "\x00\x01\x02\x03\x04\x05", 6);
	tensor_free(&t);
}

static void
test_write_pads_a_whole_line_when_aligned(void **state)
{
	/* np.zeros((0, 100000000) + (1,) * 10): dict and numpy's 20 spaces
	 * of growth end exactly on 64 bytes, and numpy adds 64 more. */
	static const int64_t	 shape[] = { 0, 100000000, 1, 1, 1, 1, 1, 1,
	    1, 1, 1, 1 };
	static const struct written w = { "{'descr': '<f8', "
	    "'fortran_order': False, 'shape': (0, 100000000, 1, 1, 1, 1, 1, "
	    "1, 1, 1, 1, 1), }", 182, 192 };
	struct tensor		 t;

	assert_int_equal(tensor_alloc(&t, "z", DTYPE_FLOAT64, 12, shape), 0);
	check_written(&t, &w, "", 0);
	tensor_free(&t);
}

static void
test_write_then_read(void **state)
{
	static const int64_t	 shape[] = { 4, 5 };
	struct tensor		 t, u;
	char			 err[NPY_ERR_MAX];
	uint8_t			*buf;
	size_t			 i, n;

	assert_int_equal(tensor_alloc(&t, "r", DTYPE_INT16, 2, shape), 0);
	for (i = 0; i < t.count; i++)
		tensor_set(&t, i, (double)i * 1000 - 9000);
	buf = malloc(npy_size(&t));
	assert_non_null(buf);
	n = npy_write(&t, buf);
	assert_int_equal(npy_read(buf, n, BIG, &u, err), 0);
	assert_true(tensor_same_shape(&t, &u));
	assert_int_equal(u.dtype, DTYPE_INT16);
	assert_memory_equal(t.data, u.data, t.count * 2);
	free(buf);
	tensor_free(&t);
	tensor_free(&u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_dtype_little_endian),
		cmocka_unit_test(test_every_dtype_big_endian),
		cmocka_unit_test(test_fortran_order_becomes_c_order),
		cmocka_unit_test(test_fortran_order_three_dims),
		cmocka_unit_test(test_format_2_0),
		cmocka_unit_test(test_scalar_shape),
		cmocka_unit_test(test_empty_array),
		cmocka_unit_test(test_other_spacing_and_key_order),
		cmocka_unit_test(test_refuses_pickle),
		cmocka_unit_test(test_refuses_object_dtype),
		cmocka_unit_test(test_refuses_unknown_descr),
		cmocka_unit_test(test_refuses_missing_key),
		cmocka_unit_test(test_refuses_extra_key),
		cmocka_unit_test(test_refuses_duplicate_key),
		cmocka_unit_test(test_refuses_shape_that_is_no_tuple),
		cmocka_unit_test(test_refuses_truncated_header),
		cmocka_unit_test(test_refuses_truncated_data),
		cmocka_unit_test(test_refuses_trailing_data),
		cmocka_unit_test(test_refuses_overflowing_shape),
		cmocka_unit_test(test_refuses_negative_dimension),
		cmocka_unit_test(test_refuses_too_many_dimensions),
		cmocka_unit_test(test_refuses_data_over_max_bytes),
		cmocka_unit_test(test_refuses_header_without_newline),
		cmocka_unit_test(test_write_float32_matrix),
		cmocka_unit_test(test_write_bool_vector),
		cmocka_unit_test(test_write_half_scalar),
		cmocka_unit_test(test_write_empty_int64),
		cmocka_unit_test(test_write_uint8_three_dims),
		cmocka_unit_test(test_write_pads_a_whole_line_when_aligned),
		cmocka_unit_test(test_write_then_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
