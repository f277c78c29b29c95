/*
 * relay - the thread that owns netd's ZeroMQ links to aggd and admind.
 *
 * The completion-queue thread hands it each request through a queue and
 * an eventfd; the relay wraps the request in an envelope, sends it, and
 * answers the call when the reply comes back, or with UNAVAILABLE when
 * the daemon is not there or does not answer in time. The admin port's
 * thread hands it console commands the same way. It never decodes a
 * payload and never calls grpc itself: replies go out through
 * grpc_server.h, or admin_port.h for a console command.
 */
#ifndef NETD_RELAY_H
#define NETD_RELAY_H

#include <stddef.h>

#include "envelope.pb-c.h"
#include "peer.h"

/* Aggregation can keep a SubmitUpdate waiting for a while. */
#define RELAY_TIMEOUT_DEFAULT	60

enum relay_daemon {
	RELAY_AGGD,
	RELAY_ADMIND,
	RELAY_NDAEMONS
};

struct gsrv_call;
struct admin_conn;

/*
 * What the relay needs of a call; the strings belong to the call. A
 * request comes from the training port (call) or the admin port (conn).
 */
struct relay_request {
	struct gsrv_call	*call;
	struct admin_conn	*conn;
	const char		*method;	/* the rpc's name, for logs */
	Flipc__Kind		 kind;
	enum relay_daemon	 daemon;
	const struct peer	*peer;
	const char		*token;		/* x-custom-token, or NULL */
};

/* Connect to aggd and admind under rundir and start the thread. */
int	relay_start(const char *rundir, size_t max_payload, int timeout);
/* Take over the call: it is answered in every case, maybe at once. */
void	relay_submit(const struct relay_request *);
/* Answer everything still waiting with UNAVAILABLE, then stop. */
void	relay_stop(void);

#endif
