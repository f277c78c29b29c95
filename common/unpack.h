/*
 * unpack - protobuf-c decoding of a peer's message within a memory
 * budget.
 *
 * protobuf-c allocates for every field it meets, known or not: two bytes
 * on the wire (an unknown varint, an empty map entry) cost it some forty
 * bytes of memory, so a message at the gRPC limit (1 GB, as Clara
 * configured it) could make a daemon allocate forty times that and be
 * killed for it. A message whose decoding would hold more than
 * UNPACK_FACTOR times its size plus UNPACK_SLACK is refused like a
 * malformed one; what real peers send (tensors as .npy bytes, a few
 * names and numbers) needs less than three times its size.
 *
 * It does not check what the fields mean.
 */
#ifndef FL_UNPACK_H
#define FL_UNPACK_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#define UNPACK_FACTOR	4
#define UNPACK_SLACK	(1024 * 1024)

/*
 * The message of type desc in the len bytes at data, or NULL when they
 * are malformed or too costly to decode (then *over is set to 1, when
 * over is not NULL). Free it with protobuf_c_message_free_unpacked(m,
 * NULL) or the message's own free_unpacked(m, NULL).
 */
ProtobufCMessage	*unpack_message(const ProtobufCMessageDescriptor *desc,
			    size_t len, const void *data, int *over);

#endif
