/*
 * admin_port - the admin console's port: one thread, poll(2), OpenSSL.
 *
 * Each connection goes through these states, in order:
 *
 *	HANDSHAKE	TLS; the verify callback admits admins only
 *	READING		the transmission, up to 0x04 or the size cap
 *	RELAYED		the relay thread holds it until admind answers or
 *			the deadline passes; it is not polled meanwhile
 *	WRITING		admind's reply (or an error item), then 0x04
 *	CLOSING		TLS close_notify
 *	LINGER		what the client still sends is read and dropped
 *			for a moment, so that closing does not reset the
 *			connection before the client has read the answer
 *
 * Every state but RELAYED has a deadline. grpc 1.51 stops accepting for
 * good under a flood of connections (CVE-2023-4785); this port keeps a
 * fixed number of them, and a newcomer over that number displaces the
 * oldest connection that has not finished its handshake, preferring one
 * that has not sent a byte: silent connections cannot keep an admin
 * out. Only when every connection belongs to an admin is a newcomer
 * closed at once.
 */
#include <sys/queue.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "admin_port.h"
#include "admin_tls.h"
#include "log.h"
#include "peer.h"
#include "relay.h"
#include "status.h"

#define ADMIN_PORT_EOT		0x04	/* ends a transmission */
#define ADMIN_PORT_ETX		0x03	/* ends a document */
/* The first read buffer; it doubles up to the cap. */
#define ADMIN_PORT_BUF_MIN	16384
/* How long a closed connection's leftovers are read and dropped. */
#define ADMIN_PORT_LINGER_MS	2000
/* Accepts per wakeup, so that a flood cannot starve the others. */
#define ADMIN_PORT_ACCEPT_BATCH	64
/* Out of descriptors: how long to stop accepting. */
#define ADMIN_PORT_PAUSE_MS	100
/* Refused connections are counted, and told at most this often. */
#define ADMIN_PORT_REPORT_MS	10000
/* Status messages from admind are cut to this length. */
#define ADMIN_PORT_STATUS_MAX	512

enum admin_state {
	ADMIN_HANDSHAKE,
	ADMIN_READING,
	ADMIN_RELAYED,
	ADMIN_WRITING,
	ADMIN_CLOSING,
	ADMIN_LINGER
};

/* The transmission; its size travels with it, to be wiped when freed. */
struct admin_buf {
	size_t		 cap;
	unsigned char	 bytes[];
};

struct admin_conn {
	TAILQ_ENTRY(admin_conn)	 entry;		/* admin_port.conns */
	TAILQ_ENTRY(admin_conn)	 answered;	/* under admin_port.lock */
	enum admin_state	 state;
	int			 fd;
	SSL			*ssl;
	short			 events;	/* the next TLS step's */
	int			 heard;		/* a byte came in handshake */
	int			 refused;	/* verify callback logged */
	int			 relayed;	/* admind answers, not netd */
	int64_t			 deadline;	/* ms, monotonic */
	char			 address[PEER_ADDRESS_MAX + 1];
	struct peer		 peer;		/* once verified */

	struct admin_buf	*in;		/* NULL once handed over */
	size_t			 inlen;
	size_t			 received;	/* for the log */

	int			 status;	/* the answer */
	char			*message;
	zmq_msg_t		 reply;
	char			*doc;		/* or netd's own error item */
	const unsigned char	*out[2];	/* the answer, then 0x04 */
	size_t			 outlen[2];
	size_t			 sent;
	int			 piece;
};
TAILQ_HEAD(admin_list, admin_conn);

static const unsigned char	admin_port_eot = ADMIN_PORT_EOT;

static struct {
	pthread_mutex_t		 lock;
	struct admin_list	 answered;	/* under lock */
	int			 stopping;	/* under lock */

	pthread_t		 thread;
	int			 running;
	int			 wake;		/* eventfd */
	int			 listener;
	SSL_CTX			*ctx;
	char *const		*cns;
	size_t			 ncns;
	size_t			 max_transmission;
	int64_t			 idle_ms;

	struct admin_list	 conns;		/* the port's thread only */
	size_t			 nconns;
	int64_t			 paused_until;
	unsigned int		 displaced;	/* since the last report */
	unsigned int		 turned_away;
	int64_t			 reported;
} admin_port = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.answered = TAILQ_HEAD_INITIALIZER(admin_port.answered),
	.conns = TAILQ_HEAD_INITIALIZER(admin_port.conns),
	.wake = -1,
	.listener = -1,
};

static void	*admin_port_main(void *);
static void	 admin_conn_read(struct admin_conn *);
static void	 admin_conn_write(struct admin_conn *);
static void	 admin_conn_close(struct admin_conn *);

static int64_t
admin_port_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* admin_port_admitted - the CN is one of the accepted admins, if listed */
static int
admin_port_admitted(const char *cn)
{
	size_t	 i;

	if (admin_port.ncns == 0)
		return 1;
	for (i = 0; i < admin_port.ncns; i++)
		if (strcmp(admin_port.cns[i], cn) == 0)
			return 1;
	return 0;
}

/*
 * admin_port_verify - after OpenSSL verified the chain against the
 * project's root, the client's own certificate must be an admin's.
 * Refusing here fails the handshake, as for a certificate of another CA.
 */
static int
admin_port_verify(int ok, X509_STORE_CTX *store)
{
	SSL			*ssl;
	struct admin_conn	*c;

	if (!ok || X509_STORE_CTX_get_error_depth(store) != 0)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(store,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	c = SSL_get_app_data(ssl);
	c->refused = 1;
	if (peer_identify_cert(&c->peer, X509_STORE_CTX_get_current_cert(store),
	    c->address) == -1)
		goto refuse;
	if (c->peer.kind != FLIPC__PEER_KIND__PEER_ADMIN) {
		log_warnx("admin port: %s (%s): refused, certificate kind %s",
		    c->peer.address, c->peer.common_name,
		    peer_kind_name(c->peer.kind));
		goto refuse;
	}
	if (!admin_port_admitted(c->peer.common_name)) {
		log_warnx("admin port: %s (%s): refused, not in admin_cns",
		    c->peer.address, c->peer.common_name);
		goto refuse;
	}
	c->refused = 0;
	return 1;
refuse:
	X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

/*
 * admin_port_sockaddr - where to listen: an address literal as it is
 * (IPv6 with or without brackets), a name on every interface, as the
 * training port does.
 */
static int
admin_port_sockaddr(const char *host, int port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	char			 v6[64];
	size_t			 hlen = strlen(host);

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 1;
	}
	if (hlen > 2 && hlen - 2 < sizeof(v6) && host[0] == '[' &&
	    host[hlen - 1] == ']') {
		memcpy(v6, host + 1, hlen - 2);
		v6[hlen - 2] = '\0';
		host = v6;
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	*len = sizeof(*sin6);
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1)
		return 1;
	sin6->sin6_addr = in6addr_any;
	return 0;
}

/* admin_port_listen - a non-blocking listening socket; -1 after logging */
static int
admin_port_listen(const char *host, int port)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, literal, on = 1, off = 0;

	literal = admin_port_sockaddr(host, port, &ss, &len);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1 && !literal && errno == EAFNOSUPPORT) {
		/* No IPv6 here: every IPv4 interface, then. */
		admin_port_sockaddr("0.0.0.0", port, &ss, &len);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
	}
	if (fd == -1) {
		log_warn("admin port: socket");
		return -1;
	}
	/* A restart must not wait for the last connections' TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (ss.ss_family == AF_INET6 && !literal && setsockopt(fd,
	    IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) == -1) ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 128) == -1) {
		log_warn("admin port: cannot listen on %s port %d", host, port);
		close(fd);
		return -1;
	}
	return fd;
}

int
admin_port_start(const struct admin_port_config *conf)
{
	admin_port.cns = conf->cns;
	admin_port.ncns = conf->ncns;
	admin_port.max_transmission = conf->max_transmission;
	admin_port.idle_ms = (int64_t)conf->idle_timeout * 1000;
	if ((admin_port.ctx = admin_tls_context(conf->key_pem, conf->cert_pem,
	    conf->root_pem, admin_port_verify)) == NULL) {
		log_warnx("admin port: the server's TLS credentials are "
		    "unusable");
		return -1;
	}
	if ((admin_port.listener = admin_port_listen(conf->host,
	    conf->port)) == -1)
		return -1;
	if ((admin_port.wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("admin port: eventfd");
		return -1;
	}
	if ((errno = pthread_create(&admin_port.thread, NULL,
	    admin_port_main, NULL)) != 0) {
		log_warn("admin port: pthread_create");
		return -1;
	}
	admin_port.running = 1;
	return 0;
}

/* admin_port_wake - tell the port's thread there is news */
static void
admin_port_wake(void)
{
	uint64_t	 one = 1;

	if (write(admin_port.wake, &one, sizeof(one)) != sizeof(one) &&
	    errno != EAGAIN)
		log_warn("%s", __func__);
}

void
admin_port_stop(void)
{
	if (admin_port.running) {
		pthread_mutex_lock(&admin_port.lock);
		admin_port.stopping = 1;
		pthread_mutex_unlock(&admin_port.lock);
		admin_port_wake();
		if ((errno = pthread_join(admin_port.thread, NULL)) != 0)
			log_warn("pthread_join");
		admin_port.running = 0;
	}
	if (admin_port.listener != -1)
		close(admin_port.listener);
	if (admin_port.wake != -1)
		close(admin_port.wake);
	admin_port.listener = admin_port.wake = -1;
	SSL_CTX_free(admin_port.ctx);
	admin_port.ctx = NULL;
}

/* admin_buf_free - wipe and free a transmission: it may hold a password */
static void
admin_buf_free(struct admin_buf *buf)
{
	if (buf == NULL)
		return;
	explicit_bzero(buf->bytes, buf->cap);
	free(buf);
}

const void *
admin_port_payload(struct admin_conn *c, size_t *len, void **hint)
{
	struct admin_buf	*buf = c->in;

	c->in = NULL;
	*len = c->inlen;
	*hint = buf;
	return buf->bytes;
}

void
admin_port_payload_free(void *data, void *hint)
{
	(void)data;
	admin_buf_free(hint);
}

void
admin_port_reply(struct admin_conn *c, int status, const char *message,
    zmq_msg_t *payload)
{
	c->status = status;
	c->message = strndup(message != NULL ? message : "",
	    ADMIN_PORT_STATUS_MAX);
	if (status == FL_OK && payload != NULL)
		zmq_msg_move(&c->reply, payload);

	pthread_mutex_lock(&admin_port.lock);
	TAILQ_INSERT_TAIL(&admin_port.answered, c, answered);
	pthread_mutex_unlock(&admin_port.lock);
	admin_port_wake();
}

/* admin_conn_address - "ipv4:ADDR:PORT" or "ipv6:[ADDR]:PORT", as grpc */
static void
admin_conn_address(struct admin_conn *c, const struct sockaddr_storage *ss)
{
	char				*out = c->address;
	size_t				 size = sizeof(c->address);
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	char				 text[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)) != NULL)
		snprintf(out, size, "ipv4:%s:%u", text, ntohs(sin->sin_port));
	else if (ss->ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)) != NULL)
		snprintf(out, size, "ipv6:[%s]:%u", text,
		    ntohs(sin6->sin6_port));
	else
		snprintf(out, size, "unknown");
}

/* admin_conn_new - a connection just accepted, before its handshake */
static void
admin_conn_new(int fd, const struct sockaddr_storage *ss)
{
	struct admin_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ssl = SSL_new(admin_port.ctx)) == NULL ||
	    SSL_set_fd(c->ssl, fd) != 1) {
		log_warnx("admin port: out of memory for a connection");
		if (c != NULL)
			SSL_free(c->ssl);
		free(c);
		close(fd);
		ERR_clear_error();
		return;
	}
	SSL_set_app_data(c->ssl, c);
	SSL_set_accept_state(c->ssl);
	zmq_msg_init(&c->reply);
	c->fd = fd;
	c->state = ADMIN_HANDSHAKE;
	c->events = POLLIN;
	c->deadline = admin_port_now() + ADMIN_PORT_HANDSHAKE_MS;
	admin_conn_address(c, ss);
	TAILQ_INSERT_TAIL(&admin_port.conns, c, entry);
	admin_port.nconns++;
}

/* admin_conn_free - forget a connection that the relay does not hold */
static void
admin_conn_free(struct admin_conn *c)
{
	TAILQ_REMOVE(&admin_port.conns, c, entry);
	admin_port.nconns--;
	SSL_free(c->ssl);
	close(c->fd);
	admin_buf_free(c->in);
	free(c->message);
	free(c->doc);
	zmq_msg_close(&c->reply);
	free(c);
}

/* admin_conn_lost - why a TLS step failed, for the log */
static const char *
admin_conn_lost(int err, int sys_errno)
{
	unsigned long	 e = ERR_peek_last_error();
	const char	*why;

	if (err == SSL_ERROR_ZERO_RETURN)
		return "closed by the client";
	if (e != 0 && (why = ERR_reason_error_string(e)) != NULL)
		return why;
	if (err == SSL_ERROR_SYSCALL && sys_errno != 0)
		return strerror(sys_errno);
	return "connection closed";
}

/* admin_conn_step_failed - the TLS call r of c did not finish: wait or end */
static int
admin_conn_step_failed(struct admin_conn *c, int r, const char *what)
{
	int	 err, sys_errno = errno;
	long	 verify;

	switch ((err = SSL_get_error(c->ssl, r))) {
	case SSL_ERROR_WANT_READ:
		c->events = POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->events = POLLOUT;
		return 0;
	}
	verify = SSL_get_verify_result(c->ssl);
	if (c->refused)
		;	/* the verify callback said why */
	else if (verify != X509_V_OK)
		log_warnx("admin port: %s: certificate refused: %s",
		    c->address, X509_verify_cert_error_string(verify));
	else if (c->state == ADMIN_HANDSHAKE)
		log_info("admin port: %s: handshake failed: %s", c->address,
		    admin_conn_lost(err, sys_errno));
	else
		log_info("admin port: %s (%s): %s: %s", c->peer.address,
		    c->peer.common_name, what,
		    admin_conn_lost(err, sys_errno));
	ERR_clear_error();
	admin_conn_free(c);
	return -1;
}

/* admin_conn_handshake - one TLS handshake step */
static void
admin_conn_handshake(struct admin_conn *c)
{
	int	 r;

	ERR_clear_error();
	if ((r = SSL_accept(c->ssl)) != 1) {
		admin_conn_step_failed(c, r, "handshake");
		return;
	}
	/* The verify callback admitted the client, or this is a bug. */
	if (c->peer.kind != FLIPC__PEER_KIND__PEER_ADMIN) {
		log_warnx("admin port: %s: handshake without an admin "
		    "certificate: closed", c->address);
		admin_conn_free(c);
		return;
	}
	log_debug("admin port: %s (%s): %s %s", c->peer.address,
	    c->peer.common_name, SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl));
	c->state = ADMIN_READING;
	c->deadline = admin_port_now() + admin_port.idle_ms;
	/* The command may have come with the handshake's last flight. */
	admin_conn_read(c);
}

/* admin_conn_answer - start writing the answer: body, then 0x04 */
static void
admin_conn_answer(struct admin_conn *c, const void *body, size_t len)
{
	c->out[0] = body;
	c->outlen[0] = len;
	c->out[1] = &admin_port_eot;
	c->outlen[1] = 1;
	c->piece = 0;
	c->sent = 0;
	c->state = ADMIN_WRITING;
	c->events = POLLOUT;
	c->deadline = admin_port_now() + admin_port.idle_ms;
	admin_conn_write(c);
}

/* admin_port_printable - message with anything but printable ASCII as ? */
static void
admin_port_printable(char *message)
{
	for (; *message != '\0'; message++)
		if (*message < 0x20 || *message > 0x7e)
			*message = '?';
}

/*
 * admin_conn_error - answer with netd's own document, one error item:
 * {"time": SECONDS, "data": [{"type": "error", "data": message}]}.
 */
static void
admin_conn_error(struct admin_conn *c, const char *message)
{
	struct timespec	 now;
	json_t		*doc;
	char		*text, *copy;
	size_t		 len;

	clock_gettime(CLOCK_REALTIME, &now);
	if ((copy = strdup(message)) != NULL)
		admin_port_printable(copy);
	doc = json_pack("{s:I, s:[{s:s, s:s}]}", "time",
	    (json_int_t)now.tv_sec, "data", "type", "error", "data",
	    copy != NULL ? copy : "netd is out of memory");
	free(copy);
	text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (text == NULL || (len = strlen(text),
	    (c->doc = realloc(text, len + 1)) == NULL)) {
		log_warnx("admin port: %s: out of memory for an answer",
		    c->address);
		free(text);
		admin_conn_free(c);
		return;
	}
	c->doc[len] = ADMIN_PORT_ETX;
	admin_conn_answer(c, c->doc, len + 1);
}

/* admin_conn_relay - the transmission is in: hand it to admind */
static void
admin_conn_relay(struct admin_conn *c)
{
	struct relay_request	 req;

	memset(&req, 0, sizeof(req));
	req.conn = c;
	req.method = "admin command";
	req.kind = FLIPC__KIND__ADMIN_COMMAND;
	req.daemon = RELAY_ADMIND;
	req.peer = &c->peer;
	c->state = ADMIN_RELAYED;
	c->relayed = 1;
	relay_submit(&req);
}

/* admin_conn_grow - room for more of the transmission, up to cap + 1 */
static int
admin_conn_grow(struct admin_conn *c)
{
	struct admin_buf	*buf;
	size_t			 cap, limit = admin_port.max_transmission + 1;

	cap = c->in == NULL ? ADMIN_PORT_BUF_MIN : c->in->cap * 2;
	if (cap > limit)
		cap = limit;
	if (c->in != NULL && c->in->cap >= cap)
		return -1;
	if ((buf = malloc(sizeof(*buf) + cap)) == NULL)
		return -1;
	buf->cap = cap;
	if (c->in != NULL)
		memcpy(buf->bytes, c->in->bytes, c->inlen);
	admin_buf_free(c->in);
	c->in = buf;
	return 0;
}

/* admin_conn_too_long - no 0x04 within the cap, or no memory for more */
static void
admin_conn_too_long(struct admin_conn *c)
{
	char	 message[128];

	log_warnx("admin port: %s (%s): refused, no end of command within "
	    "%zu bytes", c->peer.address, c->peer.common_name, c->inlen);
	snprintf(message, sizeof(message), "the command is longer than %zu "
	    "bytes or lacks its end byte", admin_port.max_transmission);
	admin_conn_error(c, message);
}

/* admin_conn_read - read the transmission until 0x04 or the cap */
static void
admin_conn_read(struct admin_conn *c)
{
	unsigned char	*start, *eot;
	int		 r, room;

	for (;;) {
		if ((c->in == NULL || c->inlen == c->in->cap) &&
		    admin_conn_grow(c) == -1) {
			admin_conn_too_long(c);
			return;
		}
		start = c->in->bytes + c->inlen;
		room = c->in->cap - c->inlen > INT_MAX ? INT_MAX :
		    (int)(c->in->cap - c->inlen);
		ERR_clear_error();
		if ((r = SSL_read(c->ssl, start, room)) <= 0) {
			admin_conn_step_failed(c, r,
			    "closed before the end of its command");
			return;
		}
		c->received += r;
		c->deadline = admin_port_now() + admin_port.idle_ms;
		/* What follows 0x04 is not part of the command: dropped. */
		if ((eot = memchr(start, ADMIN_PORT_EOT, r)) != NULL) {
			c->inlen = eot - c->in->bytes;
			admin_conn_relay(c);
			return;
		}
		c->inlen += r;
	}
}

/* admin_conn_write - write the answer's pieces as far as the socket takes */
static void
admin_conn_write(struct admin_conn *c)
{
	size_t	 left;
	int	 r;

	while (c->piece < 2) {
		left = c->outlen[c->piece] - c->sent;
		if (left == 0) {
			c->piece++;
			c->sent = 0;
			continue;
		}
		ERR_clear_error();
		r = SSL_write(c->ssl, c->out[c->piece] + c->sent,
		    left > INT_MAX ? INT_MAX : (int)left);
		if (r <= 0) {
			admin_conn_step_failed(c, r,
			    "gone before reading the answer");
			return;
		}
		c->sent += r;
		c->deadline = admin_port_now() + admin_port.idle_ms;
	}
	if (c->relayed)
		log_info("admin port: %s (%s): command of %zu bytes answered, "
		    "status %d", c->peer.address, c->peer.common_name,
		    c->inlen, c->status);
	c->state = ADMIN_CLOSING;
	admin_conn_close(c);
}

/* admin_conn_close - send close_notify, then linger */
static void
admin_conn_close(struct admin_conn *c)
{
	int	 r;

	ERR_clear_error();
	if ((r = SSL_shutdown(c->ssl)) < 0) {
		if (admin_conn_step_failed(c, r, "closing") == 0)
			c->deadline = admin_port_now() + ADMIN_PORT_LINGER_MS;
		return;
	}
	shutdown(c->fd, SHUT_WR);
	c->state = ADMIN_LINGER;
	c->events = POLLIN;
	c->deadline = admin_port_now() + ADMIN_PORT_LINGER_MS;
}

/* admin_conn_linger - drop what the client still sends, until it closes */
static void
admin_conn_linger(struct admin_conn *c)
{
	unsigned char	 junk[16384];
	ssize_t		 n;

	while ((n = read(c->fd, junk, sizeof(junk))) > 0)
		;
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	admin_conn_free(c);
}

/* admin_conn_step - the connection's socket is ready for its next step */
static void
admin_conn_step(struct admin_conn *c, short revents)
{
	switch (c->state) {
	case ADMIN_HANDSHAKE:
		if (revents & POLLIN)
			c->heard = 1;
		admin_conn_handshake(c);
		break;
	case ADMIN_READING:
		admin_conn_read(c);
		break;
	case ADMIN_WRITING:
		admin_conn_write(c);
		break;
	case ADMIN_CLOSING:
		admin_conn_close(c);
		break;
	case ADMIN_LINGER:
		admin_conn_linger(c);
		break;
	case ADMIN_RELAYED:
		fatalx("%s: a relayed connection was polled", __func__);
	}
}

/* admin_conn_expire - the deadline of c passed */
static void
admin_conn_expire(struct admin_conn *c)
{
	char	 message[96];

	switch (c->state) {
	case ADMIN_HANDSHAKE:
		log_debug("admin port: %s: no handshake within %d ms",
		    c->address, ADMIN_PORT_HANDSHAKE_MS);
		admin_conn_free(c);
		break;
	case ADMIN_READING:
		log_warnx("admin port: %s (%s): idle for %lld s after %zu "
		    "bytes of a command", c->peer.address, c->peer.common_name,
		    (long long)(admin_port.idle_ms / 1000), c->received);
		snprintf(message, sizeof(message), "no end of command within "
		    "%lld s of the last byte",
		    (long long)(admin_port.idle_ms / 1000));
		admin_conn_error(c, message);
		break;
	case ADMIN_WRITING:
	case ADMIN_CLOSING:
		log_info("admin port: %s (%s): not reading its answer",
		    c->peer.address, c->peer.common_name);
		admin_conn_free(c);
		break;
	case ADMIN_LINGER:
		admin_conn_free(c);
		break;
	case ADMIN_RELAYED:
		break;
	}
}

/* admin_port_expire - every connection past its deadline */
static void
admin_port_expire(void)
{
	struct admin_conn	*c, *next;
	int64_t			 now = admin_port_now();

	for (c = TAILQ_FIRST(&admin_port.conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state != ADMIN_RELAYED && now >= c->deadline)
			admin_conn_expire(c);
	}
}

/*
 * admin_port_displace - make room for a newcomer: close the oldest
 * unfinished handshake, preferring one that never sent a byte. 0 when
 * every connection is an admin's.
 */
static int
admin_port_displace(void)
{
	struct admin_conn	*c, *victim = NULL;

	TAILQ_FOREACH(c, &admin_port.conns, entry) {
		if (c->state != ADMIN_HANDSHAKE)
			continue;
		if (!c->heard) {
			victim = c;
			break;
		}
		if (victim == NULL)
			victim = c;
	}
	if (victim == NULL)
		return 0;
	log_debug("admin port: %s: handshake displaced by a newer "
	    "connection", victim->address);
	admin_conn_free(victim);
	admin_port.displaced++;
	return 1;
}

/* admin_port_accept - take the connections waiting on the listener */
static void
admin_port_accept(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	int			 fd, i;

	for (i = 0; i < ADMIN_PORT_ACCEPT_BATCH; i++) {
		len = sizeof(ss);
		fd = accept4(admin_port.listener, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_warn("admin port: accept4");
			admin_port.paused_until = admin_port_now() +
			    ADMIN_PORT_PAUSE_MS;
			return;
		}
		if (admin_port.nconns >= ADMIN_PORT_CONNS_MAX &&
		    !admin_port_displace()) {
			close(fd);
			admin_port.turned_away++;
			continue;
		}
		admin_conn_new(fd, &ss);
	}
}

/* admin_port_report - say how many connections the limits cost */
static void
admin_port_report(void)
{
	int64_t	 now = admin_port_now();

	if (admin_port.displaced == 0 && admin_port.turned_away == 0)
		return;
	if (now - admin_port.reported < ADMIN_PORT_REPORT_MS)
		return;
	log_warnx("admin port: at its limit of %d connections: %u unfinished "
	    "handshakes displaced, %u connections closed at once",
	    ADMIN_PORT_CONNS_MAX, admin_port.displaced,
	    admin_port.turned_away);
	admin_port.displaced = admin_port.turned_away = 0;
	admin_port.reported = now;
}

/* admin_port_answers - the relay's answers: start writing them */
static int
admin_port_answers(void)
{
	struct admin_list	 answered;
	struct admin_conn	*c;
	char			 message[ADMIN_PORT_STATUS_MAX + 64];
	int			 stopping;

	TAILQ_INIT(&answered);
	pthread_mutex_lock(&admin_port.lock);
	TAILQ_CONCAT(&answered, &admin_port.answered, answered);
	stopping = admin_port.stopping;
	pthread_mutex_unlock(&admin_port.lock);

	while ((c = TAILQ_FIRST(&answered)) != NULL) {
		TAILQ_REMOVE(&answered, c, answered);
		if (c->status == FL_OK) {
			admin_conn_answer(c, zmq_msg_data(&c->reply),
			    zmq_msg_size(&c->reply));
			continue;
		}
		if (c->message == NULL || c->message[0] == '\0')
			snprintf(message, sizeof(message), "admind refused the "
			    "command (status %d)", c->status);
		else
			snprintf(message, sizeof(message), "%s", c->message);
		admin_conn_error(c, message);
	}
	return stopping;
}

/* admin_port_timeout - ms until the next deadline, -1 for none */
static int
admin_port_timeout(void)
{
	struct admin_conn	*c;
	int64_t			 first = INT64_MAX, now = admin_port_now();

	TAILQ_FOREACH(c, &admin_port.conns, entry)
		if (c->state != ADMIN_RELAYED && c->deadline < first)
			first = c->deadline;
	if (admin_port.paused_until > now && admin_port.paused_until < first)
		first = admin_port.paused_until;
	if ((admin_port.displaced || admin_port.turned_away) &&
	    admin_port.reported + ADMIN_PORT_REPORT_MS < first)
		first = admin_port.reported + ADMIN_PORT_REPORT_MS;
	if (first == INT64_MAX)
		return -1;
	if (first <= now)
		return 0;
	return first - now > INT32_MAX ? INT32_MAX : (int)(first - now);
}

/* admin_port_wait - one poll(2) over the eventfd, listener and conns */
static void
admin_port_wait(void)
{
	struct pollfd		 fds[2 + ADMIN_PORT_CONNS_MAX];
	struct admin_conn	*who[2 + ADMIN_PORT_CONNS_MAX], *c;
	uint64_t		 count;
	nfds_t			 n = 0, i;

	fds[n].fd = admin_port.wake;
	fds[n++].events = POLLIN;
	fds[n].fd = admin_port.paused_until > admin_port_now() ? -1 :
	    admin_port.listener;
	fds[n++].events = POLLIN;
	TAILQ_FOREACH(c, &admin_port.conns, entry) {
		if (c->state == ADMIN_RELAYED)
			continue;
		fds[n].fd = c->fd;
		fds[n].events = c->events;
		who[n++] = c;
	}
	if (poll(fds, n, admin_port_timeout()) == -1) {
		if (errno == EINTR)
			return;
		fatal("admin port: poll");
	}

	if (fds[0].revents & POLLIN)
		(void)!read(admin_port.wake, &count, sizeof(count));
	/* Each connection appears once: a step frees at most its own. */
	for (i = 2; i < n; i++)
		if (fds[i].revents != 0)
			admin_conn_step(who[i], fds[i].revents);
	if (fds[1].revents & POLLIN)
		admin_port_accept();
}

/* admin_port_close_all - at the end, every connection but relayed ones */
static void
admin_port_close_all(void)
{
	struct admin_conn	*c, *next;

	for (c = TAILQ_FIRST(&admin_port.conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == ADMIN_RELAYED)
			log_warnx("admin port: %s: still relayed at shutdown",
			    c->address);
		else
			admin_conn_free(c);
	}
}

static void *
admin_port_main(void *arg)
{
	(void)arg;
	while (!admin_port_answers()) {
		admin_port_wait();
		admin_port_expire();
		admin_port_report();
	}
	admin_port_close_all();
	return NULL;
}
