/*
 * unpack - protobuf-c decoding within a memory budget.
 *
 * The budget is charged with what malloc really hands out for each of
 * protobuf-c's allocations, so that many tiny ones cost what they cost,
 * and credited when protobuf-c frees its scratch space. Memory is plain
 * malloc'd: the message is freed with the default allocator.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "unpack.h"

/* malloc's own bookkeeping beside each chunk. */
#define UNPACK_CHUNK_OVERHEAD	(2 * sizeof(size_t))

struct unpack_budget {
	size_t	 left;
	int	 over;
};

static size_t
unpack_cost(void *p)
{
	return malloc_usable_size(p) + UNPACK_CHUNK_OVERHEAD;
}

static void *
unpack_alloc(void *arg, size_t size)
{
	struct unpack_budget	*b = arg;
	void			*p;

	if (size >= b->left) {
		b->over = 1;
		return NULL;
	}
	if ((p = malloc(size)) == NULL)
		return NULL;
	if (unpack_cost(p) > b->left) {
		free(p);
		b->over = 1;
		return NULL;
	}
	b->left -= unpack_cost(p);
	return p;
}

static void
unpack_free(void *arg, void *p)
{
	struct unpack_budget	*b = arg;

	if (p == NULL)
		return;
	b->left += unpack_cost(p);
	free(p);
}

ProtobufCMessage *
unpack_message(const ProtobufCMessageDescriptor *desc, size_t len,
    const void *data, int *over)
{
	struct unpack_budget	 b;
	ProtobufCAllocator	 allocator = { unpack_alloc, unpack_free, &b };
	ProtobufCMessage	*m;

	b.over = 0;
	if (len > (SIZE_MAX - UNPACK_SLACK) / UNPACK_FACTOR)
		b.left = SIZE_MAX;
	else
		b.left = len * UNPACK_FACTOR + UNPACK_SLACK;
	m = protobuf_c_message_unpack(desc, &allocator, len, data);
	if (over != NULL)
		*over = m == NULL && b.over;
	return m;
}
