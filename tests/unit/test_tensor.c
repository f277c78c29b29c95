/*
 * test_tensor - element conversion as numpy does it (np.rint then clamp
 * for integers, >= 0.5 for bool, IEEE rounding for half floats),
 * allocation limits, and models owning their tensors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tensor.h"

/* stored - v stored into a one-element tensor of dt and read back */
static double
stored(enum dtype dt, double v)
{
	static const int64_t	 one[] = { 1 };
	struct tensor		 t;
	double			 back;

	assert_int_equal(tensor_alloc(&t, "x", dt, 1, one), 0);
	tensor_set(&t, 0, v);
	back = tensor_get(&t, 0);
	tensor_free(&t);
	return back;
}

static uint16_t
half_bits(double v)
{
	struct tensor	 t;
	uint16_t	 bits;

	assert_int_equal(tensor_alloc(&t, "h", DTYPE_FLOAT16, 0, NULL), 0);
	tensor_set(&t, 0, v);
	memcpy(&bits, t.data, 2);
	tensor_free(&t);
	return bits;
}

static void
test_integers_round_half_to_even(void **state)
{
	assert_true(stored(DTYPE_INT32, 0.5) == 0);
	assert_true(stored(DTYPE_INT32, 1.5) == 2);
	assert_true(stored(DTYPE_INT32, 2.5) == 2);
	assert_true(stored(DTYPE_INT32, -2.5) == -2);
	assert_true(stored(DTYPE_INT32, 2.5000001) == 3);
	assert_true(stored(DTYPE_UINT8, 254.5) == 254);
	assert_true(stored(DTYPE_INT64, -7.49) == -7);
}

static void
test_integers_clamp_to_range(void **state)
{
	assert_true(stored(DTYPE_INT8, 300) == 127);
	assert_true(stored(DTYPE_INT8, -300) == -128);
	assert_true(stored(DTYPE_UINT8, -1) == 0);
	assert_true(stored(DTYPE_UINT16, 1e9) == 65535);
	assert_true(stored(DTYPE_INT32, 1e12) == 2147483647);
	assert_true(stored(DTYPE_UINT32, 4294967295.4) == 4294967295.0);
	assert_true(stored(DTYPE_INT64, 1e30) == 9223372036854775807.0);
	assert_true(stored(DTYPE_INT64, -1e30) == -9223372036854775808.0);
	assert_true(stored(DTYPE_UINT64, 1e30) == 18446744073709551615.0);
	assert_true(stored(DTYPE_INT16, NAN) == 0);
}

static void
test_bool_is_true_from_one_half(void **state)
{
	assert_true(stored(DTYPE_BOOL, 0.5) == 1);
	assert_true(stored(DTYPE_BOOL, 0.49999) == 0);
	assert_true(stored(DTYPE_BOOL, 7) == 1);
	assert_true(stored(DTYPE_BOOL, -1) == 0);
	assert_true(stored(DTYPE_BOOL, NAN) == 0);
}

static void
test_half_floats_as_numpy(void **state)
{
	/* np.array([v]).astype(np.float16).view(np.uint16) */
	assert_int_equal(half_bits(1.0), 0x3c00);
	assert_int_equal(half_bits(-2.25), 0xc080);
	assert_int_equal(half_bits(65504), 0x7bff);
	assert_int_equal(half_bits(65519.99), 0x7bff);
	assert_int_equal(half_bits(65520), 0x7c00);
	assert_int_equal(half_bits(-1e300), 0xfc00);
	assert_int_equal(half_bits(0.1), 0x2e66);
	assert_int_equal(half_bits(1.0 + 0x1p-11), 0x3c00);	/* tie, even */
	assert_int_equal(half_bits(1.0 + 3 * 0x1p-11), 0x3c02); /* tie, up */
	assert_int_equal(half_bits(0x1p-24), 0x0001);	/* smallest subnormal */
	assert_int_equal(half_bits(0x1p-25), 0x0000);	/* tie, to zero */
	assert_int_equal(half_bits(0x1.8p-25), 0x0001);
	assert_int_equal(half_bits(0x1.ffcp-15), 0x0400); /* tie, to normal */
	assert_int_equal(half_bits(-0.0), 0x8000);
	assert_int_equal(half_bits(NAN) & 0x7c00, 0x7c00);
	assert_int_not_equal(half_bits(NAN) & 0x03ff, 0);
}

static void
test_half_floats_widen_exactly(void **state)
{
	assert_true(stored(DTYPE_FLOAT16, 0.1) == 0.0999755859375);
	assert_true(stored(DTYPE_FLOAT16, 0x1p-24) == 0x1p-24);
	assert_true(isinf(stored(DTYPE_FLOAT16, 1e6)));
	assert_true(isnan(stored(DTYPE_FLOAT16, NAN)));
}

static void
test_float32_is_cast(void **state)
{
	assert_true(stored(DTYPE_FLOAT32, 0.1) == (double)0.1f);
	assert_true(stored(DTYPE_FLOAT64, 0.1) == 0.1);
}

static void
test_alloc_refuses_bad_shapes(void **state)
{
	static const int64_t	 negative[] = { 2, -1 };
	static const int64_t	 huge[] = { INT64_MAX, INT64_MAX };
	static const int64_t	 bytes[] = { (int64_t)1 << 62 };
	static const int64_t	 empty[] = { 0, INT64_MAX };
	struct tensor		 t;

	assert_int_equal(tensor_alloc(&t, "n", DTYPE_INT8, 2, negative), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tensor_alloc(&t, "h", DTYPE_INT8, 2, huge), -1);
	assert_int_equal(errno, EOVERFLOW);
	assert_int_equal(tensor_alloc(&t, "b", DTYPE_FLOAT64, 1, bytes), -1);
	assert_int_equal(errno, EOVERFLOW);
	assert_int_equal(tensor_alloc(&t, "d", DTYPE_INT8, TENSOR_MAX_DIMS + 1,
	    NULL), -1);
	assert_null(t.data);
	assert_int_equal(tensor_alloc(&t, "e", DTYPE_INT8, 2, empty), 0);
	assert_int_equal(t.count, 0);
	tensor_free(&t);
}

static void
test_shape_str_as_python(void **state)
{
	static const int64_t	 s2[] = { 3, 4 }, s1[] = { 5 };
	struct tensor		 t;
	char			 buf[64];

	assert_int_equal(tensor_alloc(&t, "a", DTYPE_INT8, 2, s2), 0);
	tensor_shape_str(&t, buf, sizeof(buf));
	assert_string_equal(buf, "(3, 4)");
	tensor_free(&t);
	assert_int_equal(tensor_alloc(&t, "b", DTYPE_INT8, 1, s1), 0);
	tensor_shape_str(&t, buf, sizeof(buf));
	assert_string_equal(buf, "(5,)");
	tensor_free(&t);
	assert_int_equal(tensor_alloc(&t, "c", DTYPE_INT8, 0, NULL), 0);
	tensor_shape_str(&t, buf, sizeof(buf));
	assert_string_equal(buf, "()");
	tensor_free(&t);
}

static void
test_model_takes_tensors_and_refuses_duplicates(void **state)
{
	struct model	 m = { 0 };
	struct tensor	 t;

	assert_int_equal(tensor_alloc(&t, "w", DTYPE_FLOAT32, 0, NULL), 0);
	assert_int_equal(model_add(&m, &t), 0);
	assert_null(t.data);			/* moved into m */
	assert_int_equal(tensor_alloc(&t, "b", DTYPE_FLOAT32, 0, NULL), 0);
	assert_int_equal(model_add(&m, &t), 0);

	assert_int_equal(tensor_alloc(&t, "w", DTYPE_INT8, 0, NULL), 0);
	assert_int_equal(model_add(&m, &t), -1);
	assert_int_equal(errno, EEXIST);
	assert_null(t.data);			/* freed, not leaked */
	tensor_free(&t);			/* and harmless to free again */

	assert_int_equal(m.count, 2);
	assert_string_equal(model_find(&m, "b")->name, "b");
	assert_int_equal(model_find(&m, "w")->dtype, DTYPE_FLOAT32);
	assert_null(model_find(&m, "x"));
	model_free(&m);
	assert_int_equal(m.count, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers_round_half_to_even),
		cmocka_unit_test(test_integers_clamp_to_range),
		cmocka_unit_test(test_bool_is_true_from_one_half),
		cmocka_unit_test(test_half_floats_as_numpy),
		cmocka_unit_test(test_half_floats_widen_exactly),
		cmocka_unit_test(test_float32_is_cast),
		cmocka_unit_test(test_alloc_refuses_bad_shapes),
		cmocka_unit_test(test_shape_str_as_python),
		cmocka_unit_test(
		    test_model_takes_tensors_and_refuses_duplicates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
