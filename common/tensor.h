/*
 * tensor - a named n-dimensional array of one numeric dtype, and a model
 * as an ordered set of tensors.
 *
 * Data is always held in C order and in this machine's byte order; the
 * .npy reader converts on the way in. Nothing here knows about files or
 * the wire.
 */
#ifndef FL_TENSOR_H
#define FL_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define TENSOR_MAX_DIMS		32
#define TENSOR_NAME_MAX		512

enum dtype {
	DTYPE_BOOL,
	DTYPE_INT8, DTYPE_INT16, DTYPE_INT32, DTYPE_INT64,
	DTYPE_UINT8, DTYPE_UINT16, DTYPE_UINT32, DTYPE_UINT64,
	DTYPE_FLOAT16, DTYPE_FLOAT32, DTYPE_FLOAT64,
	DTYPE_COUNT
};

struct tensor {
	char		*name;
	enum dtype	 dtype;
	int		 ndim;
	int64_t		 shape[TENSOR_MAX_DIMS];
	size_t		 count;		/* product of shape */
	void		*data;		/* count * dtype_size(dtype) bytes */
};

struct model {
	struct tensor	*tensors;
	size_t		 count;
};

size_t		 dtype_size(enum dtype);
const char	*dtype_name(enum dtype);	/* "float32", ... */
int		 dtype_is_float(enum dtype);

/* Element i as a double; half floats are widened exactly. */
double		 tensor_get(const struct tensor *, size_t);
/* Store a double, rounded to the tensor's dtype as numpy's astype would
 * after rounding to nearest for integers and >= 0.5 for bool. */
void		 tensor_set(struct tensor *, size_t, double);

int		 tensor_same_shape(const struct tensor *, const struct tensor *);
/* "(3, 4)" into buf */
void		 tensor_shape_str(const struct tensor *, char *, size_t);
int		 tensor_alloc(struct tensor *, const char *name, enum dtype,
		    int ndim, const int64_t *shape);
void		 tensor_free(struct tensor *);

struct tensor	*model_find(const struct model *, const char *name);
int		 model_add(struct model *, struct tensor *);	/* takes it */
void		 model_free(struct model *);

#endif
