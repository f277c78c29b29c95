/*
 * npy - read and write NumPy's .npy format.
 *
 * The header is a Python literal that numpy itself evaluates with
 * ast.literal_eval. This reader does not evaluate anything: it parses the
 * one shape of dict that numpy.save writes for a plain numeric array, with
 * the freedom Python's grammar gives in spacing and the trailing comma,
 * and refuses everything else. Every length comes from the peer, so every
 * length is checked against the buffer before it is used.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npy.h"

#define NPY_MAGIC		"\x93NUMPY"
#define NPY_MAGIC_LEN		6
#define NPY_DESCR_MAX		32
/* numpy leaves room for the first axis to grow to this many digits. */
#define NPY_GROWTH_DIGITS	21
#define NPY_ALIGN		64
#define NPY_HEADER_MAX		2048

struct npy_header {
	enum dtype	 dtype;
	int		 swap;		/* file byte order is not ours */
	int		 fortran;
	int		 ndim;
	int64_t		 shape[TENSOR_MAX_DIMS];
};

/* Type codes after the byte order character, as numpy spells them. */
static const char *const npy_codes[DTYPE_COUNT] = {
	[DTYPE_BOOL] = "b1",
	[DTYPE_INT8] = "i1", [DTYPE_INT16] = "i2",
	[DTYPE_INT32] = "i4", [DTYPE_INT64] = "i8",
	[DTYPE_UINT8] = "u1", [DTYPE_UINT16] = "u2",
	[DTYPE_UINT32] = "u4", [DTYPE_UINT64] = "u8",
	[DTYPE_FLOAT16] = "f2", [DTYPE_FLOAT32] = "f4",
	[DTYPE_FLOAT64] = "f8",
};

struct npy_scan {
	const char	*p;
	const char	*end;
	char		*err;
};

static int	npy_fail(char *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
npy_fail(char *err, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, NPY_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

static int
npy_host_is_little(void)
{
	const uint16_t	 one = 1;

	return *(const uint8_t *)&one == 1;
}

static void
npy_skip_space(struct npy_scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
	    *s->p == '\n'))
		s->p++;
}

static int
npy_expect(struct npy_scan *s, char c, const char *where)
{
	npy_skip_space(s);
	if (s->p >= s->end || *s->p != c)
		return npy_fail(s->err, "header: expected '%c' %s", c, where);
	s->p++;
	return 0;
}

/* npy_string - a quoted Python string without escapes, into out */
static int
npy_string(struct npy_scan *s, char *out, size_t outlen, const char *what)
{
	const char	*start;
	char		 quote;
	size_t		 n;

	npy_skip_space(s);
	if (s->p >= s->end || (*s->p != '\'' && *s->p != '"'))
		return npy_fail(s->err, "header: %s is not a string", what);
	quote = *s->p++;
	start = s->p;
	while (s->p < s->end && *s->p != quote) {
		if (*s->p == '\\' || *s->p == '\n')
			return npy_fail(s->err, "header: %s: escapes and line "
			    "breaks are not supported", what);
		s->p++;
	}
	if (s->p >= s->end)
		return npy_fail(s->err, "header: %s: unterminated string",
		    what);
	n = (size_t)(s->p - start);
	s->p++;
	if (n >= outlen)
		return npy_fail(s->err, "header: %s is too long", what);
	memcpy(out, start, n);
	out[n] = '\0';
	return 0;
}

static int
npy_word(struct npy_scan *s, const char *word)
{
	size_t	 n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return 0;
	s->p += n;
	return 1;
}

/*
 * npy_descr_type - the dtype of a type code such as "f4". Byte order only
 * matters for multi-byte types; '|' is only for one-byte types.
 */
static int
npy_descr_type(const char *code, char order, struct npy_header *h)
{
	int	 dt;

	for (dt = 0; dt < DTYPE_COUNT; dt++) {
		if (strcmp(code, npy_codes[dt]) != 0)
			continue;
		if (order == '|' && dtype_size(dt) != 1)
			return -1;
		h->dtype = dt;
		h->swap = dtype_size(h->dtype) > 1 &&
		    (order == '<') != npy_host_is_little();
		return 0;
	}
	return -1;
}

static int
npy_descr(struct npy_scan *s, struct npy_header *h)
{
	char	 descr[NPY_DESCR_MAX];

	npy_skip_space(s);
	if (s->p < s->end && *s->p == '[')
		return npy_fail(s->err, "structured dtypes are not supported");
	if (npy_string(s, descr, sizeof(descr), "descr") == -1)
		return -1;
	if (strchr(descr, 'O') != NULL)
		return npy_fail(s->err, "object dtype '%s' refused", descr);
	if ((descr[0] != '<' && descr[0] != '>' && descr[0] != '|') ||
	    npy_descr_type(descr + 1, descr[0], h) == -1)
		return npy_fail(s->err, "unsupported dtype '%s'", descr);
	return 0;
}

static int
npy_fortran(struct npy_scan *s, struct npy_header *h)
{
	npy_skip_space(s);
	if (npy_word(s, "True"))
		h->fortran = 1;
	else if (npy_word(s, "False"))
		h->fortran = 0;
	else
		return npy_fail(s->err, "header: fortran_order is not "
		    "True or False");
	return 0;
}

/* npy_dim - a non-negative decimal integer as Python writes it */
static int
npy_dim(struct npy_scan *s, int64_t *dim)
{
	int64_t	 v = 0;
	int	 digit;

	npy_skip_space(s);
	if (s->p < s->end && *s->p == '-')
		return npy_fail(s->err, "shape: negative dimension");
	if (s->p >= s->end || *s->p < '0' || *s->p > '9')
		return npy_fail(s->err, "shape: expected a dimension");
	if (*s->p == '0' && s->end - s->p > 1 && s->p[1] >= '0' &&
	    s->p[1] <= '9')
		return npy_fail(s->err, "shape: dimension with a leading zero");
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
		digit = *s->p++ - '0';
		if (v > (INT64_MAX - digit) / 10)
			return npy_fail(s->err, "shape: dimension overflows");
		v = v * 10 + digit;
	}
	*dim = v;
	return 0;
}

/* npy_shape - "()", "(5,)", "(3, 4)" or "(3, 4,)"; "(5)" is no tuple */
static int
npy_shape(struct npy_scan *s, struct npy_header *h)
{
	int	 comma = 0;

	if (npy_expect(s, '(', "for shape") == -1)
		return -1;
	h->ndim = 0;
	for (;;) {
		npy_skip_space(s);
		if (s->p < s->end && *s->p == ')')
			break;
		if (h->ndim == TENSOR_MAX_DIMS)
			return npy_fail(s->err, "shape: more than %d "
			    "dimensions", TENSOR_MAX_DIMS);
		if (npy_dim(s, &h->shape[h->ndim++]) == -1)
			return -1;
		npy_skip_space(s);
		comma = s->p < s->end && *s->p == ',';
		if (!comma)
			break;
		s->p++;
	}
	if (npy_expect(s, ')', "to close shape") == -1)
		return -1;
	if (h->ndim == 1 && !comma)
		return npy_fail(s->err, "shape: not a tuple");
	return 0;
}

/* npy_entry - one "key: value" of the header dict */
static int
npy_entry(struct npy_scan *s, struct npy_header *h, unsigned *seen)
{
	static const char	*keys[] = { "descr", "fortran_order", "shape" };
	char			 key[NPY_DESCR_MAX];
	unsigned		 k;

	if (npy_string(s, key, sizeof(key), "key") == -1)
		return -1;
	for (k = 0; k < 3; k++)
		if (strcmp(key, keys[k]) == 0)
			break;
	if (k == 3)
		return npy_fail(s->err, "header: unknown key '%s'", key);
	if (*seen & (1u << k))
		return npy_fail(s->err, "header: duplicate key '%s'", key);
	*seen |= 1u << k;
	if (npy_expect(s, ':', "after a key") == -1)
		return -1;
	switch (k) {
	case 0:
		return npy_descr(s, h);
	case 1:
		return npy_fortran(s, h);
	default:
		return npy_shape(s, h);
	}
}

static int
npy_dict(struct npy_scan *s, struct npy_header *h)
{
	unsigned	 seen = 0;

	if (npy_expect(s, '{', "to open the header dict") == -1)
		return -1;
	for (;;) {
		npy_skip_space(s);
		if (s->p < s->end && *s->p == '}')
			break;
		if (npy_entry(s, h, &seen) == -1)
			return -1;
		npy_skip_space(s);
		if (s->p >= s->end || *s->p != ',')
			break;
		s->p++;
	}
	if (npy_expect(s, '}', "to close the header dict") == -1)
		return -1;
	npy_skip_space(s);
	if (s->p != s->end)
		return npy_fail(s->err, "header: trailing characters after "
		    "the dict");
	if ((seen & 1) == 0)
		return npy_fail(s->err, "header: missing key 'descr'");
	if ((seen & 2) == 0)
		return npy_fail(s->err, "header: missing key 'fortran_order'");
	if ((seen & 4) == 0)
		return npy_fail(s->err, "header: missing key 'shape'");
	return 0;
}

/*
 * npy_preamble - check magic and version; find where the header text is.
 * The header is ASCII, ends in a newline and lies inside the buffer.
 */
static int
npy_preamble(const uint8_t *b, size_t len, size_t *hoff, size_t *hlen,
    char *err)
{
	size_t	 i;

	if (len < NPY_MAGIC_LEN || memcmp(b, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
		return npy_fail(err, "bad magic: not a .npy array (pickles "
		    "and other formats are refused)");
	if (len < NPY_MAGIC_LEN + 2)
		return npy_fail(err, "truncated header: no version");
	if (b[6] == 1 && b[7] == 0) {
		if (len < 10)
			return npy_fail(err, "truncated header: no length");
		*hoff = 10;
		*hlen = (size_t)b[8] | (size_t)b[9] << 8;
	} else if (b[6] == 2 && b[7] == 0) {
		if (len < 12)
			return npy_fail(err, "truncated header: no length");
		*hoff = 12;
		*hlen = (size_t)b[8] | (size_t)b[9] << 8 |
		    (size_t)b[10] << 16 | (size_t)b[11] << 24;
	} else
		return npy_fail(err, "unsupported format version %u.%u",
		    b[6], b[7]);

	if (*hlen > len - *hoff)
		return npy_fail(err, "truncated header: %zu bytes announced, "
		    "%zu present", *hlen, len - *hoff);
	if (*hlen == 0 || b[*hoff + *hlen - 1] != '\n')
		return npy_fail(err, "header does not end in a newline");
	for (i = *hoff; i < *hoff + *hlen; i++)
		if ((b[i] < 0x20 || b[i] > 0x7e) && b[i] != '\n' &&
		    b[i] != '\t')
			return npy_fail(err, "header is not ASCII text");
	return 0;
}

/* npy_data_size - bytes of data the header announces, or -1 */
static int
npy_data_size(const struct npy_header *h, size_t max_bytes, size_t *size,
    char *err)
{
	size_t	 count = 1, nonzero = 1;
	int	 i;

	/* Zero dimensions aside, the product must fit: nothing downstream
	 * should have to think about (0, 2^62, 2^62). */
	for (i = 0; i < h->ndim; i++) {
		if (h->shape[i] == 0) {
			count = 0;
			continue;
		}
		if (__builtin_mul_overflow(nonzero, (size_t)h->shape[i],
		    &nonzero))
			return npy_fail(err, "shape: element count overflows");
	}
	if (count != 0)
		count = nonzero;
	if (__builtin_mul_overflow(count, dtype_size(h->dtype), size))
		return npy_fail(err, "shape: data size overflows");
	if (*size > max_bytes)
		return npy_fail(err, "data of %zu bytes exceeds the limit of "
		    "%zu bytes", *size, max_bytes);
	return 0;
}

static void
npy_swap(uint8_t *p, size_t count, size_t size)
{
	size_t	 i, j;
	uint8_t	 c;

	for (i = 0; i < count; i++, p += size)
		for (j = 0; j < size / 2; j++) {
			c = p[j];
			p[j] = p[size - 1 - j];
			p[size - 1 - j] = c;
		}
}

/*
 * npy_from_fortran - copy src, laid out in Fortran order, into t in C
 * order. Walks t in C order like an odometer, keeping the Fortran offset
 * of the current index up to date.
 */
static void
npy_from_fortran(struct tensor *t, const uint8_t *src)
{
	size_t	 stride[TENSOR_MAX_DIMS], idx[TENSOR_MAX_DIMS];
	size_t	 size = dtype_size(t->dtype), off = 0, i;
	uint8_t	*dst = t->data;
	int	 k;

	for (k = 0; k < t->ndim; k++) {
		stride[k] = k == 0 ? 1 :
		    stride[k - 1] * (size_t)t->shape[k - 1];
		idx[k] = 0;
	}
	for (i = 0; i < t->count; i++) {
		memcpy(dst + i * size, src + off * size, size);
		for (k = t->ndim - 1; k >= 0; k--) {
			off += stride[k];
			if (++idx[k] < (size_t)t->shape[k])
				break;
			off -= stride[k] * idx[k];
			idx[k] = 0;
		}
	}
}

int
npy_read(const void *buf, size_t len, size_t max_bytes, struct tensor *t,
    char err[NPY_ERR_MAX])
{
	const uint8_t		*b = buf;
	struct npy_header	 h;
	struct npy_scan		 s;
	size_t			 hoff = 0, hlen = 0, size = 0, i;

	memset(t, 0, sizeof(*t));
	memset(&h, 0, sizeof(h));
	if (buf == NULL)
		len = 0;
	if (npy_preamble(b, len, &hoff, &hlen, err) == -1)
		return -1;

	s.p = (const char *)b + hoff;
	s.end = s.p + hlen;
	s.err = err;
	if (npy_dict(&s, &h) == -1)
		return -1;

	if (npy_data_size(&h, max_bytes, &size, err) == -1)
		return -1;
	b += hoff + hlen;
	len -= hoff + hlen;
	if (len < size)
		return npy_fail(err, "truncated data: %zu bytes of %zu",
		    len, size);
	if (len > size)
		return npy_fail(err, "%zu trailing bytes after the data",
		    len - size);

	if (tensor_alloc(t, NULL, h.dtype, h.ndim, h.shape) == -1)
		return npy_fail(err, "no memory for %zu bytes of data", size);
	if (h.fortran && h.ndim > 1)
		npy_from_fortran(t, b);
	else if (size > 0)
		memcpy(t->data, b, size);
	if (h.swap)
		npy_swap(t->data, t->count, dtype_size(t->dtype));
	if (t->dtype == DTYPE_BOOL)
		for (i = 0; i < t->count; i++)
			((uint8_t *)t->data)[i] = ((uint8_t *)t->data)[i] != 0;
	return 0;
}

/* npy_header_text - the dict as numpy writes it, before padding */
static size_t
npy_header_text(const struct tensor *t, char *out, size_t outlen)
{
	char	 shape[NPY_HEADER_MAX], first[24];
	size_t	 size = dtype_size(t->dtype), growth = 0;
	int	 n;

	tensor_shape_str(t, shape, sizeof(shape));
	if (t->ndim > 0) {
		n = snprintf(first, sizeof(first), "%lld",
		    (long long)t->shape[0]);
		growth = NPY_GROWTH_DIGITS - (size_t)n;
	}
	n = snprintf(out, outlen, "{'descr': '%c%s', 'fortran_order': False, "
	    "'shape': %s, }%*s", size == 1 ? '|' : '<', npy_codes[t->dtype],
	    shape, (int)growth, "");
	return n < 0 ? 0 : (size_t)n;
}

/* npy_header_len - header bytes after the 10-byte preamble, padded so
 * data starts at a multiple of 64 (64 extra when already aligned, like
 * numpy) */
static size_t
npy_header_len(size_t textlen)
{
	size_t	 hlen = textlen + 1;

	return hlen + NPY_ALIGN - (10 + hlen) % NPY_ALIGN;
}

size_t
npy_size(const struct tensor *t)
{
	char	 text[NPY_HEADER_MAX];
	size_t	 data = t->count * dtype_size(t->dtype);

	return 10 + npy_header_len(npy_header_text(t, text, sizeof(text))) +
	    data;
}

size_t
npy_write(const struct tensor *t, void *buf)
{
	char	 text[NPY_HEADER_MAX];
	uint8_t	*b = buf;
	size_t	 tlen, hlen, size = dtype_size(t->dtype);

	tlen = npy_header_text(t, text, sizeof(text));
	hlen = npy_header_len(tlen);

	memcpy(b, NPY_MAGIC, NPY_MAGIC_LEN);
	b[6] = 1;
	b[7] = 0;
	b[8] = hlen & 0xff;
	b[9] = hlen >> 8;
	memcpy(b + 10, text, tlen);
	memset(b + 10 + tlen, ' ', hlen - tlen - 1);
	b[10 + hlen - 1] = '\n';

	b += 10 + hlen;
	if (t->count > 0)
		memcpy(b, t->data, t->count * size);
	if (size > 1 && !npy_host_is_little())
		npy_swap(b, t->count, size);
	return 10 + hlen + t->count * size;
}
