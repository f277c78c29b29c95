/*
 * fuzz_envelope - ipc_recv on arbitrary frames, as each daemon receives
 * what another sends it: the flipc.Envelope unpack, the check that the
 * kind exists and belongs on that socket, and the count of frames.
 *
 * The frames travel over real ZeroMQ sockets (inproc://), one pair per
 * IPC socket: a ROUTER as the daemon that binds it receives requests, a
 * DEALER as the daemon that connects receives replies. An input is
 *
 *	byte 0		bits 0-1: the socket, bit 2: the connected side,
 *			bits 3-4: the frames (1: the envelope alone, 2: a
 *			third, empty frame after the payload, else the
 *			envelope and the payload)
 *	bytes 1-2	the envelope frame's length, little endian
 *	the rest	the envelope frame, then the payload frame
 *
 * A message that ipc_recv accepts must carry a kind that belongs there.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "ipc.h"

#define FUZZ_ENVELOPE_ID	"site-peer"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_envelope_pair {
	void	*bound;		/* ROUTER, as the binding daemon's */
	void	*connected;	/* DEALER, as the connecting daemon's */
};

static void				*fuzz_envelope_ctx;
static struct fuzz_envelope_pair	 fuzz_envelope_pairs[IPC_NSOCKETS];

static void *
fuzz_envelope_socket(int type)
{
	void	*sock;
	int	 timeout = 2000, linger = 0;

	if ((sock = zmq_socket(fuzz_envelope_ctx, type)) == NULL ||
	    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout,
	    sizeof(timeout)) == -1 ||
	    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger)) == -1)
		abort();
	return sock;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct fuzz_envelope_pair	*p;
	char				 endpoint[64];
	int				 i;

	if ((fuzz_envelope_ctx = zmq_ctx_new()) == NULL)
		abort();
	for (i = 0; i < IPC_NSOCKETS; i++) {
		p = &fuzz_envelope_pairs[i];
		snprintf(endpoint, sizeof(endpoint), "inproc://fuzz-%d", i);
		p->bound = fuzz_envelope_socket(ZMQ_ROUTER);
		p->connected = fuzz_envelope_socket(ZMQ_DEALER);
		if (zmq_setsockopt(p->connected, ZMQ_ROUTING_ID,
		    FUZZ_ENVELOPE_ID, strlen(FUZZ_ENVELOPE_ID)) == -1 ||
		    zmq_bind(p->bound, endpoint) == -1 ||
		    zmq_connect(p->connected, endpoint) == -1)
			abort();
	}
	return 0;
}

static void
fuzz_envelope_send(void *sock, const void *buf, size_t len, int more)
{
	if (zmq_send(sock, buf, len, more ? ZMQ_SNDMORE : 0) == -1)
		abort();
}

/* fuzz_envelope_frames - env and payload as the layout byte says */
static void
fuzz_envelope_frames(void *sock, int layout, const uint8_t *env,
    size_t envlen, const uint8_t *payload, size_t len)
{
	switch (layout) {
	case 1:
		fuzz_envelope_send(sock, env, envlen, 0);
		break;
	case 2:
		fuzz_envelope_send(sock, env, envlen, 1);
		fuzz_envelope_send(sock, payload, len, 1);
		fuzz_envelope_send(sock, "", 0, 0);
		break;
	default:
		fuzz_envelope_send(sock, env, envlen, 1);
		fuzz_envelope_send(sock, payload, len, 0);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_envelope_pair	*p;
	struct ipc_link			 link;
	struct ipc_msg			 msg;
	size_t				 envlen, len;
	int				 connected, layout, rv;

	if (size < 3)
		return 0;
	p = &fuzz_envelope_pairs[(data[0] & 3) % IPC_NSOCKETS];
	connected = (data[0] >> 2) & 1;
	layout = (data[0] >> 3) & 3;
	envlen = (size_t)data[1] | (size_t)data[2] << 8;
	data += 3;
	size -= 3;
	if (envlen > size)
		envlen = size;

	memset(&link, 0, sizeof(link));
	link.socket = (enum ipc_socket)(p - fuzz_envelope_pairs);
	link.max_payload = 1 << 20;
	link.peer = "fuzz";
	if (connected) {
		link.sock = p->connected;
		fuzz_envelope_send(p->bound, FUZZ_ENVELOPE_ID,
		    strlen(FUZZ_ENVELOPE_ID), 1);
		fuzz_envelope_frames(p->bound, layout, data, envlen,
		    data + envlen, size - envlen);
	} else {
		link.sock = p->bound;
		link.router = 1;
		fuzz_envelope_frames(p->connected, layout, data, envlen,
		    data + envlen, size - envlen);
	}

	if ((rv = ipc_recv(&link, &msg, 0)) == 1) {
		if (msg.env == NULL || (connected &&
		    msg.env->kind != FLIPC__KIND__REPLY) ||
		    (!connected && msg.env->kind == FLIPC__KIND__REPLY))
			abort();
		(void)ipc_payload(&msg, &len);
		ipc_msg_free(&msg);
	} else if (rv == 0)
		abort();
	return 0;
}
