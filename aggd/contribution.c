/*
 * contribution - decoding and validating one site's update.
 *
 * An update is taken whole or not at all: every tensor is decoded and
 * checked against the global model (name, shape, dtype, finite values)
 * before anything is added to the round's sum, and the first problem is
 * reported naming the site and the tensor. Tensors that exclude_vars
 * matches are ignored whether the update carries them or not.
 *
 * Tensor names come from the site: they are cleaned before they reach a
 * message or a log line.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggd.h"
#include "log.h"
#include "npy.h"

/* Longest part of a site's tensor name quoted back in a message. */
#define CONTRIB_NAME_SHOWN	80

const char *
contribution_type_name(enum contrib_type type)
{
	switch (type) {
	case CONTRIB_W:		return "w";
	case CONTRIB_DELTA_W:	return "delta_w";
	default:		return "none";
	}
}

/* contribution_clean - a printable, bounded copy of a peer's string */
static void
contribution_clean(const char *in, char *out, size_t len)
{
	size_t	 i;

	for (i = 0; in[i] != '\0' && i + 1 < len && i < CONTRIB_NAME_SHOWN;
	    i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
	if (in[i] != '\0' && i >= 3)
		memcpy(out + i - 3, "...", 3);
}

static int
contribution_fail(char *err, size_t len, const char *site, const char *name,
    const char *fmt, ...)
{
	char	 shown[CONTRIB_NAME_SHOWN + 1], what[AGGD_MSG_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (name == NULL) {
		snprintf(err, len, "%s: %s", site, what);
		return -1;
	}
	contribution_clean(name, shown, sizeof(shown));
	snprintf(err, len, "%s: tensor %s: %s", site, shown, what);
	return -1;
}

/* contribution_type - "w", "delta_w", or "" which means delta_w */
static int
contribution_type(const Fedlearn__Contribution *c, enum contrib_type *type)
{
	if (c->type == NULL || c->type[0] == '\0' ||
	    strcmp(c->type, "delta_w") == 0)
		*type = CONTRIB_DELTA_W;
	else if (strcmp(c->type, "w") == 0)
		*type = CONTRIB_W;
	else
		return -1;
	return 0;
}

/* contribution_header - n_iter and type, before any tensor is decoded */
static int
contribution_header(const Fedlearn__Contribution *c, const char *site,
    enum contrib_type round_type, struct update *u, char *err, size_t len)
{
	char	 shown[CONTRIB_NAME_SHOWN + 1];

	if (c->n_iter <= 0)
		return contribution_fail(err, len, site, NULL,
		    "n_iter %lld is not positive", (long long)c->n_iter);
	if (contribution_type(c, &u->type) == -1) {
		contribution_clean(c->type, shown, sizeof(shown));
		return contribution_fail(err, len, site, NULL, "type \"%s\" "
		    "is neither \"w\" nor \"delta_w\"", shown);
	}
	if (round_type != CONTRIB_NONE && u->type != round_type)
		return contribution_fail(err, len, site, NULL, "type %s "
		    "differs from this round's %s: one round, one type",
		    contribution_type_name(u->type),
		    contribution_type_name(round_type));
	u->n_iter = c->n_iter;
	return 0;
}

/* contribution_index - the global model's index of name, or -1 */
static long
contribution_index(const struct model *global, const char *name)
{
	size_t	 i;

	for (i = 0; i < global->count; i++)
		if (strcmp(global->tensors[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* contribution_finite - every element is a number and finite */
static int
contribution_finite(const struct tensor *t, const char *site,
    const char *name, char *err, size_t len)
{
	double	 v;
	size_t	 i;

	if (!dtype_is_float(t->dtype))
		return 0;
	for (i = 0; i < t->count; i++) {
		v = tensor_get(t, i);
		if (isnan(v))
			return contribution_fail(err, len, site, name,
			    "element %zu is NaN", i);
		if (isinf(v))
			return contribution_fail(err, len, site, name,
			    "element %zu is infinite", i);
	}
	return 0;
}

/* contribution_tensor - decode one tensor and compare it with the
 * global model's */
static int
contribution_tensor(const Fedlearn__NDArray *nd, const struct tensor *ref,
    const char *site, size_t max_bytes, struct tensor *t, char *err,
    size_t len)
{
	char	 reason[NPY_ERR_MAX], got[128], want[128];

	if (nd == NULL)
		return contribution_fail(err, len, site, ref->name,
		    "no ndarray");
	if (npy_read(nd->ndarray.data, nd->ndarray.len, max_bytes, t,
	    reason) == -1)
		return contribution_fail(err, len, site, ref->name, "%s",
		    reason);
	if (!tensor_same_shape(t, ref)) {
		tensor_shape_str(t, got, sizeof(got));
		tensor_shape_str(ref, want, sizeof(want));
		tensor_free(t);
		return contribution_fail(err, len, site, ref->name, "shape %s "
		    "differs from the global model's %s", got, want);
	}
	if (t->dtype != ref->dtype) {
		snprintf(got, sizeof(got), "%s", dtype_name(t->dtype));
		tensor_free(t);
		return contribution_fail(err, len, site, ref->name, "dtype %s "
		    "differs from the global model's %s", got,
		    dtype_name(ref->dtype));
	}
	if (contribution_finite(t, site, ref->name, err, len) == -1) {
		tensor_free(t);
		return -1;
	}
	return 0;
}

/* contribution_entry - one map entry of the update into its slot */
static int
contribution_entry(const Fedlearn__ModelData__ParamsEntry *e,
    const char *site, const struct model *global,
    const struct train_config *cfg, size_t max_bytes, struct update *u,
    char *err, size_t len)
{
	const char	*name = e->key != NULL ? e->key : "";
	long		 i;

	if (train_config_excluded(cfg, name))
		return 0;
	if ((i = contribution_index(global, name)) == -1)
		return contribution_fail(err, len, site, name,
		    "not in the global model");
	if (u->tensors[i].data != NULL)
		return contribution_fail(err, len, site, name, "given twice");
	return contribution_tensor(e->value, &global->tensors[i], site,
	    max_bytes, &u->tensors[i], err, len);
}

/* contribution_missing - every tensor that is not excluded is there */
static int
contribution_missing(const struct update *u, const char *site,
    const struct model *global, const struct train_config *cfg, char *err,
    size_t len)
{
	size_t	 i;

	for (i = 0; i < global->count; i++)
		if (u->tensors[i].data == NULL &&
		    !train_config_excluded(cfg, global->tensors[i].name))
			return contribution_fail(err, len, site,
			    global->tensors[i].name, "missing");
	return 0;
}

/*
 * contribution_decode - c, from site, as an update aligned with the
 * global model. Returns 0, or -1 with the reason in err and u empty.
 */
int
contribution_decode(const Fedlearn__Contribution *c, const char *site,
    const struct model *global, const struct train_config *cfg,
    enum contrib_type round_type, size_t max_bytes, struct update *u,
    char *err, size_t len)
{
	struct update	 head;

	memset(&head, 0, sizeof(head));
	memset(u, 0, sizeof(*u));
	if (contribution_header(c, site, round_type, &head, err, len) == -1 ||
	    contribution_decode_data(c->data, site, global, cfg, max_bytes, u,
	    err, len) == -1)
		return -1;
	u->n_iter = head.n_iter;
	u->type = head.type;
	return 0;
}

/*
 * contribution_decode_data - the tensors of data, from site, aligned
 * with the global model and checked like an update's. cfg's exclude_vars
 * says which tensors are ignored; a cfg without it takes every tensor.
 */
int
contribution_decode_data(const Fedlearn__ModelData *data, const char *site,
    const struct model *global, const struct train_config *cfg,
    size_t max_bytes, struct update *u, char *err, size_t len)
{
	size_t	 i;

	memset(u, 0, sizeof(*u));
	if ((u->tensors = calloc(global->count == 0 ? 1 : global->count,
	    sizeof(*u->tensors))) == NULL)
		return contribution_fail(err, len, site, NULL,
		    "out of memory");
	u->count = global->count;

	for (i = 0; data != NULL && i < data->n_params; i++)
		if (contribution_entry(data->params[i], site, global, cfg,
		    max_bytes, u, err, len) == -1)
			goto fail;
	if (contribution_missing(u, site, global, cfg, err, len) == -1)
		goto fail;
	return 0;
fail:
	contribution_free(u);
	return -1;
}

void
contribution_free(struct update *u)
{
	size_t	 i;

	if (u->tensors != NULL)
		for (i = 0; i < u->count; i++)
			tensor_free(&u->tensors[i]);
	free(u->tensors);
	memset(u, 0, sizeof(*u));
}

/* contribution_varint - one base-128 varint at *p, bounded by end */
static int
contribution_varint(const unsigned char **p, const unsigned char *end,
    uint64_t *v)
{
	int	 shift;

	*v = 0;
	for (shift = 0; shift < 64 && *p < end; shift += 7) {
		*v |= (uint64_t)(**p & 0x7f) << shift;
		if ((*(*p)++ & 0x80) == 0)
			return 0;
	}
	return -1;
}

/* contribution_skip - past the value of a field of that wire type */
static int
contribution_skip(const unsigned char **p, const unsigned char *end,
    int wire, uint64_t *fieldlen)
{
	uint64_t	 v;

	*fieldlen = 0;
	switch (wire) {
	case 0:
		return contribution_varint(p, end, &v);
	case 1:
		v = 8;
		break;
	case 2:
		if (contribution_varint(p, end, &v) == -1)
			return -1;
		*fieldlen = v;
		break;
	case 5:
		v = 4;
		break;
	default:
		return -1;
	}
	if (v > (uint64_t)(end - *p))
		return -1;
	*p += v;
	return 0;
}

/*
 * contribution_digest - SHA-256 of the serialized ModelData exactly as
 * the site sent it: field 4 of the Contribution, found on the wire since
 * re-encoding could order the map differently. Data given twice (which
 * protobuf would merge) is refused, so one digest names one update.
 */
int
contribution_digest(const void *payload, size_t len,
    char out[DIGEST_HEX_LEN + 1])
{
	const unsigned char	*p = payload, *end = p + len, *data = NULL;
	uint64_t		 key, fieldlen, datalen = 0;

	while (p < end) {
		if (contribution_varint(&p, end, &key) == -1)
			return -1;
		if (contribution_skip(&p, end, key & 7, &fieldlen) == -1)
			return -1;
		if ((key >> 3) != 4 || (key & 7) != 2)
			continue;
		if (data != NULL)
			return -1;
		data = p - fieldlen;
		datalen = fieldlen;
	}
	digest_sha256_hex(data != NULL ? (const void *)data : "", datalen,
	    out);
	return 0;
}
