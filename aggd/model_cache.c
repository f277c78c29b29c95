/*
 * model_cache - the round's CurrentModel, packed once and shared.
 *
 * Every site fetches the same bytes in a round, so the reply is built
 * once into one buffer and handed to ZeroMQ for each site without a copy;
 * a reference count frees it when the last send is done and the round has
 * moved on. The count is atomic because ZeroMQ releases a message from
 * its own I/O thread.
 *
 * The ModelData part is written straight onto the wire here, each .npy
 * encoded in place, instead of building protobuf-c's structures first:
 * that would hold every tensor twice more while packing. The layout is
 * fixed by federated.proto: CurrentModel {meta = 1, data = 2}, ModelData
 * {repeated ParamsEntry params = 1}, ParamsEntry {key = 1, value = 2},
 * NDArray {bytes ndarray = 1}. MetaData is small and packed by protobuf-c.
 * A ValidationModel {meta = 1, owner = 2, data = 3, more_available = 4}
 * for cross-site validation is written the same way, every tensor in.
 */
#include <stdlib.h>
#include <string.h>

#include "aggd.h"
#include "log.h"
#include "npy.h"

/* Key of a length-delimited field: field number << 3 | wire type 2. */
#define CACHE_LEN_FIELD(n)	((unsigned char)(((n) << 3) | 2))

static size_t
model_cache_varint_len(uint64_t v)
{
	size_t	 n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static unsigned char *
model_cache_varint(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

/* model_cache_field_len - key, length and body of a field of body bytes */
static size_t
model_cache_field_len(size_t body)
{
	return 1 + model_cache_varint_len(body) + body;
}

static unsigned char *
model_cache_field(unsigned char *p, int field, size_t body)
{
	*p++ = CACHE_LEN_FIELD(field);
	return model_cache_varint(p, body);
}

/* model_cache_entry_len - bytes of one ParamsEntry's body */
static size_t
model_cache_entry_len(const struct tensor *t)
{
	return model_cache_field_len(strlen(t->name)) +
	    model_cache_field_len(model_cache_field_len(npy_size(t)));
}

/* model_cache_sent - the tensor goes on the wire: cfg NULL sends all */
static int
model_cache_sent(const struct train_config *cfg, const struct tensor *t)
{
	return cfg == NULL || !train_config_excluded(cfg, t->name);
}

/* model_cache_data_len - bytes of the ModelData body */
static size_t
model_cache_data_len(const struct model *global,
    const struct train_config *cfg)
{
	size_t	 i, len = 0;

	for (i = 0; i < global->count; i++)
		if (model_cache_sent(cfg, &global->tensors[i]))
			len += model_cache_field_len(
			    model_cache_entry_len(&global->tensors[i]));
	return len;
}

/* model_cache_entry - one ParamsEntry, its .npy encoded in place */
static unsigned char *
model_cache_entry(unsigned char *p, const struct tensor *t)
{
	size_t	 klen = strlen(t->name), npy = npy_size(t);

	p = model_cache_field(p, 1, model_cache_entry_len(t));
	p = model_cache_field(p, 1, klen);
	memcpy(p, t->name, klen);
	p += klen;
	p = model_cache_field(p, 2, model_cache_field_len(npy));
	p = model_cache_field(p, 1, npy);
	if (npy_write(t, p) != npy)
		fatalx("npy_write of %s disagrees with npy_size", t->name);
	return p + npy;
}

/* model_cache_meta - the packed MetaData of the round's model */
static unsigned char *
model_cache_meta(const struct model_meta *mm, size_t *len)
{
	Fedlearn__MetaData		 meta = FEDLEARN__META_DATA__INIT;
	Fedlearn__Project		 project = FEDLEARN__PROJECT__INIT;
	Google__Protobuf__Timestamp	 created =
					    GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	struct timespec			 now;
	unsigned char			*buf;

	clock_gettime(CLOCK_REALTIME, &now);
	created.seconds = now.tv_sec;
	created.nanos = (int32_t)now.tv_nsec;
	project.name = (char *)mm->project;
	meta.project = &project;
	meta.current_round = mm->round;
	meta.num_rounds = mm->num_rounds;
	meta.run_number = mm->run;
	meta.created = &created;

	*len = fedlearn__meta_data__get_packed_size(&meta);
	if ((buf = malloc(*len == 0 ? 1 : *len)) == NULL)
		return NULL;
	fedlearn__meta_data__pack(&meta, buf);
	return buf;
}

/* model_cache_pack - the whole CurrentModel into one new buffer */
static struct model_buf *
model_cache_pack(const struct model *global, const struct train_config *cfg,
    const struct model_meta *mm)
{
	struct model_buf	*mb;
	unsigned char		*meta, *p;
	size_t			 metalen, datalen, i;

	if ((meta = model_cache_meta(mm, &metalen)) == NULL)
		return NULL;
	datalen = model_cache_data_len(global, cfg);
	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		goto fail;
	mb->len = model_cache_field_len(metalen) +
	    model_cache_field_len(datalen);
	if ((mb->data = malloc(mb->len)) == NULL)
		goto fail;

	p = model_cache_field(mb->data, 1, metalen);
	memcpy(p, meta, metalen);
	p = model_cache_field(p + metalen, 2, datalen);
	for (i = 0; i < global->count; i++)
		if (model_cache_sent(cfg, &global->tensors[i]))
			p = model_cache_entry(p, &global->tensors[i]);
	if ((size_t)(p - mb->data) != mb->len)
		fatalx("CurrentModel packed %zu bytes of %zu",
		    (size_t)(p - mb->data), mb->len);
	free(meta);
	atomic_init(&mb->refs, 1);
	return mb;
fail:
	free(meta);
	free(mb);
	return NULL;
}

/* model_cache_data - field 3's ModelData: every tensor of m */
static unsigned char *
model_cache_data(unsigned char *p, const struct model *m, size_t datalen)
{
	size_t	 i;

	p = model_cache_field(p, 3, datalen);
	for (i = 0; i < m->count; i++)
		p = model_cache_entry(p, &m->tensors[i]);
	return p;
}

/*
 * model_cache_validation - a packed ValidationModel carrying m, owner's
 * model, for cross-site validation. Built for one send, not cached: a
 * site validates each model once.
 */
struct model_buf *
model_cache_validation(const struct model *m, const struct model_meta *mm,
    const char *owner, int more)
{
	struct model_buf	*mb;
	unsigned char		*meta, *p;
	size_t			 metalen, datalen, ownerlen = strlen(owner);

	if ((meta = model_cache_meta(mm, &metalen)) == NULL)
		return NULL;
	datalen = model_cache_data_len(m, NULL);
	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		goto fail;
	mb->len = model_cache_field_len(metalen) +
	    model_cache_field_len(ownerlen) + model_cache_field_len(datalen) +
	    (more ? 2 : 0);
	if ((mb->data = malloc(mb->len)) == NULL)
		goto fail;

	p = model_cache_field(mb->data, 1, metalen);
	memcpy(p, meta, metalen);
	p = model_cache_field(p + metalen, 2, ownerlen);
	memcpy(p, owner, ownerlen);
	p = model_cache_data(p + ownerlen, m, datalen);
	if (more) {
		/* Field 4, wire type 0 (varint): true. */
		*p++ = 4 << 3;
		*p++ = 1;
	}
	if ((size_t)(p - mb->data) != mb->len)
		fatalx("ValidationModel packed %zu bytes of %zu",
		    (size_t)(p - mb->data), mb->len);
	free(meta);
	atomic_init(&mb->refs, 1);
	return mb;
fail:
	free(meta);
	free(mb);
	return NULL;
}

/*
 * model_cache_get - the packed CurrentModel of mm's round, built on the
 * first call of the round. The cache keeps its own reference; take one
 * per send with model_cache_hold.
 */
struct model_buf *
model_cache_get(struct model_cache *cache, const struct model *global,
    const struct train_config *cfg, const struct model_meta *mm)
{
	if (cache->buf != NULL && cache->run == mm->run &&
	    cache->round == mm->round)
		return cache->buf;
	model_cache_clear(cache);
	if ((cache->buf = model_cache_pack(global, cfg, mm)) == NULL) {
		log_warn("packing round %lld's model", (long long)mm->round);
		return NULL;
	}
	cache->run = mm->run;
	cache->round = mm->round;
	log_debug("round %lld's model packed: %zu bytes",
	    (long long)mm->round, cache->buf->len);
	return cache->buf;
}

void
model_cache_hold(struct model_buf *mb)
{
	atomic_fetch_add(&mb->refs, 1);
}

/* model_cache_release - drop one reference; an ipc_free_fn */
void
model_cache_release(void *data, void *hint)
{
	struct model_buf	*mb = hint;

	(void)data;
	if (atomic_fetch_sub(&mb->refs, 1) != 1)
		return;
	free(mb->data);
	free(mb);
}

/* model_cache_clear - forget the round's model; sends in flight keep it */
void
model_cache_clear(struct model_cache *cache)
{
	if (cache->buf != NULL)
		model_cache_release(cache->buf->data, cache->buf);
	cache->buf = NULL;
	cache->run = cache->round = -1;
}
