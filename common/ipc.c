/*
 * ipc - the ZeroMQ links between flserver's daemons.
 *
 * See ipc.h for the message layout. The table of sockets below is the
 * whole of who talks to whom; each daemon opens the links it needs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "log.h"

/* Where each socket lives, who binds it, who may connect, what it carries. */
static const struct ipc_socket_info {
	const char	*dir;
	const char	*file;
	const char	*binder;
	const char	*peer;
	int		 first_kind, last_kind;
} ipc_sockets[IPC_NSOCKETS] = {
	[IPC_TRAINING] = { "aggd", "aggd.sock", "aggd", "netd",
	    FLIPC__KIND__REGISTER, FLIPC__KIND__SUBMIT_VALIDATION_RESULTS },
	[IPC_CONTROL] = { "aggd", "control.sock", "aggd", "admind",
	    FLIPC__KIND__SERVER_STATUS, FLIPC__KIND__VALIDATION_RESULTS },
	[IPC_CONSOLE] = { "admind", "admind.sock", "admind", "netd",
	    FLIPC__KIND__ADMIN_RETRIEVE, FLIPC__KIND__ADMIN_COMMAND },
	[IPC_NOTICE] = { "admind", "notice.sock", "admind", "aggd",
	    FLIPC__KIND__NOTICE_SITE, FLIPC__KIND__NOTICE_ROUND },
};

const char *
ipc_socket_name(enum ipc_socket which)
{
	return ipc_sockets[which].file;
}

const char *
ipc_socket_binder(enum ipc_socket which)
{
	return ipc_sockets[which].binder;
}

const char *
ipc_socket_peer(enum ipc_socket which)
{
	return ipc_sockets[which].peer;
}

int
ipc_path(char *buf, size_t len, const char *rundir, enum ipc_socket which)
{
	const struct ipc_socket_info	*info = &ipc_sockets[which];
	int				 n;

	n = snprintf(buf, len, "%s/%s/%s", rundir, info->dir, info->file);
	if (n < 0 || (size_t)n >= len || (size_t)n >= IPC_PATH_MAX) {
		log_warnx("ipc path of %s under %s is too long (max %d bytes)",
		    info->file, rundir, IPC_PATH_MAX - 1);
		return -1;
	}
	return 0;
}

/* ipc_open - a socket with the options every link shares */
static int
ipc_open(struct ipc_link *link, void *ctx, int type, const char *peer,
    size_t max_payload, int rcvhwm)
{
	int64_t	 maxmsg = (int64_t)(max_payload + IPC_ENVELOPE_MAX);
	int	 linger = 0;

	memset(link, 0, sizeof(*link));
	if ((link->sock = zmq_socket(ctx, type)) == NULL) {
		log_warnx("zmq_socket for %s: %s", peer, zmq_strerror(errno));
		return -1;
	}
	/* Terminating a context must never wait for an absent peer. */
	zmq_setsockopt(link->sock, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_setsockopt(link->sock, ZMQ_MAXMSGSIZE, &maxmsg,
	    sizeof(maxmsg)) == -1) {
		log_warnx("ZMQ_MAXMSGSIZE for %s: %s", peer,
		    zmq_strerror(errno));
		ipc_close(link);
		return -1;
	}
	if (rcvhwm >= 0 && zmq_setsockopt(link->sock, ZMQ_RCVHWM, &rcvhwm,
	    sizeof(rcvhwm)) == -1) {
		log_warnx("ZMQ_RCVHWM for %s: %s", peer, zmq_strerror(errno));
		ipc_close(link);
		return -1;
	}
	link->router = type == ZMQ_ROUTER;
	link->max_payload = max_payload;
	link->peer = peer;
	return 0;
}

int
ipc_bind(struct ipc_link *link, void *ctx, const char *rundir,
    enum ipc_socket which, size_t max_payload, int rcvhwm, uid_t peer_uid)
{
	char	 path[IPC_PATH_MAX + 8], endpoint[IPC_PATH_MAX + 16];
	int	 uid = (int)peer_uid;

	if (ipc_path(path, sizeof(path), rundir, which) == -1)
		return -1;
	if (ipc_open(link, ctx, ZMQ_ROUTER, ipc_sockets[which].peer,
	    max_payload, rcvhwm) == -1)
		return -1;
	link->socket = which;
	if (peer_uid != (uid_t)-1 && zmq_setsockopt(link->sock,
	    ZMQ_IPC_FILTER_UID, &uid, sizeof(uid)) == -1) {
		log_warnx("ZMQ_IPC_FILTER_UID on %s: %s", path,
		    zmq_strerror(errno));
		ipc_close(link);
		return -1;
	}
	snprintf(endpoint, sizeof(endpoint), "ipc://%s", path);
	if (zmq_bind(link->sock, endpoint) == -1) {
		log_warnx("bind %s: %s", path, zmq_strerror(errno));
		ipc_close(link);
		return -1;
	}
	return 0;
}

/* ipc_dial - a DEALER, options set before it connects */
static int
ipc_dial(struct ipc_link *link, void *ctx, const char *rundir,
    enum ipc_socket which, size_t max_payload, int immediate)
{
	char		 path[IPC_PATH_MAX + 8], endpoint[IPC_PATH_MAX + 16];
	const char	*peer = ipc_sockets[which].binder;
	int		 sndtimeo = 0;

	if (ipc_path(path, sizeof(path), rundir, which) == -1)
		return -1;
	if (ipc_open(link, ctx, ZMQ_DEALER, peer, max_payload, -1) == -1)
		return -1;
	link->socket = which;
	if (immediate && (zmq_setsockopt(link->sock, ZMQ_IMMEDIATE,
	    &immediate, sizeof(immediate)) == -1 ||
	    zmq_setsockopt(link->sock, ZMQ_SNDTIMEO, &sndtimeo,
	    sizeof(sndtimeo)) == -1)) {
		log_warnx("socket options for %s: %s", peer,
		    zmq_strerror(errno));
		ipc_close(link);
		return -1;
	}
	snprintf(endpoint, sizeof(endpoint), "ipc://%s", path);
	if (zmq_connect(link->sock, endpoint) == -1) {
		log_warnx("connect %s: %s", path, zmq_strerror(errno));
		ipc_close(link);
		return -1;
	}
	return 0;
}

int
ipc_connect(struct ipc_link *link, void *ctx, const char *rundir,
    enum ipc_socket which, size_t max_payload)
{
	return ipc_dial(link, ctx, rundir, which, max_payload, 0);
}

int
ipc_connect_immediate(struct ipc_link *link, void *ctx, const char *rundir,
    enum ipc_socket which, size_t max_payload)
{
	return ipc_dial(link, ctx, rundir, which, max_payload, 1);
}

void
ipc_close(struct ipc_link *link)
{
	if (link->sock != NULL)
		zmq_close(link->sock);
	link->sock = NULL;
}

/* ipc_free_copy - ZeroMQ's free callback for payloads we copied */
static void
ipc_free_copy(void *data, void *hint)
{
	(void)hint;
	free(data);
}

/* ipc_send_frame - send one frame, more to follow or not */
static int
ipc_send_frame(struct ipc_link *link, zmq_msg_t *frame, int more)
{
	if (zmq_msg_send(frame, link->sock, more ? ZMQ_SNDMORE : 0) == -1) {
		log_warnx("send to %s: %s", link->peer, zmq_strerror(errno));
		zmq_msg_close(frame);
		return -1;
	}
	return 0;
}

/* ipc_payload_frame - wrap or copy the payload into a frame */
static int
ipc_payload_frame(zmq_msg_t *frame, const void *payload, size_t len,
    ipc_free_fn *free_fn, void *hint)
{
	void	*copy;

	if (len == 0) {
		if (free_fn != NULL)
			free_fn((void *)payload, hint);
		return zmq_msg_init(frame);
	}
	if (free_fn != NULL)
		return zmq_msg_init_data(frame, (void *)payload, len, free_fn,
		    hint);
	if ((copy = malloc(len)) == NULL)
		return -1;
	memcpy(copy, payload, len);
	if (zmq_msg_init_data(frame, copy, len, ipc_free_copy, NULL) == -1) {
		free(copy);
		return -1;
	}
	return 0;
}

int
ipc_send(struct ipc_link *link, zmq_msg_t *routing, const Flipc__Envelope *env,
    const void *payload, size_t len, ipc_free_fn *free_fn, void *hint)
{
	zmq_msg_t	 frame, body, route;
	size_t		 envlen;

	envlen = flipc__envelope__get_packed_size(env);
	if (envlen > IPC_ENVELOPE_MAX || len > link->max_payload) {
		log_warnx("not sending %zu bytes to %s: over the link's cap "
		    "of %zu", len, link->peer, link->max_payload);
		if (free_fn != NULL)
			free_fn((void *)payload, hint);
		return -1;
	}
	if (ipc_payload_frame(&body, payload, len, free_fn, hint) == -1) {
		log_warnx("payload frame for %s: %s", link->peer,
		    zmq_strerror(errno));
		return -1;
	}
	zmq_msg_init_size(&frame, envlen);
	flipc__envelope__pack(env, zmq_msg_data(&frame));

	if (link->router) {
		zmq_msg_init(&route);
		zmq_msg_copy(&route, routing);
		if (ipc_send_frame(link, &route, 1) == -1)
			goto fail;
	}
	if (ipc_send_frame(link, &frame, 1) == -1) {
		zmq_msg_close(&body);
		return -1;
	}
	return ipc_send_frame(link, &body, 0);
fail:
	zmq_msg_close(&frame);
	zmq_msg_close(&body);
	return -1;
}

/* ipc_drain - discard the rest of a multipart message */
static void
ipc_drain(struct ipc_link *link)
{
	zmq_msg_t	 frame;
	int		 more;
	size_t		 len = sizeof(more);

	for (;;) {
		if (zmq_getsockopt(link->sock, ZMQ_RCVMORE, &more, &len) == -1 ||
		    !more)
			return;
		zmq_msg_init(&frame);
		zmq_msg_recv(&frame, link->sock, 0);
		zmq_msg_close(&frame);
	}
}

static int
ipc_more(struct ipc_link *link)
{
	int	 more = 0;
	size_t	 len = sizeof(more);

	zmq_getsockopt(link->sock, ZMQ_RCVMORE, &more, &len);
	return more;
}

/* ipc_kind_known - a kind this build of flserver knows */
static int
ipc_kind_known(int kind)
{
	return kind != FLIPC__KIND__KIND_UNSPECIFIED &&
	    protobuf_c_enum_descriptor_get_value(&flipc__kind__descriptor,
	    kind) != NULL;
}

/* ipc_kind_allowed - requests that belong on a bound socket, else replies */
static int
ipc_kind_allowed(const struct ipc_link *link, int kind)
{
	const struct ipc_socket_info	*info = &ipc_sockets[link->socket];

	if (!link->router)
		return kind == FLIPC__KIND__REPLY;
	return kind >= info->first_kind && kind <= info->last_kind;
}

int
ipc_recv(struct ipc_link *link, struct ipc_msg *msg, int flags)
{
	zmq_msg_t	 head;

	memset(msg, 0, sizeof(*msg));
	zmq_msg_init(&msg->routing);
	zmq_msg_init(&msg->payload);
	zmq_msg_init(&head);

	if (link->router) {
		if (zmq_msg_recv(&msg->routing, link->sock, flags) == -1)
			goto none;
		msg->has_routing = 1;
		flags = 0;
		if (!ipc_more(link))
			goto malformed;
	}
	if (zmq_msg_recv(&head, link->sock, flags) == -1)
		goto none;
	if (!ipc_more(link))
		goto malformed;
	if (zmq_msg_recv(&msg->payload, link->sock, 0) == -1 ||
	    ipc_more(link))
		goto malformed;

	msg->env = flipc__envelope__unpack(NULL, zmq_msg_size(&head),
	    zmq_msg_data(&head));
	zmq_msg_close(&head);
	if (msg->env == NULL) {
		log_warnx("dropped a message from %s: malformed envelope",
		    link->peer);
		goto drop;
	}
	if (!ipc_kind_known(msg->env->kind)) {
		log_warnx("dropped a message from %s: unknown kind %d",
		    link->peer, msg->env->kind);
		goto drop;
	}
	if (!ipc_kind_allowed(link, msg->env->kind)) {
		log_warnx("dropped a message from %s on %s: kind %d does not "
		    "belong there", link->peer, ipc_socket_name(link->socket),
		    msg->env->kind);
		goto drop;
	}
	return 1;

none:
	zmq_msg_close(&head);
	ipc_msg_free(msg);
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	log_warnx("receive from %s: %s", link->peer, zmq_strerror(errno));
	return -1;
malformed:
	zmq_msg_close(&head);
	log_warnx("dropped a message from %s: wrong number of frames",
	    link->peer);
	ipc_drain(link);
drop:
	ipc_msg_free(msg);
	return -1;
}

void
ipc_msg_free(struct ipc_msg *msg)
{
	if (msg->env != NULL)
		flipc__envelope__free_unpacked(msg->env, NULL);
	msg->env = NULL;
	zmq_msg_close(&msg->routing);
	zmq_msg_close(&msg->payload);
	msg->has_routing = 0;
}

const void *
ipc_payload(struct ipc_msg *msg, size_t *len)
{
	*len = zmq_msg_size(&msg->payload);
	return zmq_msg_data(&msg->payload);
}

void
ipc_reply_env(Flipc__Envelope *out, const Flipc__Envelope *req, int status,
    const char *status_message)
{
	flipc__envelope__init(out);
	out->request_id = req->request_id;
	out->kind = FLIPC__KIND__REPLY;
	out->status = status;
	out->status_message = (char *)(status_message != NULL ?
	    status_message : "");
}
