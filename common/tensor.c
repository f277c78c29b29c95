/*
 * tensor - named arrays and models as ordered sets of them.
 *
 * Conversions go through double, which holds every value of every dtype
 * except the largest 64-bit integers exactly; aggregation computes in
 * double anyway. Half floats are converted by hand, since C11 has no
 * portable half type.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"

static const struct {
	const char	*name;
	size_t		 size;
	int		 is_float;
} tensor_dtypes[DTYPE_COUNT] = {
	[DTYPE_BOOL] =		{ "bool",	1, 0 },
	[DTYPE_INT8] =		{ "int8",	1, 0 },
	[DTYPE_INT16] =		{ "int16",	2, 0 },
	[DTYPE_INT32] =		{ "int32",	4, 0 },
	[DTYPE_INT64] =		{ "int64",	8, 0 },
	[DTYPE_UINT8] =		{ "uint8",	1, 0 },
	[DTYPE_UINT16] =	{ "uint16",	2, 0 },
	[DTYPE_UINT32] =	{ "uint32",	4, 0 },
	[DTYPE_UINT64] =	{ "uint64",	8, 0 },
	[DTYPE_FLOAT16] =	{ "float16",	2, 1 },
	[DTYPE_FLOAT32] =	{ "float32",	4, 1 },
	[DTYPE_FLOAT64] =	{ "float64",	8, 1 },
};

size_t
dtype_size(enum dtype dt)
{
	if ((unsigned)dt >= DTYPE_COUNT)
		return 0;
	return tensor_dtypes[dt].size;
}

const char *
dtype_name(enum dtype dt)
{
	if ((unsigned)dt >= DTYPE_COUNT)
		return "unknown";
	return tensor_dtypes[dt].name;
}

int
dtype_is_float(enum dtype dt)
{
	if ((unsigned)dt >= DTYPE_COUNT)
		return 0;
	return tensor_dtypes[dt].is_float;
}

/* tensor_half_to_double - every half is exactly a double */
static double
tensor_half_to_double(uint16_t h)
{
	int	 sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
	double	 v;

	if (exp == 0x1f)
		v = mant != 0 ? NAN : INFINITY;
	else if (exp == 0)
		v = ldexp(mant, -24);
	else
		v = ldexp(mant + 1024, exp - 25);
	return sign ? -v : v;
}

/*
 * tensor_double_to_half - round to nearest, ties to even, straight from
 * double as numpy does (not through float, which would round twice).
 * Scaling by a power of two is exact, so nearbyint does the one rounding.
 */
static uint16_t
tensor_double_to_half(double d)
{
	uint16_t	 sign = signbit(d) ? 0x8000 : 0;
	double		 a = fabs(d), m;
	int		 e;

	if (isnan(d))
		return sign | 0x7e00;
	/* 65520 is halfway between 65504 and 65536: ties go up, to inf. */
	if (a >= 65520.0)
		return sign | 0x7c00;
	if (a < 0x1p-14)	/* subnormal; 1024 spills into the exponent */
		return sign | (uint16_t)nearbyint(ldexp(a, 24));

	e = ilogb(a);
	m = nearbyint(ldexp(a, 10 - e));
	if (m == 2048.0) {
		m = 1024.0;
		e++;
	}
	return sign | (uint16_t)((e + 15) << 10) | (uint16_t)(m - 1024.0);
}

double
tensor_get(const struct tensor *t, size_t i)
{
	const void	*p = t->data;

	switch (t->dtype) {
	case DTYPE_BOOL:	return ((const uint8_t *)p)[i] != 0;
	case DTYPE_INT8:	return ((const int8_t *)p)[i];
	case DTYPE_INT16:	return ((const int16_t *)p)[i];
	case DTYPE_INT32:	return ((const int32_t *)p)[i];
	case DTYPE_INT64:	return (double)((const int64_t *)p)[i];
	case DTYPE_UINT8:	return ((const uint8_t *)p)[i];
	case DTYPE_UINT16:	return ((const uint16_t *)p)[i];
	case DTYPE_UINT32:	return ((const uint32_t *)p)[i];
	case DTYPE_UINT64:	return (double)((const uint64_t *)p)[i];
	case DTYPE_FLOAT16:
		return tensor_half_to_double(((const uint16_t *)p)[i]);
	case DTYPE_FLOAT32:	return ((const float *)p)[i];
	case DTYPE_FLOAT64:	return ((const double *)p)[i];
	default:		return NAN;
	}
}

/*
 * tensor_round_clamp - np.rint, then saturate to [lo, hi]. NaN has no
 * integer value; 0 is as good as numpy's undefined result and is safe.
 */
static double
tensor_round_clamp(double v, double lo, double hi)
{
	if (isnan(v))
		return 0.0;
	v = nearbyint(v);
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

static int64_t
tensor_to_int64(double v)
{
	if (isnan(v))
		return 0;
	v = nearbyint(v);
	/* 2^63 is the first double past INT64_MAX. */
	if (v >= 0x1p63)
		return INT64_MAX;
	if (v < -0x1p63)
		return INT64_MIN;
	return (int64_t)v;
}

static uint64_t
tensor_to_uint64(double v)
{
	if (isnan(v))
		return 0;
	v = nearbyint(v);
	if (v >= 0x1p64)
		return UINT64_MAX;
	if (v <= 0.0)
		return 0;
	return (uint64_t)v;
}

void
tensor_set(struct tensor *t, size_t i, double v)
{
	void	*p = t->data;

	switch (t->dtype) {
	case DTYPE_BOOL:
		((uint8_t *)p)[i] = v >= 0.5;
		break;
	case DTYPE_INT8:
		((int8_t *)p)[i] = (int8_t)tensor_round_clamp(v, INT8_MIN,
		    INT8_MAX);
		break;
	case DTYPE_INT16:
		((int16_t *)p)[i] = (int16_t)tensor_round_clamp(v, INT16_MIN,
		    INT16_MAX);
		break;
	case DTYPE_INT32:
		((int32_t *)p)[i] = (int32_t)tensor_round_clamp(v, INT32_MIN,
		    INT32_MAX);
		break;
	case DTYPE_INT64:
		((int64_t *)p)[i] = tensor_to_int64(v);
		break;
	case DTYPE_UINT8:
		((uint8_t *)p)[i] = (uint8_t)tensor_round_clamp(v, 0,
		    UINT8_MAX);
		break;
	case DTYPE_UINT16:
		((uint16_t *)p)[i] = (uint16_t)tensor_round_clamp(v, 0,
		    UINT16_MAX);
		break;
	case DTYPE_UINT32:
		((uint32_t *)p)[i] = (uint32_t)tensor_round_clamp(v, 0,
		    UINT32_MAX);
		break;
	case DTYPE_UINT64:
		((uint64_t *)p)[i] = tensor_to_uint64(v);
		break;
	case DTYPE_FLOAT16:
		((uint16_t *)p)[i] = tensor_double_to_half(v);
		break;
	case DTYPE_FLOAT32:
		((float *)p)[i] = (float)v;
		break;
	case DTYPE_FLOAT64:
		((double *)p)[i] = v;
		break;
	default:
		break;
	}
}

int
tensor_same_shape(const struct tensor *a, const struct tensor *b)
{
	int	 i;

	if (a->ndim != b->ndim)
		return 0;
	for (i = 0; i < a->ndim; i++)
		if (a->shape[i] != b->shape[i])
			return 0;
	return 1;
}

void
tensor_shape_str(const struct tensor *t, char *buf, size_t len)
{
	size_t	 off;
	int	 i, n;

	if (len == 0)
		return;
	buf[0] = '\0';
	off = 0;
	for (i = 0; i < t->ndim; i++) {
		n = snprintf(buf + off, len - off, "%s%lld", i ? ", " : "(",
		    (long long)t->shape[i]);
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += n;
	}
	snprintf(buf + off, len - off, "%s", t->ndim == 0 ? "()" :
	    t->ndim == 1 ? ",)" : ")");
}

int
tensor_alloc(struct tensor *t, const char *name, enum dtype dt, int ndim,
    const int64_t *shape)
{
	size_t	 count = 1, size;
	int	 i;

	memset(t, 0, sizeof(*t));
	if ((unsigned)dt >= DTYPE_COUNT || ndim < 0 ||
	    ndim > TENSOR_MAX_DIMS) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < ndim; i++) {
		if (shape[i] < 0) {
			errno = EINVAL;
			return -1;
		}
		if (shape[i] != 0 && count > SIZE_MAX / (uint64_t)shape[i]) {
			errno = EOVERFLOW;
			return -1;
		}
		count *= (size_t)shape[i];
	}
	size = dtype_size(dt);
	if (count > SIZE_MAX / size) {
		errno = EOVERFLOW;
		return -1;
	}

	/* Never NULL, even when empty: NULL means the allocation failed. */
	if ((t->data = calloc(count == 0 ? 1 : count, size)) == NULL)
		return -1;
	if (name != NULL && (t->name = strdup(name)) == NULL) {
		free(t->data);
		t->data = NULL;
		return -1;
	}
	t->dtype = dt;
	t->ndim = ndim;
	for (i = 0; i < ndim; i++)
		t->shape[i] = shape[i];
	t->count = count;
	return 0;
}

void
tensor_free(struct tensor *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->data);
	memset(t, 0, sizeof(*t));
}

struct tensor *
model_find(const struct model *m, const char *name)
{
	size_t	 i;

	for (i = 0; i < m->count; i++)
		if (m->tensors[i].name != NULL &&
		    strcmp(m->tensors[i].name, name) == 0)
			return &m->tensors[i];
	return NULL;
}

/*
 * model_add - move *t into m and clear *t, on failure too (then t is
 * freed): either way the caller owns nothing and may still tensor_free(t).
 * A tensor without a name, or with a name m already has, is refused.
 */
int
model_add(struct model *m, struct tensor *t)
{
	struct tensor	*grown;
	int		 saved;

	if (t->name == NULL || model_find(m, t->name) != NULL) {
		saved = t->name == NULL ? EINVAL : EEXIST;
		tensor_free(t);
		errno = saved;
		return -1;
	}
	if ((grown = reallocarray(m->tensors, m->count + 1,
	    sizeof(*grown))) == NULL) {
		tensor_free(t);
		return -1;
	}
	m->tensors = grown;
	m->tensors[m->count++] = *t;
	memset(t, 0, sizeof(*t));
	return 0;
}

void
model_free(struct model *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->count; i++)
		tensor_free(&m->tensors[i]);
	free(m->tensors);
	m->tensors = NULL;
	m->count = 0;
}
