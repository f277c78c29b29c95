/*
 * relay - poll Retrieve, answer with SendReply.
 *
 * Requests and replies are packed and unpacked here with protobuf-c and
 * moved as bytes by grpc_client, on the session's channel but with calls
 * of the relay's own. A reply goes out before its request's after-effect
 * (a Quit, a new registration) can kill the token it is sent with.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.pb-c.h"
#include "grpc_client.h"
#include "log.h"
#include "relay.h"
#include "status.h"

#define RELAY_CALL_TIMEOUT	10	/* s; bounds how long a stop waits */
#define RELAY_SHOWN_MAX		64

/* Conditions of a poll besides gRPC's codes, for logging changes. */
#define RELAY_UNSET		-3
#define RELAY_MALFORMED		-2
#define RELAY_CALL_FAILED	-1

static const char	relay_no_memory[] = "{\"error\":\"out of memory\"}";

/* relay_show - a peer's text, printable ASCII and short, for the log */
static const char *
relay_show(const char *s, char out[RELAY_SHOWN_MAX])
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < RELAY_SHOWN_MAX; i++)
		out[i] = (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] >= 0x7f ? '?' : s[i];
	out[i] = '\0';
	return out;
}

/* relay_header - a request's header, or "-" */
static const char *
relay_header(const Admin__Message *m, const char *key,
    char out[RELAY_SHOWN_MAX])
{
	size_t	 i;

	for (i = 0; i < m->n_headers; i++)
		if (strcmp(m->headers[i]->key, key) == 0)
			return relay_show(m->headers[i]->value, out);
	return "-";
}

/* relay_pack - a message as bytes for grpc_client */
static uint8_t *
relay_pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t	*buf;

	*len = protobuf_c_message_get_packed_size(m);
	if ((buf = malloc(*len == 0 ? 1 : *len)) == NULL)
		return NULL;
	protobuf_c_message_pack(m, buf);
	return buf;
}

/* relay_call - one call with the token; the status, or -1 */
static int
relay_call(struct relay *r, const char *method, const char *token,
    const ProtobufCMessage *m, struct grpc_reply *reply, char *why,
    size_t whylen)
{
	uint8_t	*buf;
	size_t	 len;
	int	 rc;

	memset(reply, 0, sizeof(*reply));
	if ((buf = relay_pack(m, &len)) == NULL) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (grpc_client_call(r->session->grpc, method, token, buf, len,
	    RELAY_CALL_TIMEOUT, reply) == -1) {
		snprintf(why, whylen, "the call failed");
		rc = -1;
	} else {
		snprintf(why, whylen, "%s", reply->message);
		rc = reply->status;
	}
	free(buf);
	return rc;
}

/* relay_send - the answer to req, as SendReply; -1 if not delivered */
static int
relay_send(struct relay *r, const char *token, const Admin__Message *req,
    const struct topic_answer *a, char *why, size_t whylen)
{
	Admin__Reply			 reply = ADMIN__REPLY__INIT;
	Admin__Message			 msg = ADMIN__MESSAGE__INIT;
	Admin__Message__HeadersEntry	 h[2], *hp[2] = { &h[0], &h[1] };
	struct grpc_reply		 gr;
	char				 ref[24], *text;
	int				 ok = a->ok, rc;

	if ((text = a->body == NULL ? NULL : json_dumps(a->body,
	    JSON_COMPACT)) == NULL)
		ok = 0;
	admin__message__headers_entry__init(&h[0]);
	admin__message__headers_entry__init(&h[1]);
	snprintf(ref, sizeof(ref), "%lld", (long long)req->id);
	h[0].key = "_refMsgId";
	h[0].value = ref;
	h[1].key = "_rtnCode";
	h[1].value = ok ? "_ok" : "_error";

	msg.id = req->id;
	msg.topic = req->topic;
	msg.body_type = "json";
	msg.body.data = (uint8_t *)(text != NULL ? text : relay_no_memory);
	msg.body.len = strlen((char *)msg.body.data);
	msg.n_headers = 2;
	msg.headers = hp;
	reply.client_name = (char *)token;
	reply.message = &msg;

	rc = relay_call(r, GRPC_CLIENT_SEND_REPLY, token, &reply.base, &gr,
	    why, whylen);
	grpc_client_reply_free(&gr);
	free(text);
	return rc == FL_OK ? 0 : -1;
}

/* relay_log - one line per request: what, its event, how it ended */
static void
relay_log(const Admin__Message *m, const struct topic_answer *a,
    int delivered, const char *why)
{
	char		 topic[RELAY_SHOWN_MAX], event[RELAY_SHOWN_MAX];
	const char	*error = NULL;

	if (!a->ok && a->body != NULL)
		error = json_string_value(json_object_get(a->body, "error"));
	relay_show(m->topic, topic);
	log_info("admin request %lld %s%s%s (event %s): %s%s%s%s",
	    (long long)m->id, topic, a->note[0] != '\0' ? " " : "", a->note,
	    relay_header(m, "_eventId", event), a->ok ? "ok" : "error",
	    error != NULL ? ": " : "", error != NULL ? error : "",
	    delivered ? "" : "; the reply was not delivered");
	if (!delivered)
		log_warnx("admin request %lld: SendReply: %s",
		    (long long)m->id, why);
}

/* relay_answer - one request: answer it, send, log; its after-effect */
static enum topic_after
relay_answer(struct relay *r, const char *token, const Admin__Message *m)
{
	struct topic_answer	 a;
	enum topic_after	 after;
	char			 why[256];
	int			 delivered;

	if (m->body_type[0] != '\0' && strcmp(m->body_type, "json") != 0) {
		memset(&a, 0, sizeof(a));
		topic_refuse(&a, "the request's body_type is not \"json\"");
	} else
		topic_answer(&r->site, m->topic, m->body.data, m->body.len,
		    &a);
	delivered = relay_send(r, token, m, &a, why, sizeof(why)) == 0;
	relay_log(m, &a, delivered, why);
	after = a.after;
	topic_answer_free(&a);
	return after;
}

/* relay_condition - log a poll's outcome only when it changes */
static int
relay_condition(struct relay *r, int condition)
{
	if (condition == r->condition)
		return 0;
	r->condition = condition;
	return 1;
}

/* relay_messages - answer every request of a Retrieve, in order */
static void
relay_messages(struct relay *r, const char *token,
    const struct grpc_reply *reply)
{
	Admin__Messages		*msgs;
	enum topic_after	 after = TOPIC_NOTHING, a;
	size_t			 i;

	/* No body at all is an empty Messages, as protobuf has it. */
	if ((msgs = admin__messages__unpack(NULL, reply->len,
	    reply->body != NULL ? reply->body : (const uint8_t *)"")) ==
	    NULL) {
		if (relay_condition(r, RELAY_MALFORMED))
			log_warnx("admin requests: Retrieve's reply is not a "
			    "valid Messages; ignored");
		return;
	}
	if (relay_condition(r, FL_OK))
		log_info("admin requests: the server's relay answers");
	for (i = 0; i < msgs->n_message; i++)
		if ((a = relay_answer(r, token, msgs->message[i])) > after)
			after = a;
	admin__messages__free_unpacked(msgs, NULL);

	if (after == TOPIC_SHUTDOWN) {
		control_shutdown(r->site.control);
		r->done = 1;
	} else if (after == TOPIC_RESTART)
		control_restart(r->site.control);
}

/* relay_trouble - a Retrieve that failed: log it once, say when next */
static int
relay_trouble(struct relay *r, int code, const char *why, uint64_t gen)
{
	if (code == FL_UNAUTHENTICATED) {
		session_token_refused(r->session, gen);
		r->refused_gen = gen;
		if (relay_condition(r, code))
			log_info("admin requests: token refused (%s); waiting "
			    "for the site to register again", why);
		return RELAY_POLL_MS;
	}
	if (code == FL_UNIMPLEMENTED) {
		if (relay_condition(r, code))
			log_info("admin requests: the server does not relay "
			    "them (%s); asking every %d s", why,
			    RELAY_IDLE_MS / 1000);
		return RELAY_IDLE_MS;
	}
	if (relay_condition(r, code))
		log_warnx("admin requests: Retrieve: %s: %s; asking every "
		    "%d s", code == -1 ? "failed" : session_code_name(code),
		    why, RELAY_RETRY_MS / 1000);
	return RELAY_RETRY_MS;
}

/* relay_poll - one Retrieve and its requests; the wait before the next */
static int
relay_poll(struct relay *r)
{
	Admin__Client		 client = ADMIN__CLIENT__INIT;
	struct grpc_reply	 reply;
	char			 token[SESSION_TOKEN_MAX + 1], why[256];
	uint64_t		 gen;
	int			 code, next = RELAY_POLL_MS;

	/* Not registered yet, quitting, or waiting for a new token. */
	if (r->done || session_token_copy(r->session, token, &gen) == -1)
		return RELAY_POLL_MS;
	if (gen == r->refused_gen) {
		explicit_bzero(token, sizeof(token));
		return RELAY_POLL_MS;
	}
	client.client_name = token;
	code = relay_call(r, GRPC_CLIENT_RETRIEVE, token, &client.base,
	    &reply, why, sizeof(why));
	if (code == FL_OK)
		relay_messages(r, token, &reply);
	else
		next = relay_trouble(r, code, why, gen);
	grpc_client_reply_free(&reply);
	explicit_bzero(token, sizeof(token));
	return next;
}

/* relay_wait - ms milliseconds, or less if told to stop; 1 to stop */
static int
relay_wait(struct relay *r, int ms)
{
	struct timespec	 deadline;
	int		 stop;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_nsec -= 1000000000L;
		deadline.tv_sec++;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->stop && pthread_cond_timedwait(&r->cond, &r->lock,
	    &deadline) != ETIMEDOUT)
		;
	stop = r->stop;
	pthread_mutex_unlock(&r->lock);
	return stop;
}

static void *
relay_loop(void *arg)
{
	struct relay	*r = arg;

	while (!relay_wait(r, relay_poll(r)))
		;
	return NULL;
}

int
relay_start(struct relay *r, struct session *s,
    const struct topic_site *site)
{
	pthread_condattr_t	 attr;

	memset(r, 0, sizeof(*r));
	r->session = s;
	r->site = *site;
	r->condition = RELAY_UNSET;
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &attr);
	pthread_condattr_destroy(&attr);
	if ((errno = pthread_create(&r->thread, NULL, relay_loop, r)) != 0) {
		pthread_cond_destroy(&r->cond);
		pthread_mutex_destroy(&r->lock);
		return -1;
	}
	r->running = 1;
	return 0;
}

void
relay_stop(struct relay *r)
{
	if (!r->running)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	r->running = 0;
}
