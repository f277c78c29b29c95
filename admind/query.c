/*
 * query - admind's requests to aggd, answered asynchronously.
 *
 * Each request gets an id, a deadline and a continuation; the loop
 * never waits for aggd. A reply is matched by its id; a request that
 * outlives its deadline, or that was in flight when the link dropped, is
 * answered here with FL_UNAVAILABLE. The link queues nothing while aggd
 * is away (ipc_connect_immediate), so a request either leaves at once
 * or is refused at once.
 *
 * The operator's view is one user of this layer: notices only tell what
 * changed, so admind asks for aggd's whole status at start and again
 * each time the link connects anew (a restarted aggd has sent notices
 * admind never saw), retrying while aggd is away or refuses.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "admind.h"
#include "log.h"
#include "status.h"

#define QUERY_MONITOR		"inproc://admind-aggd-monitor"
/* Seconds before an unanswered status request is made again. */
#define QUERY_RETRY		2.0
/* Seconds before asking again after aggd refused or answered nonsense. */
#define QUERY_BACKOFF		5.0
/* Seconds between looks at whether the link has come up. */
#define QUERY_POLL		0.1
/* Requests in flight at once: each is a command or a site's poll. */
#define QUERY_PENDING_MAX	4096

int
query_init(struct query *q, void *ctx, struct ipc_link *aggd,
    struct status *st)
{
	memset(q, 0, sizeof(*q));
	TAILQ_INIT(&q->pending);
	q->aggd = aggd;
	q->status = st;
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
	struct query_request	*qr;
	int			 linger = 0;

	while ((qr = TAILQ_FIRST(&q->pending)) != NULL) {
		TAILQ_REMOVE(&q->pending, qr, qr_entry);
		free(qr);
	}
	q->npending = 0;
	if (q->monitor == NULL)
		return;
	/* Stop the events first: one the I/O thread sends while the PAIR
	 * closes is never freed (LeakSanitizer sees it at exit). */
	zmq_socket_monitor(q->aggd->sock, NULL, 0);
	zmq_setsockopt(q->monitor, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_close(q->monitor);
	q->monitor = NULL;
}

/* query_answer - take qr off the list, then call it back */
static void
query_answer(struct query *q, struct query_request *qr, int status,
    const char *message, const void *payload, size_t len)
{
	query_fn	*fn = qr->qr_fn;
	void		*arg = qr->qr_arg;

	TAILQ_REMOVE(&q->pending, qr, qr_entry);
	q->npending--;
	free(qr);
	fn(arg, status, message, payload, len);
}

/* query_fail_all - the link dropped: nothing in flight will come back */
static void
query_fail_all(struct query *q, const char *why)
{
	struct query_request	*qr;

	while ((qr = TAILQ_FIRST(&q->pending)) != NULL)
		query_answer(q, qr, FL_UNAVAILABLE, why, NULL, 0);
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
			q->next_try = now;
		} else if (event == ZMQ_EVENT_DISCONNECTED && q->connected) {
			log_warnx("lost the link to aggd; asking for its "
			    "status when it is back");
			q->connected = 0;
			query_fail_all(q, "aggd went away before it answered");
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

int
query_ask(struct query *q, Flipc__Kind kind, const char *json,
    double timeout, query_fn *fn, void *arg, char err[STATUS_ERR_MAX])
{
	Flipc__Envelope		 env = FLIPC__ENVELOPE__INIT;
	struct query_request	*qr;

	if (!query_writable(q->aggd)) {
		snprintf(err, STATUS_ERR_MAX, "aggd is not running");
		return -1;
	}
	if (q->npending >= QUERY_PENDING_MAX) {
		snprintf(err, STATUS_ERR_MAX, "too many requests to aggd "
		    "in flight");
		return -1;
	}
	if ((qr = calloc(1, sizeof(*qr))) == NULL) {
		snprintf(err, STATUS_ERR_MAX, "out of memory");
		return -1;
	}
	env.request_id = ++q->next_id;
	env.kind = kind;
	if (ipc_send(q->aggd, NULL, &env, json, strlen(json), NULL,
	    NULL) == -1) {
		free(qr);
		snprintf(err, STATUS_ERR_MAX, "aggd is not running");
		return -1;
	}
	qr->qr_id = env.request_id;
	qr->qr_deadline = admind_now() + timeout;
	qr->qr_fn = fn;
	qr->qr_arg = arg;
	TAILQ_INSERT_TAIL(&q->pending, qr, qr_entry);
	q->npending++;
	return 0;
}

void
query_cancel(struct query *q, void *arg)
{
	struct query_request	*qr, *next;

	for (qr = TAILQ_FIRST(&q->pending); qr != NULL; qr = next) {
		next = TAILQ_NEXT(qr, qr_entry);
		if (qr->qr_arg != arg)
			continue;
		TAILQ_REMOVE(&q->pending, qr, qr_entry);
		q->npending--;
		free(qr);
	}
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

/* query_status_done - aggd's whole status, for the view */
static void
query_status_done(void *arg, int status, const char *message,
    const void *payload, size_t len)
{
	struct query	*q = arg;
	double		 now = admind_now();

	q->asking = 0;
	if (status == FL_UNAVAILABLE) {
		q->next_try = now;
		return;
	}
	if (status != FL_OK) {
		query_refused(q, message[0] != '\0' ? message : "refused",
		    now);
		return;
	}
	if (status_server_status(q->status, payload, len,
	    time(NULL)) == -1) {
		query_refused(q, "a reply admind cannot read", now);
		return;
	}
	log_info("have aggd's status: run %lld, round %lld, %zu sites",
	    (long long)q->status->run, (long long)q->status->round,
	    q->status->nsites);
	q->refusal[0] = '\0';
	q->wanted = 0;
}

/* query_refresh - ask for the whole status when it is wanted and due */
static void
query_refresh(struct query *q, double now)
{
	char	 err[STATUS_ERR_MAX];

	if (!q->wanted || q->asking || now < q->next_try)
		return;
	if (query_ask(q, FLIPC__KIND__SERVER_STATUS, "{}", QUERY_RETRY,
	    query_status_done, q, err) == -1) {
		q->next_try = now + QUERY_POLL;
		return;
	}
	q->asking = 1;
	log_debug("asked aggd for its status");
}

void
query_tick(struct query *q, double now)
{
	struct query_request	*qr;

	for (;;) {
		TAILQ_FOREACH(qr, &q->pending, qr_entry)
			if (qr->qr_deadline <= now)
				break;
		if (qr == NULL)
			break;
		log_warnx("aggd did not answer request %llu in time",
		    (unsigned long long)qr->qr_id);
		query_answer(q, qr, FL_UNAVAILABLE, "aggd did not answer in "
		    "time", NULL, 0);
	}
	query_refresh(q, now);
}

double
query_wait(const struct query *q, double now)
{
	const struct query_request	*qr;
	double				 wait = -1;

	if (q->wanted && !q->asking)
		wait = q->next_try > now ? q->next_try - now : 0;
	TAILQ_FOREACH(qr, &q->pending, qr_entry)
		if (wait < 0 || qr->qr_deadline - now < wait)
			wait = qr->qr_deadline > now ? qr->qr_deadline - now :
			    0;
	return wait;
}

void
query_reply(struct query *q, struct ipc_msg *msg)
{
	const Flipc__Envelope	*env = msg->env;
	struct query_request	*qr;
	const void		*payload;
	size_t			 len;

	TAILQ_FOREACH(qr, &q->pending, qr_entry)
		if (qr->qr_id == env->request_id)
			break;
	if (qr == NULL) {
		log_debug("dropped a late reply from aggd (request %llu)",
		    (unsigned long long)env->request_id);
		return;
	}
	payload = ipc_payload(msg, &len);
	query_answer(q, qr, env->status, env->status_message != NULL ?
	    env->status_message : "", payload, len);
}
