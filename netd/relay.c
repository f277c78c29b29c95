/*
 * relay - netd's thread on the ZeroMQ side.
 *
 * grpc's completion queue has no file descriptor, so it cannot be polled
 * together with ZeroMQ, and a blocking round trip in the completion-queue
 * thread would queue every site behind one slow request. This thread
 * owns both DEALER sockets; the completion-queue thread hands it calls
 * through a locked queue and wakes it with an eventfd.
 *
 * Every request gets an id and waits in the pending list, in arrival
 * order, until the reply with its id comes back on the link it went out
 * on. The links queue nothing while their daemon is away, so a request
 * waits unsent for a short while for the daemon to connect ("is not
 * running"), and once sent for the full timeout ("did not answer in
 * time"). Late replies are dropped.
 *
 * ZeroMQ reconnects a DEALER by itself when its peer restarts, but gives
 * the connection up for good after a protocol error, such as a message
 * over ZMQ_MAXMSGSIZE. So a monitor watches each link, and a link that
 * drops is closed and made again; the requests it carried are answered.
 */
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/random.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "admin_port.h"
#include "grpc_server.h"
#include "ipc.h"
#include "log.h"
#include "relay.h"
#include "status.h"

/* Below ZeroMQ's send high-water mark of 1000, so a send never waits. */
#define RELAY_PENDING_MAX	512
/* How long an unsent request waits for its daemon to connect. */
#define RELAY_CONNECT_WAIT_MS	10000
/* Replies read per link before the other link gets a turn. */
#define RELAY_RECV_BATCH	64

struct relay_pending {
	TAILQ_ENTRY(relay_pending)	 entry;
	struct relay_request		 req;
	uint64_t			 id;
	int64_t				 since;	/* ms, monotonic */
	int				 sent;
};
TAILQ_HEAD(relay_list, relay_pending);

static const char *const relay_names[RELAY_NDAEMONS] = { "aggd", "admind" };
static const enum ipc_socket relay_sockets[RELAY_NDAEMONS] = {
	IPC_TRAINING, IPC_CONSOLE
};

static struct {
	pthread_mutex_t		 lock;
	struct relay_list	 incoming;	/* under lock */
	size_t			 inflight;	/* under lock */
	int			 running;	/* under lock */
	int			 stopping;	/* under lock */

	pthread_t		 thread;
	int			 wake;		/* eventfd */
	void			*ctx;
	const char		*rundir;
	size_t			 max_payload;
	struct ipc_link		 links[RELAY_NDAEMONS];
	void			*monitors[RELAY_NDAEMONS];
	unsigned int		 generation;	/* monitor endpoint names */
	struct relay_list	 pending;	/* relay thread only */
	uint64_t		 next_id;
	int64_t			 timeout_ms;
	int64_t			 connect_ms;
} relay = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.incoming = TAILQ_HEAD_INITIALIZER(relay.incoming),
	.pending = TAILQ_HEAD_INITIALIZER(relay.pending),
	.wake = -1,
};

static void	*relay_main(void *);

static int64_t
relay_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* relay_link_open - connect to daemon d and watch the connection */
static int
relay_link_open(enum relay_daemon d)
{
	char	 endpoint[64];
	int	 linger = 0;

	if (ipc_connect_immediate(&relay.links[d], relay.ctx, relay.rundir,
	    relay_sockets[d], relay.max_payload) == -1)
		return -1;
	snprintf(endpoint, sizeof(endpoint), "inproc://relay-%s-%u",
	    relay_names[d], relay.generation++);
	if (zmq_socket_monitor(relay.links[d].sock, endpoint,
	    ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) == -1 ||
	    (relay.monitors[d] = zmq_socket(relay.ctx, ZMQ_PAIR)) == NULL ||
	    zmq_setsockopt(relay.monitors[d], ZMQ_LINGER, &linger,
	    sizeof(linger)) == -1 ||
	    zmq_connect(relay.monitors[d], endpoint) == -1) {
		log_warnx("monitor of the link to %s: %s", relay_names[d],
		    zmq_strerror(errno));
		return -1;
	}
	return 0;
}

static void
relay_link_close(enum relay_daemon d)
{
	if (relay.monitors[d] != NULL) {
		zmq_socket_monitor(relay.links[d].sock, NULL, 0);
		zmq_close(relay.monitors[d]);
		relay.monitors[d] = NULL;
	}
	ipc_close(&relay.links[d]);
}

int
relay_start(const char *rundir, size_t max_payload, int timeout)
{
	int	 d;

	relay.timeout_ms = (int64_t)timeout * 1000;
	relay.connect_ms = relay.timeout_ms < RELAY_CONNECT_WAIT_MS ?
	    relay.timeout_ms : RELAY_CONNECT_WAIT_MS;
	/* Ids from an earlier netd must not match this one's. */
	if (getrandom(&relay.next_id, sizeof(relay.next_id), 0) !=
	    sizeof(relay.next_id))
		relay.next_id = (uint64_t)time(NULL) << 20;

	if ((relay.ctx = zmq_ctx_new()) == NULL) {
		log_warnx("zmq_ctx_new: %s", zmq_strerror(errno));
		return -1;
	}
	relay.rundir = rundir;
	relay.max_payload = max_payload;
	for (d = 0; d < RELAY_NDAEMONS; d++)
		if (relay_link_open(d) == -1)
			return -1;
	if ((relay.wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("eventfd");
		return -1;
	}
	relay.running = 1;
	if ((errno = pthread_create(&relay.thread, NULL, relay_main,
	    NULL)) != 0) {
		log_warn("pthread_create");
		relay.running = 0;
		return -1;
	}
	return 0;
}

/* relay_reply_to - answer the request on the port it came from */
static void
relay_reply_to(const struct relay_request *req, int status,
    const char *message, zmq_msg_t *payload)
{
	if (req->conn != NULL)
		admin_port_reply(req->conn, status, message, payload);
	else
		gsrv_call_reply(req->call, status, message, payload);
}

/* relay_wake - tell the relay thread there is news */
static void
relay_wake(void)
{
	uint64_t	 one = 1;

	if (write(relay.wake, &one, sizeof(one)) != sizeof(one) &&
	    errno != EAGAIN)
		log_warn("%s", __func__);
}

void
relay_submit(const struct relay_request *req)
{
	struct relay_pending	*p;
	const char		*refusal = NULL;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("%s", __func__);
		relay_reply_to(req, FL_UNAVAILABLE, "netd is out of memory",
		    NULL);
		return;
	}
	p->req = *req;
	p->since = relay_now();

	pthread_mutex_lock(&relay.lock);
	if (!relay.running || relay.stopping)
		refusal = "netd is shutting down";
	else if (relay.inflight >= RELAY_PENDING_MAX)
		refusal = "netd is busy";
	else {
		TAILQ_INSERT_TAIL(&relay.incoming, p, entry);
		relay.inflight++;
	}
	pthread_mutex_unlock(&relay.lock);

	if (refusal != NULL) {
		log_warnx("%s from %s (%s): refused, %s", req->method,
		    req->peer->address, req->peer->common_name, refusal);
		free(p);
		relay_reply_to(req, FL_UNAVAILABLE, refusal, NULL);
		return;
	}
	relay_wake();
}

/* relay_answer - the request is over: answer its call and forget it */
static void
relay_answer(struct relay_pending *p, int status, const char *message,
    zmq_msg_t *payload)
{
	TAILQ_REMOVE(&relay.pending, p, entry);
	pthread_mutex_lock(&relay.lock);
	relay.inflight--;
	pthread_mutex_unlock(&relay.lock);

	log_debug("%s from %s (%s): %s answered status %d in %" PRId64 " ms",
	    p->req.method, p->req.peer->address, p->req.peer->common_name,
	    relay_names[p->req.daemon], status, relay_now() - p->since);
	relay_reply_to(&p->req, status, message, payload);
	free(p);
}

/* relay_refuse - answer UNAVAILABLE, logged once, here */
static void
relay_refuse(struct relay_pending *p, const char *why)
{
	char	 message[64];

	snprintf(message, sizeof(message), "%s %s",
	    relay_names[p->req.daemon], why);
	log_warnx("%s from %s (%s): %s", p->req.method, p->req.peer->address,
	    p->req.peer->common_name, message);
	relay_answer(p, FL_UNAVAILABLE, message, NULL);
}

/* relay_take - move new requests to the pending list; 1 when stopping */
static int
relay_take(void)
{
	struct relay_pending	*p;
	int			 stopping;

	pthread_mutex_lock(&relay.lock);
	while ((p = TAILQ_FIRST(&relay.incoming)) != NULL) {
		TAILQ_REMOVE(&relay.incoming, p, entry);
		/* Zero is what an envelope without an id decodes to. */
		if (++relay.next_id == 0)
			relay.next_id = 1;
		p->id = relay.next_id;
		TAILQ_INSERT_TAIL(&relay.pending, p, entry);
	}
	stopping = relay.stopping;
	pthread_mutex_unlock(&relay.lock);
	return stopping;
}

/* relay_forward - send one request, its payload wrapped, not copied */
static int
relay_forward(struct relay_pending *p)
{
	Flipc__Envelope	 env = FLIPC__ENVELOPE__INIT;
	Flipc__Peer	 peer = FLIPC__PEER__INIT;
	const void	*data;
	void		*hint;
	size_t		 len;
	ipc_free_fn	*free_fn;

	peer.common_name = (char *)p->req.peer->common_name;
	peer.kind = p->req.peer->kind;
	peer.fingerprint = (char *)p->req.peer->fingerprint;
	peer.address = (char *)p->req.peer->address;
	env.request_id = p->id;
	env.kind = p->req.kind;
	env.peer = &peer;
	if (p->req.token != NULL)
		env.metadata_token = (char *)p->req.token;

	if (p->req.conn != NULL) {
		data = admin_port_payload(p->req.conn, &len, &hint);
		free_fn = admin_port_payload_free;
	} else {
		data = gsrv_call_payload(p->req.call, &len, &hint);
		free_fn = gsrv_payload_free;
	}
	if (data == NULL)
		return -1;
	return ipc_send(&relay.links[p->req.daemon], NULL, &env, data, len,
	    free_fn, hint);
}

/*
 * relay_send - the link's daemon is connected: send what waits for it.
 * A send that fails now means the daemon just went away.
 */
static void
relay_send(enum relay_daemon d)
{
	struct relay_pending	*p, *next;

	for (p = TAILQ_FIRST(&relay.pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->sent || p->req.daemon != d)
			continue;
		if (relay_forward(p) == -1) {
			relay_refuse(p, "is not running");
			continue;
		}
		p->sent = 1;
	}
}

/* relay_find - the sent request that a reply on link d answers */
static struct relay_pending *
relay_find(enum relay_daemon d, uint64_t id)
{
	struct relay_pending	*p;

	TAILQ_FOREACH(p, &relay.pending, entry)
		if (p->id == id && p->req.daemon == d && p->sent)
			return p;
	return NULL;
}

/* relay_reply - one message from a daemon, which must be a reply */
static void
relay_reply(enum relay_daemon d, struct ipc_msg *msg)
{
	const Flipc__Envelope	*env = msg->env;
	struct relay_pending	*p;
	int			 status = env->status;
	const char		*message = env->status_message;

	if (env->kind != FLIPC__KIND__REPLY) {
		log_warnx("%s sent kind %d, not a reply: dropped",
		    relay_names[d], env->kind);
		return;
	}
	if ((p = relay_find(d, env->request_id)) == NULL) {
		log_info("%s answered request %" PRIu64 " too late: dropped",
		    relay_names[d], env->request_id);
		return;
	}
	if (status < 0 || status > FL_UNAUTHENTICATED) {
		log_warnx("%s answered %s with status %d", relay_names[d],
		    p->req.method, status);
		status = FL_INTERNAL;
		message = "invalid status from the server";
	}
	relay_answer(p, status, message, &msg->payload);
}

/* relay_receive - read the replies waiting on link d */
static void
relay_receive(enum relay_daemon d)
{
	struct ipc_msg	 msg;
	int		 i, rv;

	for (i = 0; i < RELAY_RECV_BATCH; i++) {
		if ((rv = ipc_recv(&relay.links[d], &msg, ZMQ_DONTWAIT)) == 0)
			return;
		if (rv == 1) {
			relay_reply(d, &msg);
			ipc_msg_free(&msg);
		}
	}
}

/* relay_link_lost - the link to d dropped: answer its requests, remake it */
static void
relay_link_lost(enum relay_daemon d)
{
	struct relay_pending	*p, *next;

	log_warnx("lost the link to %s", relay_names[d]);
	for (p = TAILQ_FIRST(&relay.pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->sent && p->req.daemon == d)
			relay_refuse(p, "went away before answering");
	}
	relay_link_close(d);
	if (relay_link_open(d) == -1)
		fatalx("cannot link to %s again", relay_names[d]);
}

/* relay_monitor - events of link d: a 6-byte event, then an endpoint */
static void
relay_monitor(enum relay_daemon d)
{
	unsigned char	 event[6];
	char		 endpoint[IPC_PATH_MAX + 16];
	uint16_t	 id;
	int		 n, lost = 0;

	while ((n = zmq_recv(relay.monitors[d], event, sizeof(event),
	    ZMQ_DONTWAIT)) != -1) {
		if (zmq_recv(relay.monitors[d], endpoint, sizeof(endpoint),
		    0) == -1 || n != sizeof(event))
			continue;
		memcpy(&id, event, sizeof(id));
		if (id == ZMQ_EVENT_CONNECTED)
			log_info("linked to %s", relay_names[d]);
		else if (id == ZMQ_EVENT_DISCONNECTED)
			lost = 1;
	}
	if (lost)
		relay_link_lost(d);
}

/* relay_deadline - when a request stops waiting */
static int64_t
relay_deadline(const struct relay_pending *p)
{
	return p->since + (p->sent ? relay.timeout_ms : relay.connect_ms);
}

/* relay_expire - answer what waited too long */
static void
relay_expire(void)
{
	struct relay_pending	*p, *next;
	int64_t			 now = relay_now();

	for (p = TAILQ_FIRST(&relay.pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (now < relay_deadline(p))
			continue;
		relay_refuse(p, p->sent ? "did not answer in time" :
		    "is not running");
	}
}

/* relay_poll_timeout - ms until the next deadline, -1 for none */
static long
relay_poll_timeout(void)
{
	struct relay_pending	*p;
	int64_t			 first = INT64_MAX, now = relay_now();

	TAILQ_FOREACH(p, &relay.pending, entry)
		if (relay_deadline(p) < first)
			first = relay_deadline(p);
	if (first == INT64_MAX)
		return -1;
	return first <= now ? 0 : (long)(first - now);
}

/* relay_unsent - 1 if a request waits for daemon d to connect */
static int
relay_unsent(enum relay_daemon d)
{
	struct relay_pending	*p;

	TAILQ_FOREACH(p, &relay.pending, entry)
		if (!p->sent && p->req.daemon == d)
			return 1;
	return 0;
}

/* relay_wait - one zmq_poll over the eventfd and both links */
static void
relay_wait(void)
{
	zmq_pollitem_t	 items[1 + 2 * RELAY_NDAEMONS];
	uint64_t	 count;
	int		 d;

	memset(items, 0, sizeof(items));
	items[0].fd = relay.wake;
	items[0].events = ZMQ_POLLIN;
	for (d = 0; d < RELAY_NDAEMONS; d++) {
		items[1 + d].socket = relay.links[d].sock;
		items[1 + d].events = ZMQ_POLLIN |
		    (relay_unsent(d) ? ZMQ_POLLOUT : 0);
		items[1 + RELAY_NDAEMONS + d].socket = relay.monitors[d];
		items[1 + RELAY_NDAEMONS + d].events = ZMQ_POLLIN;
	}
	if (zmq_poll(items, 1 + 2 * RELAY_NDAEMONS, relay_poll_timeout()) ==
	    -1) {
		if (errno == EINTR)
			return;
		fatalx("zmq_poll: %s", zmq_strerror(errno));
	}

	if (items[0].revents & ZMQ_POLLIN)
		(void)!read(relay.wake, &count, sizeof(count));
	for (d = 0; d < RELAY_NDAEMONS; d++) {
		if (items[1 + d].revents & ZMQ_POLLIN)
			relay_receive(d);
		if (items[1 + d].revents & ZMQ_POLLOUT)
			relay_send(d);
		if (items[1 + RELAY_NDAEMONS + d].revents & ZMQ_POLLIN)
			relay_monitor(d);
	}
}

static void *
relay_main(void *arg)
{
	struct relay_pending	*p;
	int			 d;

	(void)arg;
	while (!relay_take()) {
		relay_wait();
		relay_expire();
	}

	while ((p = TAILQ_FIRST(&relay.pending)) != NULL) {
		log_info("%s from %s (%s): netd is shutting down",
		    p->req.method, p->req.peer->address,
		    p->req.peer->common_name);
		relay_answer(p, FL_UNAVAILABLE, "netd is shutting down", NULL);
	}
	for (d = 0; d < RELAY_NDAEMONS; d++)
		relay_link_close(d);
	return NULL;
}

void
relay_stop(void)
{
	int	 running;

	pthread_mutex_lock(&relay.lock);
	running = relay.running;
	relay.stopping = 1;
	pthread_mutex_unlock(&relay.lock);

	if (running) {
		relay_wake();
		if ((errno = pthread_join(relay.thread, NULL)) != 0)
			log_warn("pthread_join");
	}
	if (relay.ctx != NULL)
		zmq_ctx_term(relay.ctx);
	relay.ctx = NULL;
	if (relay.wake != -1)
		close(relay.wake);
	relay.wake = -1;
}
