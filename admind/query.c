/*
 * query - asks aggd for the whole view with SERVER_STATUS.
 *
 * Notices only tell what changed; admind needs a starting point. It asks
 * at start, whether aggd is up yet or not, and again each time the link
 * to aggd connects anew: a restarted aggd has sent notices admind never
 * saw, and notices sent while admind was away are lost. The link queues
 * nothing while aggd is away (ipc_connect_immediate), so a request only
 * leaves when aggd is there to read it; one that goes unanswered is sent
 * again after QUERY_RETRY seconds.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zmq.h>

#include "admind.h"
#include "log.h"
#include "status.h"

#define QUERY_MONITOR		"inproc://admind-aggd-monitor"
/* Seconds before a request is sent again. */
#define QUERY_RETRY		2.0
/* Seconds before asking again after aggd refused or answered nonsense. */
#define QUERY_BACKOFF		5.0
/* Seconds between looks at whether the link has come up. */
#define QUERY_POLL		0.1

int
query_init(struct query *q, void *ctx, struct ipc_link *aggd)
{
	memset(q, 0, sizeof(*q));
	q->wanted = 1;
	if (zmq_socket_monitor(aggd->sock, QUERY_MONITOR,
	    ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) == -1) {
		log_warnx("monitor of the link to aggd: %s",
		    zmq_strerror(errno));
		return -1;
	}
	if ((q->monitor = zmq_socket(ctx, ZMQ_PAIR)) == NULL ||
	    zmq_connect(q->monitor, QUERY_MONITOR) == -1) {
		log_warnx("monitor socket: %s", zmq_strerror(errno));
		query_close(q);
		return -1;
	}
	return 0;
}

void
query_close(struct query *q)
{
	int	 linger = 0;

	if (q->monitor == NULL)
		return;
	zmq_setsockopt(q->monitor, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_close(q->monitor);
	q->monitor = NULL;
}

/* query_event - one monitor event: two frames, the event and an address */
static int
query_event(struct query *q, uint16_t *event)
{
	zmq_msg_t	 frame;
	int		 more;

	zmq_msg_init(&frame);
	if (zmq_msg_recv(&frame, q->monitor, ZMQ_DONTWAIT) == -1) {
		zmq_msg_close(&frame);
		return 0;
	}
	more = zmq_msg_more(&frame);
	if (zmq_msg_size(&frame) >= sizeof(*event))
		memcpy(event, zmq_msg_data(&frame), sizeof(*event));
	else
		*event = 0;
	zmq_msg_close(&frame);
	while (more) {
		zmq_msg_init(&frame);
		if (zmq_msg_recv(&frame, q->monitor, 0) == -1)
			more = 0;
		else
			more = zmq_msg_more(&frame);
		zmq_msg_close(&frame);
	}
	return 1;
}

void
query_monitor(struct query *q, double now)
{
	uint16_t	 event;

	while (query_event(q, &event)) {
		if (event == ZMQ_EVENT_CONNECTED) {
			log_info("connected to aggd");
			q->connected = 1;
			q->wanted = 1;
			q->sent_id = 0;
			q->next_try = now;
		} else if (event == ZMQ_EVENT_DISCONNECTED && q->connected) {
			log_warnx("lost the link to aggd; asking for its "
			    "status when it is back");
			q->connected = 0;
			q->sent_id = 0;
		}
	}
}

/* query_writable - aggd is connected: the link would take a message */
static int
query_writable(struct ipc_link *aggd)
{
	int	 events = 0;
	size_t	 len = sizeof(events);

	if (zmq_getsockopt(aggd->sock, ZMQ_EVENTS, &events, &len) == -1)
		return 0;
	return (events & ZMQ_POLLOUT) != 0;
}

void
query_tick(struct query *q, struct ipc_link *aggd, double now)
{
	Flipc__Envelope	 env = FLIPC__ENVELOPE__INIT;
	static const char payload[] = "{}";

	if (!q->wanted || now < q->next_try)
		return;
	if (!query_writable(aggd)) {
		q->next_try = now + QUERY_POLL;
		return;
	}
	env.request_id = ++q->next_id;
	env.kind = FLIPC__KIND__SERVER_STATUS;
	q->next_try = now + QUERY_RETRY;
	if (ipc_send(aggd, NULL, &env, payload, sizeof(payload) - 1, NULL,
	    NULL) == -1)
		return;
	q->sent_id = env.request_id;
	log_debug("asked aggd for its status (request %llu)",
	    (unsigned long long)env.request_id);
}

double
query_wait(const struct query *q, double now)
{
	if (!q->wanted)
		return -1;
	return q->next_try > now ? q->next_try - now : 0;
}

/* query_refused - log a refusal once, not at every retry */
static void
query_refused(struct query *q, const char *why, double now)
{
	if (strcmp(q->refusal, why) != 0) {
		log_warnx("aggd did not give its status: %s; asking again "
		    "every %.0f s", why, QUERY_BACKOFF);
		snprintf(q->refusal, sizeof(q->refusal), "%s", why);
	}
	q->next_try = now + QUERY_BACKOFF;
}

void
query_reply(struct query *q, struct status *st, struct ipc_msg *msg,
    double now, time_t wall)
{
	const Flipc__Envelope	*env = msg->env;
	const void		*payload;
	size_t			 len;

	if (env->request_id == 0 || env->request_id > q->sent_id ||
	    env->request_id <= q->answered_id) {
		log_debug("dropped a stale reply from aggd (request %llu)",
		    (unsigned long long)env->request_id);
		return;
	}
	q->answered_id = env->request_id;
	if (env->status != FL_OK) {
		query_refused(q, env->status_message[0] != '\0' ?
		    env->status_message : "refused", now);
		return;
	}
	payload = ipc_payload(msg, &len);
	if (status_server_status(st, payload, len, wall) == -1) {
		query_refused(q, "a reply admind cannot read", now);
		return;
	}
	log_info("have aggd's status: run %lld, round %lld, %zu sites",
	    (long long)st->run, (long long)st->round, st->nsites);
	q->refusal[0] = '\0';
	q->wanted = 0;
}
