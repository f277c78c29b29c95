/*
 * fuzz_npy - npy_read on arbitrary bytes, the way aggd decodes each
 * tensor of a site's update.
 *
 * Two caps are tried: none at all (the data must then be in the input,
 * so only the header's arithmetic stands between a peer and a huge
 * allocation) and a small one. A tensor that decodes must survive a
 * round trip: written with npy_write and read again, it has the same
 * dtype, shape and bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

#define FUZZ_NPY_SMALL_CAP	4096

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* fuzz_npy_same - b is a itself */
static int
fuzz_npy_same(const struct tensor *a, const struct tensor *b)
{
	size_t	 size = a->count * dtype_size(a->dtype);

	if (a->dtype != b->dtype || a->count != b->count ||
	    !tensor_same_shape(a, b))
		return 0;
	return size == 0 || memcmp(a->data, b->data, size) == 0;
}

/* fuzz_npy_round_trip - abort unless t comes back from its own bytes */
static void
fuzz_npy_round_trip(const struct tensor *t)
{
	struct tensor	 back;
	char		 err[NPY_ERR_MAX];
	uint8_t		*buf;
	size_t		 len;

	len = npy_size(t);
	if ((buf = malloc(len)) == NULL)
		abort();
	if (npy_write(t, buf) != len)
		abort();
	if (npy_read(buf, len, SIZE_MAX, &back, err) == -1)
		abort();
	if (!fuzz_npy_same(t, &back))
		abort();
	tensor_free(&back);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tensor	 t;
	char		 err[NPY_ERR_MAX];

	if (npy_read(data, size, SIZE_MAX, &t, err) == 0) {
		fuzz_npy_round_trip(&t);
		tensor_free(&t);
	} else if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
		abort();

	if (npy_read(data, size, FUZZ_NPY_SMALL_CAP, &t, err) == 0) {
		if (t.count * dtype_size(t.dtype) > FUZZ_NPY_SMALL_CAP)
			abort();
		tensor_free(&t);
	}
	return 0;
}
