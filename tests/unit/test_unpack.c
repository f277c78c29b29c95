/*
 * test_unpack - decoding a peer's message within a memory budget: what a
 * site really sends decodes, many small tensors included; a message
 * whose fields would cost many times its size (unknown fields by the
 * million, a million empty map entries) is refused and said to be; a
 * merely malformed one is refused as such.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "federated.pb-c.h"
#include "npy.h"
#include "unpack.h"

#define MILLION	1000000

/* contribution - a packed Contribution of n float32 tensors of count
 * elements each, as numpy.save writes them */
static uint8_t *
contribution(size_t n, size_t count, size_t *len)
{
	Fedlearn__Contribution		 c = FEDLEARN__CONTRIBUTION__INIT;
	Fedlearn__ModelData		 data = FEDLEARN__MODEL_DATA__INIT;
	Fedlearn__ModelData__ParamsEntry *entries, **params;
	Fedlearn__NDArray		*arrays;
	struct tensor			 t;
	int64_t				 shape[1] = { (int64_t)count };
	uint8_t				*out;
	size_t				 i;

	assert_int_equal(tensor_alloc(&t, NULL, DTYPE_FLOAT32, 1, shape), 0);
	entries = calloc(n, sizeof(*entries));
	params = calloc(n, sizeof(*params));
	arrays = calloc(n, sizeof(*arrays));
	assert_non_null(entries);
	assert_non_null(params);
	assert_non_null(arrays);
	for (i = 0; i < n; i++) {
		fedlearn__ndarray__init(&arrays[i]);
		arrays[i].ndarray.len = npy_size(&t);
		assert_non_null(arrays[i].ndarray.data =
		    malloc(arrays[i].ndarray.len));
		npy_write(&t, arrays[i].ndarray.data);
		fedlearn__model_data__params_entry__init(&entries[i]);
		assert_non_null(entries[i].key = malloc(32));
		snprintf(entries[i].key, 32, "layer%05zu", i);
		entries[i].value = &arrays[i];
		params[i] = &entries[i];
	}
	data.n_params = n;
	data.params = params;
	c.n_iter = 1;
	c.data = &data;

	*len = fedlearn__contribution__get_packed_size(&c);
	assert_non_null(out = malloc(*len));
	fedlearn__contribution__pack(&c, out);
	for (i = 0; i < n; i++) {
		free(arrays[i].ndarray.data);
		free(entries[i].key);
	}
	free(arrays);
	free(params);
	free(entries);
	tensor_free(&t);
	return out;
}

static void
test_many_small_tensors_decode(void **state)
{
	Fedlearn__Contribution	*c;
	uint8_t			*wire;
	size_t			 len;
	int			 over = -1;

	wire = contribution(10000, 1, &len);
	c = (Fedlearn__Contribution *)unpack_message(
	    &fedlearn__contribution__descriptor, len, wire, &over);
	assert_non_null(c);
	assert_int_equal(over, 0);
	assert_int_equal(c->data->n_params, 10000);
	assert_string_equal(c->data->params[9999]->key, "layer09999");
	fedlearn__contribution__free_unpacked(c, NULL);
	free(wire);
}

static void
test_one_large_tensor_decodes(void **state)
{
	Fedlearn__Contribution	*c;
	uint8_t			*wire;
	size_t			 len;
	int			 over = -1;

	wire = contribution(1, 4 * 1024 * 1024, &len);
	c = (Fedlearn__Contribution *)unpack_message(
	    &fedlearn__contribution__descriptor, len, wire, &over);
	assert_non_null(c);
	assert_int_equal(over, 0);
	fedlearn__contribution__free_unpacked(c, NULL);
	free(wire);
}

static void
test_million_unknown_fields_are_over_budget(void **state)
{
	uint8_t		*wire;
	size_t		 i;
	int		 over = 0;

	/* Field 10, a varint of 1, a million times: 2 MB. */
	assert_non_null(wire = malloc(2 * MILLION));
	for (i = 0; i < MILLION; i++) {
		wire[2 * i] = 0x50;
		wire[2 * i + 1] = 0x01;
	}
	assert_null(unpack_message(&fedlearn__token__descriptor, 2 * MILLION,
	    wire, &over));
	assert_int_equal(over, 1);
	free(wire);
}

static void
test_million_empty_map_entries_are_over_budget(void **state)
{
	uint8_t		*wire, *p;
	size_t		 i, len;
	int		 over = 0;

	/* ModelData: a million params entries {key "k"}, empty values. */
	assert_non_null(wire = malloc(5 * MILLION));
	for (i = 0, p = wire; i < MILLION; i++) {
		memcpy(p, "\x0a\x03\x0a\x01k", 5);
		p += 5;
	}
	len = (size_t)(p - wire);
	assert_null(unpack_message(&fedlearn__model_data__descriptor, len,
	    wire, &over));
	assert_int_equal(over, 1);
	free(wire);
}

static void
test_malformed_is_not_over_budget(void **state)
{
	/* client_name announcing 100 bytes, holding 3. */
	static const uint8_t	 wire[] = { 0x0a, 100, 's', 'i', 't' };
	int			 over = -1;

	assert_null(unpack_message(&fedlearn__client_login__descriptor,
	    sizeof(wire), wire, &over));
	assert_int_equal(over, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_small_tensors_decode),
		cmocka_unit_test(test_one_large_tensor_decodes),
		cmocka_unit_test(test_million_unknown_fields_are_over_budget),
		cmocka_unit_test(
		    test_million_empty_map_entries_are_over_budget),
		cmocka_unit_test(test_malformed_is_not_over_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
