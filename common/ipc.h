/*
 * ipc - the ZeroMQ links between flserver's daemons.
 *
 * A message is two frames: an flipc.Envelope (request id, kind, the
 * verified peer, status) and a payload that is never copied on the way
 * through. ROUTER sockets see a routing-id frame in front. Every link has
 * a size cap: receivers set ZMQ_MAXMSGSIZE, and senders refuse to send
 * past the cap, because ZeroMQ answers an oversize message by silently
 * closing the connection. A malformed envelope or an unknown kind is
 * refused here, so that handlers only ever see well-formed requests.
 *
 * There are four sockets, each bound by one daemon for one peer daemon
 * and a fixed set of kinds (doc/layout.md, "Who may send what"); a kind
 * that does not belong on a socket is refused here too. They live in
 * per-daemon folders under one runtime folder.
 */
#ifndef FL_IPC_H
#define FL_IPC_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "envelope.pb-c.h"

/* ipc:// paths are limited to 107 bytes by sockaddr_un. */
#define IPC_PATH_MAX		108
/* Room for the envelope frame beyond the largest payload. */
#define IPC_ENVELOPE_MAX	4096

enum ipc_socket {
	IPC_TRAINING,	/* RUNDIR/aggd/aggd.sock: netd's site requests */
	IPC_CONTROL,	/* RUNDIR/aggd/control.sock: admind's requests */
	IPC_CONSOLE,	/* RUNDIR/admind/admind.sock: netd's admin traffic */
	IPC_NOTICE,	/* RUNDIR/admind/notice.sock: aggd's notices */
	IPC_NSOCKETS
};

struct ipc_link {
	void		*sock;
	enum ipc_socket	 socket;
	int		 router;	/* bound: messages carry a routing id */
	size_t		 max_payload;
	const char	*peer;		/* the daemon at the other end: logs */
};

struct ipc_msg {
	Flipc__Envelope	*env;
	zmq_msg_t	 routing;	/* valid when the link is a ROUTER */
	zmq_msg_t	 payload;
	int		 has_routing;
};

/* Called when ZeroMQ is done with a payload passed to ipc_send. */
typedef void	 ipc_free_fn(void *data, void *hint);

int	ipc_path(char *buf, size_t len, const char *rundir, enum ipc_socket);

/*
 * A ROUTER bound at the socket's path, for its peer daemon only.
 * rcvhwm is a receive high-water mark in messages (-1: ZeroMQ's
 * default); ZeroMQ copies it into the listener when the socket binds, so
 * setting it afterwards does not reach the peers that connect later.
 * peer_uid, unless (uid_t)-1, is the only uid that may connect (checked
 * by ZeroMQ with SO_PEERCRED); the folder's permissions are the first
 * line, since a second bind would silently steal the path.
 */
int	ipc_bind(struct ipc_link *, void *ctx, const char *rundir,
	    enum ipc_socket, size_t max_payload, int rcvhwm, uid_t peer_uid);
/* A DEALER connected to the socket; it only ever receives replies. */
int	ipc_connect(struct ipc_link *, void *ctx, const char *rundir,
	    enum ipc_socket, size_t max_payload);
/*
 * The same, but ZeroMQ queues nothing while daemon is not connected
 * (ZMQ_IMMEDIATE) and never blocks a send (ZMQ_SNDTIMEO 0): ipc_send
 * fails at once instead of delivering a stale request when daemon comes
 * back, and zmq_poll reports ZMQ_POLLOUT only while daemon is there.
 */
int	ipc_connect_immediate(struct ipc_link *, void *ctx, const char *rundir,
	    enum ipc_socket, size_t max_payload);
void	ipc_close(struct ipc_link *);

/* "aggd.sock" and the like, for logs. */
const char	*ipc_socket_name(enum ipc_socket);
/* The daemon that binds the socket and the one that connects to it. */
const char	*ipc_socket_binder(enum ipc_socket);
const char	*ipc_socket_peer(enum ipc_socket);

/*
 * Send env and payload. With free_fn the payload is handed to ZeroMQ
 * without a copy and free_fn is called once ZeroMQ is done with it (also
 * when sending fails); without it the payload is copied. routing is the
 * routing id of the request being answered on a ROUTER link, else NULL.
 * Returns 0, or -1 (oversize, or the socket failed) after logging.
 */
int	ipc_send(struct ipc_link *, zmq_msg_t *routing,
	    const Flipc__Envelope *env, const void *payload, size_t len,
	    ipc_free_fn *free_fn, void *hint);

/*
 * Receive one message, without blocking when flags is ZMQ_DONTWAIT.
 * Returns 1 with msg filled, 0 when nothing is waiting, -1 when a
 * malformed message was read and dropped (already logged).
 */
int	ipc_recv(struct ipc_link *, struct ipc_msg *msg, int flags);
void	ipc_msg_free(struct ipc_msg *);

const void	*ipc_payload(struct ipc_msg *, size_t *len);

/* A reply envelope for request req with a gRPC status and message. */
void	ipc_reply_env(Flipc__Envelope *out, const Flipc__Envelope *req,
	    int status, const char *status_message);

#endif
