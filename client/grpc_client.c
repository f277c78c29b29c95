/*
 * grpc_client - grpc core 1.51's client API, one unary call at a time.
 *
 * A call is one batch holding all six operations, plucked from a
 * completion queue made for that call alone: the heartbeat thread and the
 * site's main loop never share a queue, and nothing outlives the call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "grpc_client.h"
#include "log.h"

/* A server that restarts is found again within one retry period. */
#define GRPC_CLIENT_MAX_BACKOFF_MS	5000

/* How long past the call's deadline the queue is waited on: grpc ends
 * the call itself at its deadline, so this is only a safety net. */
#define GRPC_CLIENT_GRACE_S		10

#define GRPC_CLIENT_TOKEN_HEADER	"x-custom-token"

struct grpc_client {
	grpc_channel	*channel;
};

/* grpc_client_log - grpc's own diagnostics, as our log lines */
static void
grpc_client_log(gpr_log_func_args *args)
{
	if (args->severity == GPR_LOG_SEVERITY_ERROR)
		log_warnx("grpc: %s", args->message);
	else
		log_debug("grpc: %s", args->message);
}

/*
 * Between calls no thread of ours polls the channel's sockets: grpc's
 * backup poller alone notices that a reconnection finished, by default
 * every 5 s, which can make a restarted server look away for tens of
 * seconds. A second is cheap for a site. The environment may override it.
 */
#define GRPC_CLIENT_BACKUP_POLL	"GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS"

void
grpc_client_init(void)
{
	if (setenv(GRPC_CLIENT_BACKUP_POLL, "1000", 0) == -1)
		log_warn("setenv %s", GRPC_CLIENT_BACKUP_POLL);
	gpr_set_log_function(grpc_client_log);
	grpc_init();
	/* GRPC_VERBOSITY and GRPC_TRACE stay available for debugging. */
	if (getenv("GRPC_VERBOSITY") == NULL)
		gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
}

void
grpc_client_shutdown(void)
{
	grpc_shutdown();
}

struct grpc_client *
grpc_client_open(const char *target, const char *root_pem,
    const char *cert_pem, const char *key_pem, int max_send, int max_receive)
{
	grpc_ssl_pem_key_cert_pair	 pair = { key_pem, cert_pem };
	grpc_channel_credentials	*creds;
	grpc_arg			 arg[4];
	grpc_channel_args		 args = { 4, arg };
	struct grpc_client		*gc;

	memset(arg, 0, sizeof(arg));
	arg[0].type = GRPC_ARG_INTEGER;
	arg[0].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
	arg[0].value.integer = max_send;
	arg[1].type = GRPC_ARG_INTEGER;
	arg[1].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	arg[1].value.integer = max_receive;
	arg[2].type = GRPC_ARG_INTEGER;
	arg[2].key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
	arg[2].value.integer = GRPC_CLIENT_MAX_BACKOFF_MS;
	arg[3].type = GRPC_ARG_INTEGER;
	arg[3].key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
	arg[3].value.integer = 1000;

	if ((gc = calloc(1, sizeof(*gc))) == NULL)
		return NULL;
	if ((creds = grpc_ssl_credentials_create(root_pem, &pair, NULL,
	    NULL)) == NULL) {
		free(gc);
		errno = EINVAL;
		return NULL;
	}
	gc->channel = grpc_channel_create(target, creds, &args);
	grpc_channel_credentials_release(creds);
	if (gc->channel == NULL) {
		free(gc);
		errno = EINVAL;
		return NULL;
	}
	return gc;
}

void
grpc_client_close(struct grpc_client *gc)
{
	if (gc == NULL)
		return;
	grpc_channel_destroy(gc->channel);
	free(gc);
}

/* grpc_client_printable - a peer's text, safe to put in a log line */
static char *
grpc_client_printable(grpc_slice s)
{
	const unsigned char	*p = GRPC_SLICE_START_PTR(s);
	size_t			 i, len = GRPC_SLICE_LENGTH(s);
	char			*out;

	if (len > 1024)
		len = 1024;
	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[len] = '\0';
	return out;
}

/* grpc_client_flatten - the reply's slices as one malloc'd buffer */
static int
grpc_client_flatten(grpc_byte_buffer *bb, struct grpc_reply *reply)
{
	grpc_byte_buffer_reader	 reader;
	grpc_slice		 s;
	size_t			 off = 0;

	reply->len = grpc_byte_buffer_length(bb);
	if ((reply->body = malloc(reply->len == 0 ? 1 : reply->len)) == NULL)
		return -1;
	if (!grpc_byte_buffer_reader_init(&reader, bb))
		return -1;
	while (grpc_byte_buffer_reader_next(&reader, &s)) {
		if (GRPC_SLICE_LENGTH(s) > reply->len - off) {
			grpc_slice_unref(s);
			break;
		}
		memcpy(reply->body + off, GRPC_SLICE_START_PTR(s),
		    GRPC_SLICE_LENGTH(s));
		off += GRPC_SLICE_LENGTH(s);
		grpc_slice_unref(s);
	}
	grpc_byte_buffer_reader_destroy(&reader);
	return off == reply->len ? 0 : -1;
}

/* grpc_client_wait - the batch's completion; cancel if grpc overruns */
static int
grpc_client_wait(grpc_completion_queue *cq, grpc_call *call, void *tag,
    gpr_timespec deadline)
{
	grpc_event	 ev;

	deadline = gpr_time_add(deadline,
	    gpr_time_from_seconds(GRPC_CLIENT_GRACE_S, GPR_TIMESPAN));
	ev = grpc_completion_queue_pluck(cq, tag, deadline, NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		log_warnx("grpc call overran its deadline; cancelling it");
		grpc_call_cancel(call, NULL);
		ev = grpc_completion_queue_pluck(cq, tag,
		    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	}
	return ev.type == GRPC_OP_COMPLETE && ev.success ? 0 : -1;
}

struct grpc_client_batch {
	grpc_metadata		 token;
	grpc_metadata_array	 initial, trailing;
	grpc_byte_buffer	*request, *response;
	grpc_status_code	 status;
	grpc_slice		 details;
	grpc_op			 ops[6];
};

/* grpc_client_ops - the six operations of a unary call */
static void
grpc_client_ops(struct grpc_client_batch *b, const char *token)
{
	grpc_op	*op = b->ops;

	memset(b->ops, 0, sizeof(b->ops));
	op->op = GRPC_OP_SEND_INITIAL_METADATA;
	if (token != NULL) {
		b->token.key = grpc_slice_from_static_string(
		    GRPC_CLIENT_TOKEN_HEADER);
		b->token.value = grpc_slice_from_static_string(token);
		op->data.send_initial_metadata.count = 1;
		op->data.send_initial_metadata.metadata = &b->token;
	}
	op++;
	op->op = GRPC_OP_SEND_MESSAGE;
	op->data.send_message.send_message = b->request;
	op++;
	op->op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	op++;
	op->op = GRPC_OP_RECV_INITIAL_METADATA;
	op->data.recv_initial_metadata.recv_initial_metadata = &b->initial;
	op++;
	op->op = GRPC_OP_RECV_MESSAGE;
	op->data.recv_message.recv_message = &b->response;
	op++;
	op->op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	op->data.recv_status_on_client.trailing_metadata = &b->trailing;
	op->data.recv_status_on_client.status = &b->status;
	op->data.recv_status_on_client.status_details = &b->details;
}

/* grpc_client_result - status, message and body into reply */
static int
grpc_client_result(struct grpc_client_batch *b, struct grpc_reply *reply)
{
	reply->status = b->status;
	if ((reply->message = grpc_client_printable(b->details)) == NULL)
		return -1;
	if (b->response != NULL && grpc_client_flatten(b->response,
	    reply) == -1) {
		log_warnx("cannot copy a reply of %zu bytes", reply->len);
		return -1;
	}
	return 0;
}

int
grpc_client_call(struct grpc_client *gc, const char *method,
    const char *token, const void *req, size_t len, int timeout,
    struct grpc_reply *reply)
{
	struct grpc_client_batch	 b;
	grpc_completion_queue		*cq;
	grpc_call			*call;
	grpc_slice			 body;
	gpr_timespec			 deadline;
	int				 rc = -1;

	memset(reply, 0, sizeof(*reply));
	memset(&b, 0, sizeof(b));
	grpc_metadata_array_init(&b.initial);
	grpc_metadata_array_init(&b.trailing);
	b.details = grpc_empty_slice();

	/* req outlives the call: the slice need not copy it. */
	body = grpc_slice_from_static_buffer(req, len);
	b.request = grpc_raw_byte_buffer_create(&body, 1);
	grpc_client_ops(&b, token);

	deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
	    gpr_time_from_seconds(timeout, GPR_TIMESPAN));
	cq = grpc_completion_queue_create_for_pluck(NULL);
	call = grpc_channel_create_call(gc->channel, NULL,
	    GRPC_PROPAGATE_DEFAULTS, cq, grpc_slice_from_static_string(method),
	    NULL, deadline, NULL);

	if (grpc_call_start_batch(call, b.ops, 6, &b, NULL) != GRPC_CALL_OK)
		log_warnx("%s: grpc refused the call", method);
	else if (grpc_client_wait(cq, call, &b, deadline) == -1)
		log_warnx("%s: the call did not complete", method);
	else
		rc = grpc_client_result(&b, reply);

	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
	grpc_byte_buffer_destroy(b.request);
	if (b.response != NULL)
		grpc_byte_buffer_destroy(b.response);
	grpc_slice_unref(b.details);
	grpc_metadata_array_destroy(&b.initial);
	grpc_metadata_array_destroy(&b.trailing);
	if (rc == -1)
		grpc_client_reply_free(reply);
	return rc;
}

void
grpc_client_reply_free(struct grpc_reply *reply)
{
	if (reply == NULL)
		return;
	free(reply->message);
	free(reply->body);
	memset(reply, 0, sizeof(*reply));
}
