/*
 * fuzz_proto_admin - the AdminCommunicating messages a site sends on the
 * training port: admin.Client (Retrieve), admin.Reply (SendReply and
 * SendResult), and admin.Messages, what Retrieve answers, which a site's
 * client decodes. The first byte of an input picks the message; the rest
 * is the message as it came off the wire.
 *
 * Each message is unpacked as a daemon unpacks a peer's message, within
 * unpack_message's memory budget, and every field walked,
 * headers (_refMsgId, _rtnCode) included; an unpacked message must pack
 * again to the size protobuf-c announces, since admind relays replies.
 * (Packed again, it need not unpack: protobuf-c takes a field number 0
 * written in two bytes, keeps it as an unknown field, and writes it back
 * in one, which it then refuses.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin.pb-c.h"
#include "unpack.h"

enum fuzz_admin_message {
	FUZZ_ADMIN_CLIENT,
	FUZZ_ADMIN_REPLY,
	FUZZ_ADMIN_MESSAGES,
	FUZZ_ADMIN_NMESSAGES
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static volatile size_t	 fuzz_admin_sink;

static void
fuzz_admin_string(const char *s)
{
	if (s != NULL)
		fuzz_admin_sink += strlen(s);
}

static void
fuzz_admin_message(const Admin__Message *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	fuzz_admin_sink += (size_t)m->id;
	fuzz_admin_string(m->topic);
	fuzz_admin_string(m->body_type);
	if (m->body.len > 0 && m->body.data == NULL)
		abort();
	fuzz_admin_sink += m->body.len;
	for (i = 0; i < m->n_headers; i++) {
		fuzz_admin_string(m->headers[i]->key);
		fuzz_admin_string(m->headers[i]->value);
	}
}

/* fuzz_admin_repack - pack what was unpacked */
static void
fuzz_admin_repack(const ProtobufCMessage *m)
{
	uint8_t		*buf;
	size_t		 len;

	len = protobuf_c_message_get_packed_size(m);
	if ((buf = malloc(len == 0 ? 1 : len)) == NULL)
		abort();
	if (protobuf_c_message_pack(m, buf) != len)
		abort();
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Admin__Client	*client;
	Admin__Reply	*reply;
	Admin__Messages	*msgs;
	size_t		 i;

	if (size == 0)
		return 0;
	switch (data[0] % FUZZ_ADMIN_NMESSAGES) {
	case FUZZ_ADMIN_CLIENT:
		if ((client = (Admin__Client *)unpack_message(
		    &admin__client__descriptor, size - 1, data + 1,
		    NULL)) == NULL)
			break;
		fuzz_admin_string(client->client_name);
		fuzz_admin_repack(&client->base);
		admin__client__free_unpacked(client, NULL);
		break;
	case FUZZ_ADMIN_REPLY:
		if ((reply = (Admin__Reply *)unpack_message(
		    &admin__reply__descriptor, size - 1, data + 1,
		    NULL)) == NULL)
			break;
		fuzz_admin_string(reply->client_name);
		fuzz_admin_message(reply->message);
		fuzz_admin_repack(&reply->base);
		admin__reply__free_unpacked(reply, NULL);
		break;
	default:
		if ((msgs = (Admin__Messages *)unpack_message(
		    &admin__messages__descriptor, size - 1, data + 1,
		    NULL)) == NULL)
			break;
		for (i = 0; i < msgs->n_message; i++)
			fuzz_admin_message(msgs->message[i]);
		fuzz_admin_repack(&msgs->base);
		admin__messages__free_unpacked(msgs, NULL);
		break;
	}
	return 0;
}
