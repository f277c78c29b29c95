/*
 * grpc_server - the training port, through grpc core's C API.
 *
 * One completion queue, served by the main thread. Each call goes
 * through four states, with exactly one grpc operation outstanding in
 * each, so that the call itself can be the tag:
 *
 *	REQUESTED	grpc_server_request_call is waiting for a call
 *	RECEIVING	the peer is checked, the request message is awaited
 *	RELAYED		the relay thread holds the call until aggd or admind
 *			answers or the deadline passes
 *	FINISHING	one batch sends metadata, the reply and the status,
 *			and waits for the call to close; then it is freed
 *
 * The relay thread starts the last batch itself (grpc_call_start_batch is
 * thread-safe); every other state change happens on the main thread.
 */
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "grpc_server.h"
#include "log.h"
#include "peer.h"
#include "relay.h"
#include "status.h"

/* Long enough for an rpc's path in a log line. */
#define GSRV_PATH_LOG		96
/* Status messages from aggd or admind are cut to this length. */
#define GSRV_STATUS_MAX		512
/* How long shutdown waits for calls to end after cancelling them. */
#define GSRV_DRAIN_MS		10000

enum gsrv_state {
	GSRV_REQUESTED,
	GSRV_RECEIVING,
	GSRV_RELAYED,
	GSRV_FINISHING
};

struct gsrv_method {
	const char		*path;
	const char		*name;
	Flipc__Kind		 kind;
	enum relay_daemon	 daemon;
};

struct gsrv_call {
	enum gsrv_state			 state;
	grpc_call			*call;
	grpc_call_details		 details;
	grpc_metadata_array		 metadata;
	grpc_byte_buffer		*request;
	grpc_slice			 message;	/* request, flattened */
	grpc_byte_buffer		*reply;
	int				 cancelled;
	const struct gsrv_method	*method;
	struct peer			 peer;
	char				 token[GSRV_TOKEN_MAX + 1];
};

static const struct gsrv_method gsrv_methods[] = {
	{ "/fedlearn.FederatedTraining/Register", "Register",
	    FLIPC__KIND__REGISTER, RELAY_AGGD },
	{ "/fedlearn.FederatedTraining/Quit", "Quit",
	    FLIPC__KIND__QUIT, RELAY_AGGD },
	{ "/fedlearn.FederatedTraining/GetModel", "GetModel",
	    FLIPC__KIND__GET_MODEL, RELAY_AGGD },
	{ "/fedlearn.FederatedTraining/SubmitUpdate", "SubmitUpdate",
	    FLIPC__KIND__SUBMIT_UPDATE, RELAY_AGGD },
	{ "/fedlearn.FederatedTraining/Heartbeat", "Heartbeat",
	    FLIPC__KIND__HEARTBEAT, RELAY_AGGD },
	{ "/fedlearn.FederatedTraining/SubmitBestLocalModel",
	    "SubmitBestLocalModel",
	    FLIPC__KIND__SUBMIT_BEST_LOCAL_MODEL, RELAY_AGGD },
	{ "/fedlearn.FederatedTraining/GetValidationModels",
	    "GetValidationModels",
	    FLIPC__KIND__GET_VALIDATION_MODELS, RELAY_AGGD },
	{ "/fedlearn.FederatedTraining/SubmitCrossSiteValidationResults",
	    "SubmitCrossSiteValidationResults",
	    FLIPC__KIND__SUBMIT_VALIDATION_RESULTS, RELAY_AGGD },
	{ "/admin.AdminCommunicating/Retrieve", "Retrieve",
	    FLIPC__KIND__ADMIN_RETRIEVE, RELAY_ADMIND },
	{ "/admin.AdminCommunicating/SendReply", "SendReply",
	    FLIPC__KIND__ADMIN_SEND_REPLY, RELAY_ADMIND },
	{ "/admin.AdminCommunicating/SendResult", "SendResult",
	    FLIPC__KIND__ADMIN_SEND_RESULT, RELAY_ADMIND },
};

static struct {
	grpc_server		*server;
	grpc_completion_queue	*cq;
	int			 stopping;
	int			 shut_down;	/* the shutdown tag came */
	atomic_int		 ncalls;
} gsrv;

/* The tag of grpc_server_shutdown_and_notify; no call has this address. */
static int	gsrv_shutdown_tag;

static void	gsrv_finish(struct gsrv_call *, int, const char *,
		    grpc_byte_buffer *);

/* gsrv_log - grpc's own log lines, through ours */
static void
gsrv_log(gpr_log_func_args *args)
{
	if (args->severity == GPR_LOG_SEVERITY_ERROR)
		log_warnx("grpc: %s", args->message);
	else
		log_debug("grpc: %s", args->message);
}

/* gsrv_clamp - grpc's integer arguments top out at INT_MAX */
static int
gsrv_clamp(size_t n)
{
	return n > INT_MAX ? INT_MAX : (int)n;
}

/* gsrv_int_arg - one integer channel argument */
static grpc_arg
gsrv_int_arg(const char *key, int value)
{
	grpc_arg	 arg;

	memset(&arg, 0, sizeof(arg));
	arg.type = GRPC_ARG_INTEGER;
	arg.key = (char *)key;
	arg.value.integer = value;
	return arg;
}

/*
 * gsrv_server - a server with netd's channel arguments. grpc 1.51 lacks
 * the fix for CVE-2023-4785 (a flood of connections starves the
 * listener) and has no cap on connections: bound what each connection
 * may hold instead, and how long it may sit in a handshake or idle.
 */
static grpc_server *
gsrv_server(const struct gsrv_config *conf)
{
	grpc_arg		 args[13];
	grpc_channel_args	 chargs;
	size_t			 n = 0;

	args[n++] = gsrv_int_arg(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
	    gsrv_clamp(conf->max_send));
	args[n++] = gsrv_int_arg(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
	    gsrv_clamp(conf->max_receive));
	/* A second server on the same port must fail, not share it. */
	args[n++] = gsrv_int_arg(GRPC_ARG_ALLOW_REUSEPORT, 0);
	/* A site runs a training call, a heartbeat and an admin poll. */
	args[n++] = gsrv_int_arg(GRPC_ARG_MAX_CONCURRENT_STREAMS, 32);
	args[n++] = gsrv_int_arg(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 10000);
	args[n++] = gsrv_int_arg(GRPC_ARG_MAX_METADATA_SIZE, 16384);
	args[n++] = gsrv_int_arg(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 600000);
	args[n++] = gsrv_int_arg(GRPC_ARG_MAX_CONNECTION_AGE_MS, 3600000);
	/* Room for a large update to finish on an aged connection. */
	args[n++] = gsrv_int_arg(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
	    600000);
	args[n++] = gsrv_int_arg(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
	args[n++] = gsrv_int_arg(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
	/* Clients that keep their connection alive are not misbehaving. */
	args[n++] = gsrv_int_arg(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
	args[n++] = gsrv_int_arg(
	    GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);

	chargs.num_args = n;
	chargs.args = args;
	return grpc_server_create(&chargs, NULL);
}

/* gsrv_listen - the TLS port; grpc copies the PEM strings */
static int
gsrv_listen(const struct gsrv_config *conf)
{
	grpc_ssl_pem_key_cert_pair	 pair;
	grpc_server_credentials		*creds;
	int				 port;

	pair.private_key = conf->key_pem;
	pair.cert_chain = conf->cert_pem;
	creds = grpc_ssl_server_credentials_create_ex(conf->root_pem, &pair, 1,
	    GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
	if (creds == NULL) {
		log_warnx("the server's TLS credentials are unusable");
		return -1;
	}
	port = grpc_server_add_http2_port(gsrv.server, conf->address, creds);
	grpc_server_credentials_release(creds);
	if (port == 0) {
		log_warnx("cannot listen on %s", conf->address);
		return -1;
	}
	return port;
}

/* gsrv_request_next - keep one grpc_server_request_call outstanding */
static void
gsrv_request_next(void)
{
	struct gsrv_call	*c;
	grpc_call_error		 err;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("%s", __func__);
	c->state = GSRV_REQUESTED;
	c->message = grpc_empty_slice();
	grpc_call_details_init(&c->details);
	grpc_metadata_array_init(&c->metadata);
	atomic_fetch_add(&gsrv.ncalls, 1);

	err = grpc_server_request_call(gsrv.server, &c->call, &c->details,
	    &c->metadata, gsrv.cq, gsrv.cq, c);
	if (err != GRPC_CALL_OK)
		fatalx("grpc_server_request_call: error %d", err);
}

int
gsrv_start(const struct gsrv_config *conf)
{
	int	 port;

	gpr_set_log_function(gsrv_log);
	gpr_set_log_verbosity(conf->verbose ? GPR_LOG_SEVERITY_INFO :
	    GPR_LOG_SEVERITY_ERROR);
	grpc_init();

	if ((gsrv.server = gsrv_server(conf)) == NULL) {
		log_warnx("grpc_server_create failed");
		return -1;
	}
	gsrv.cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(gsrv.server, gsrv.cq, NULL);
	if ((port = gsrv_listen(conf)) == -1)
		return -1;

	grpc_server_start(gsrv.server);
	gsrv_request_next();
	return port;
}

/* gsrv_call_free - release a call and all it holds */
static void
gsrv_call_free(struct gsrv_call *c)
{
	grpc_call_details_destroy(&c->details);
	grpc_metadata_array_destroy(&c->metadata);
	if (c->request != NULL)
		grpc_byte_buffer_destroy(c->request);
	if (c->reply != NULL)
		grpc_byte_buffer_destroy(c->reply);
	grpc_slice_unref(c->message);
	if (c->call != NULL)
		grpc_call_unref(c->call);
	free(c);
	atomic_fetch_sub(&gsrv.ncalls, 1);
}

/* gsrv_path - the call's method path, printable and short, for logs */
static const char *
gsrv_path(const struct gsrv_call *c, char buf[GSRV_PATH_LOG])
{
	const unsigned char	*p = GRPC_SLICE_START_PTR(c->details.method);
	size_t			 len = GRPC_SLICE_LENGTH(c->details.method), i;

	if (len >= GSRV_PATH_LOG)
		len = GSRV_PATH_LOG - 1;
	for (i = 0; i < len; i++)
		buf[i] = p[i] >= 0x20 && p[i] <= 0x7e ? (char)p[i] : '?';
	buf[len] = '\0';
	return buf;
}

/* gsrv_method - the rpc that a method path names, or NULL */
static const struct gsrv_method *
gsrv_method(const grpc_slice *path)
{
	size_t	 i;

	for (i = 0; i < sizeof(gsrv_methods) / sizeof(gsrv_methods[0]); i++)
		if (grpc_slice_str_cmp(*path, gsrv_methods[i].path) == 0)
			return &gsrv_methods[i];
	return NULL;
}

/* gsrv_property - the first value of an auth context property */
static const grpc_auth_property *
gsrv_property(const grpc_auth_context *ctx, const char *name)
{
	grpc_auth_property_iterator	 it;

	it = grpc_auth_context_find_properties_by_name(ctx, name);
	return grpc_auth_property_iterator_next(&it);
}

/*
 * gsrv_identify - the verified peer. The common name is read by its own
 * property: the "peer identity" switches to the SAN when there is one.
 */
static int
gsrv_identify(struct gsrv_call *c)
{
	grpc_auth_context		*ctx;
	const grpc_auth_property	*cn, *pem;
	char				*address;
	int				 rv = -1;

	address = grpc_call_get_peer(c->call);
	if ((ctx = grpc_call_auth_context(c->call)) == NULL) {
		log_warnx("peer %s: no auth context", address);
		gpr_free(address);
		return -1;
	}
	cn = gsrv_property(ctx, GRPC_X509_CN_PROPERTY_NAME);
	pem = gsrv_property(ctx, GRPC_X509_PEM_CERT_PROPERTY_NAME);
	if (cn == NULL || pem == NULL)
		log_warnx("peer %s: no verified certificate", address);
	else
		rv = peer_identify(&c->peer, cn->value, cn->value_length,
		    pem->value, pem->value_length, address);
	grpc_auth_context_release(ctx);
	gpr_free(address);
	return rv;
}

/* gsrv_token_usable - printable, not empty, not too long */
static int
gsrv_token_usable(const grpc_slice *value)
{
	const unsigned char	*p = GRPC_SLICE_START_PTR(*value);
	size_t			 len = GRPC_SLICE_LENGTH(*value), i;

	if (len == 0 || len > GSRV_TOKEN_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return 0;
	return 1;
}

/* gsrv_token - the first x-custom-token; an unusable one is ignored */
static void
gsrv_token(struct gsrv_call *c)
{
	const grpc_metadata	*md;
	size_t			 i;

	for (i = 0; i < c->metadata.count; i++) {
		md = &c->metadata.metadata[i];
		if (grpc_slice_str_cmp(md->key, "x-custom-token") != 0)
			continue;
		if (!gsrv_token_usable(&md->value)) {
			log_warnx("%s from %s (%s): unusable x-custom-token "
			    "ignored", c->method->name, c->peer.address,
			    c->peer.common_name);
			return;
		}
		memcpy(c->token, GRPC_SLICE_START_PTR(md->value),
		    GRPC_SLICE_LENGTH(md->value));
		c->token[GRPC_SLICE_LENGTH(md->value)] = '\0';
		return;
	}
}

/* gsrv_receive - ask for the request message */
static void
gsrv_receive(struct gsrv_call *c)
{
	grpc_op		 op;
	grpc_call_error	 err;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &c->request;
	c->state = GSRV_RECEIVING;
	if ((err = grpc_call_start_batch(c->call, &op, 1, c, NULL)) !=
	    GRPC_CALL_OK) {
		log_warnx("%s from %s: receive failed, error %d",
		    c->method->name, c->peer.address, err);
		gsrv_call_free(c);
	}
}

/*
 * gsrv_accept - a new call: only sites, only known rpcs. A refused call
 * is answered without reading its message.
 */
static void
gsrv_accept(struct gsrv_call *c)
{
	char	 path[GSRV_PATH_LOG];

	if (gsrv_identify(c) == -1) {
		gsrv_finish(c, FL_UNAUTHENTICATED, "certificate is unusable",
		    NULL);
		return;
	}
	if (c->peer.kind != FLIPC__PEER_KIND__PEER_SITE) {
		log_warnx("%s from %s (%s): refused, certificate kind %s",
		    gsrv_path(c, path), c->peer.address, c->peer.common_name,
		    peer_kind_name(c->peer.kind));
		gsrv_finish(c, FL_UNAUTHENTICATED,
		    "certificate is not a site certificate", NULL);
		return;
	}
	if ((c->method = gsrv_method(&c->details.method)) == NULL) {
		log_warnx("%s from %s (%s): no such method",
		    gsrv_path(c, path), c->peer.address, c->peer.common_name);
		gsrv_finish(c, FL_UNIMPLEMENTED, "unknown method", NULL);
		return;
	}
	gsrv_token(c);
	gsrv_receive(c);
}

/* gsrv_flatten - the request in one slice, copied only if it came in many */
static int
gsrv_flatten(struct gsrv_call *c)
{
	grpc_byte_buffer_reader	 reader;

	if (!grpc_byte_buffer_reader_init(&reader, c->request))
		return -1;
	grpc_slice_unref(c->message);
	c->message = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	grpc_byte_buffer_destroy(c->request);
	c->request = NULL;
	return 0;
}

/*
 * gsrv_received - the request message is in, or the call is over: the
 * client cancelled, or grpc refused a message over the limit and has
 * answered RESOURCE_EXHAUSTED itself.
 */
static void
gsrv_received(struct gsrv_call *c, int success)
{
	struct relay_request	 req;

	if (!success) {
		log_info("%s from %s (%s): call ended before its message "
		    "(cancelled, or over the size limit)",
		    c->method->name, c->peer.address, c->peer.common_name);
		gsrv_call_free(c);
		return;
	}
	if (c->request == NULL) {
		gsrv_finish(c, FL_INVALID_ARGUMENT, "no request message", NULL);
		return;
	}
	if (gsrv_flatten(c) == -1) {
		log_warnx("%s from %s (%s): unreadable message",
		    c->method->name, c->peer.address, c->peer.common_name);
		gsrv_finish(c, FL_INVALID_ARGUMENT, "unreadable message", NULL);
		return;
	}

	memset(&req, 0, sizeof(req));
	req.call = c;
	req.method = c->method->name;
	req.kind = c->method->kind;
	req.daemon = c->method->daemon;
	req.peer = &c->peer;
	req.token = c->token[0] != '\0' ? c->token : NULL;
	c->state = GSRV_RELAYED;
	relay_submit(&req);
}

/* gsrv_event - one completion from the queue */
static void
gsrv_event(const grpc_event *ev)
{
	struct gsrv_call	*c = ev->tag;

	if (ev->tag == &gsrv_shutdown_tag) {
		gsrv.shut_down = 1;
		return;
	}
	switch (c->state) {
	case GSRV_REQUESTED:
		if (!gsrv.stopping)
			gsrv_request_next();
		if (ev->success)
			gsrv_accept(c);
		else
			gsrv_call_free(c);
		break;
	case GSRV_RECEIVING:
		gsrv_received(c, ev->success);
		break;
	case GSRV_FINISHING:
		if (!ev->success)
			log_debug("a call ended before its status was sent");
		gsrv_call_free(c);
		break;
	case GSRV_RELAYED:
		fatalx("%s: completion for a relayed call", __func__);
	}
}

void
gsrv_poll(int timeout_ms)
{
	grpc_event	 ev;

	ev = grpc_completion_queue_next(gsrv.cq,
	    gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
	    gpr_time_from_millis(timeout_ms, GPR_TIMESPAN)), NULL);
	if (ev.type == GRPC_OP_COMPLETE)
		gsrv_event(&ev);
	else if (ev.type == GRPC_QUEUE_SHUTDOWN)
		fatalx("%s: completion queue shut down", __func__);
}

/*
 * gsrv_drain - wait until the server says it is shut down and every call
 * is freed; cancelled calls still complete their last batch.
 */
static void
gsrv_drain(void)
{
	gpr_timespec	 end;
	grpc_event	 ev;

	end = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
	    gpr_time_from_millis(GSRV_DRAIN_MS, GPR_TIMESPAN));
	while (!gsrv.shut_down || atomic_load(&gsrv.ncalls) > 0) {
		ev = grpc_completion_queue_next(gsrv.cq, end, NULL);
		if (ev.type != GRPC_OP_COMPLETE) {
			log_warnx("%d calls still open at shutdown",
			    atomic_load(&gsrv.ncalls));
			return;
		}
		gsrv_event(&ev);
	}
}

void
gsrv_stop(void)
{
	grpc_event	 ev;

	if (gsrv.server == NULL)
		return;
	gsrv.stopping = 1;
	grpc_server_shutdown_and_notify(gsrv.server, gsrv.cq,
	    &gsrv_shutdown_tag);
	grpc_server_cancel_all_calls(gsrv.server);
	gsrv_drain();
	grpc_server_destroy(gsrv.server);
	gsrv.server = NULL;

	grpc_completion_queue_shutdown(gsrv.cq);
	do {
		ev = grpc_completion_queue_next(gsrv.cq,
		    gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
	} while (ev.type != GRPC_QUEUE_SHUTDOWN);
	grpc_completion_queue_destroy(gsrv.cq);
	gsrv.cq = NULL;
	grpc_shutdown();
}

const void *
gsrv_call_payload(struct gsrv_call *c, size_t *len, void **hint)
{
	grpc_slice	*ref;

	/* A small slice keeps its bytes inline: point into the copy. */
	if ((ref = malloc(sizeof(*ref))) == NULL)
		return NULL;
	*ref = grpc_slice_ref(c->message);
	*len = GRPC_SLICE_LENGTH(*ref);
	*hint = ref;
	return GRPC_SLICE_START_PTR(*ref);
}

void
gsrv_payload_free(void *data, void *hint)
{
	grpc_slice	*ref = hint;

	(void)data;
	grpc_slice_unref(*ref);
	free(ref);
}

/* gsrv_reply_free - grpc is done with a reply: release its ZeroMQ frame */
static void
gsrv_reply_free(void *held)
{
	zmq_msg_close(held);
	free(held);
}

/* gsrv_wrap - a byte buffer over a ZeroMQ frame, without a copy */
static grpc_byte_buffer *
gsrv_wrap(zmq_msg_t *payload)
{
	grpc_byte_buffer	*buffer;
	grpc_slice		 slice;
	zmq_msg_t		*held;

	if (payload == NULL || zmq_msg_size(payload) == 0) {
		slice = grpc_empty_slice();
		return grpc_raw_byte_buffer_create(&slice, 1);
	}
	/* Small frames keep their bytes inside the zmq_msg_t: move it first. */
	if ((held = malloc(sizeof(*held))) == NULL)
		return NULL;
	zmq_msg_init(held);
	zmq_msg_move(held, payload);
	slice = grpc_slice_new_with_user_data(zmq_msg_data(held),
	    zmq_msg_size(held), gsrv_reply_free, held);
	buffer = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	return buffer;
}

/*
 * gsrv_finish - the last batch of a call. Any thread may call it: the
 * call belongs to whoever holds it until the batch starts.
 */
static void
gsrv_finish(struct gsrv_call *c, int status, const char *message,
    grpc_byte_buffer *reply)
{
	grpc_op		 ops[4], *op = ops;
	grpc_slice	 details;
	grpc_call_error	 err;
	size_t		 len = strnlen(message, GSRV_STATUS_MAX);

	memset(ops, 0, sizeof(ops));
	op++->op = GRPC_OP_SEND_INITIAL_METADATA;
	if (reply != NULL) {
		op->op = GRPC_OP_SEND_MESSAGE;
		op++->data.send_message.send_message = reply;
	}
	details = grpc_slice_from_copied_buffer(message, len);
	op->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	op->data.send_status_from_server.status = (grpc_status_code)status;
	op++->data.send_status_from_server.status_details = &details;
	op->op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op++->data.recv_close_on_server.cancelled = &c->cancelled;

	c->reply = reply;
	c->state = GSRV_FINISHING;
	err = grpc_call_start_batch(c->call, ops, (size_t)(op - ops), c, NULL);
	grpc_slice_unref(details);
	if (err != GRPC_CALL_OK) {
		log_warnx("cannot answer a call: error %d", err);
		gsrv_call_free(c);
	}
}

void
gsrv_call_reply(struct gsrv_call *c, int status, const char *message,
    zmq_msg_t *payload)
{
	grpc_byte_buffer	*reply = NULL;

	if (status == FL_OK && (reply = gsrv_wrap(payload)) == NULL) {
		status = FL_INTERNAL;
		message = "netd is out of memory";
	}
	gsrv_finish(c, status, message != NULL ? message : "", reply);
}
