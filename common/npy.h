/*
 * npy - NumPy's .npy format, the encoding of every tensor on the wire and
 * inside .npz model files.
 *
 * The reader accepts exactly what numpy.save(..., allow_pickle=False)
 * writes for the numeric dtypes: format 1.0 or 2.0, a header that is
 * exactly the dict {'descr', 'fortran_order', 'shape'}, either byte order,
 * either memory order. Anything else (object dtypes, pickles, structured
 * dtypes, truncated or trailing bytes, shapes whose size overflows or
 * exceeds the caller's cap) is refused with a reason in err.
 */
#ifndef FL_NPY_H
#define FL_NPY_H

#include <stddef.h>

#include "tensor.h"

#define NPY_ERR_MAX	256

/*
 * Decode buf into t (t->name is left NULL). max_bytes caps the decoded
 * data size. Returns 0, or -1 with a reason in err.
 */
int	npy_read(const void *buf, size_t len, size_t max_bytes,
	    struct tensor *t, char err[NPY_ERR_MAX]);

/* Bytes npy_write needs for t. */
size_t	npy_size(const struct tensor *t);
/* Encode t as format 1.0, little endian, C order, into buf of
 * npy_size(t) bytes. Returns the bytes written. */
size_t	npy_write(const struct tensor *t, void *buf);

#endif
