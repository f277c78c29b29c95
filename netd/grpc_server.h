/*
 * grpc_server - the training port: TLS with verified client
 * certificates, HTTP/2 and gRPC, through grpc core. The only file of netd
 * that calls grpc, whose C API changes between releases.
 *
 * Requests are not decoded: the method path picks the IPC kind, the
 * request's bytes go to the relay as the site sent them, and the reply's
 * bytes go back as the daemon sent them. Only site certificates are
 * served. Functions carry the prefix gsrv_ because grpc core owns the
 * names grpc_server_*.
 */
#ifndef NETD_GRPC_SERVER_H
#define NETD_GRPC_SERVER_H

#include <stddef.h>

#include <zmq.h>

/* The longest x-custom-token relayed; a longer one is ignored. */
#define GSRV_TOKEN_MAX	256

struct gsrv_config {
	const char	*address;	/* "host:port" to listen on */
	size_t		 max_send;	/* message limits, bytes */
	size_t		 max_receive;
	const char	*key_pem;	/* copied by grpc at start */
	const char	*cert_pem;
	const char	*root_pem;
	int		 verbose;
};

struct gsrv_call;

/* Listen and serve; returns the port, or -1 after logging. */
int	gsrv_start(const struct gsrv_config *);
/* Handle what the completion queue has, waiting up to timeout_ms. */
void	gsrv_poll(int timeout_ms);
/* Stop listening, cancel what is left, release grpc. */
void	gsrv_stop(void);

/*
 * For the relay: the request's bytes, with a reference that stays valid
 * until gsrv_payload_free(data, hint), called by ZeroMQ once it is done
 * with them. NULL when out of memory.
 */
const void	*gsrv_call_payload(struct gsrv_call *, size_t *len,
		    void **hint);
void		 gsrv_payload_free(void *data, void *hint);
/*
 * Answer the call with a gRPC status; on FL_OK payload is the reply,
 * moved out of the ZeroMQ message and sent without a copy. The call
 * belongs to grpc_server.c again afterwards.
 */
void		 gsrv_call_reply(struct gsrv_call *, int status,
		    const char *message, zmq_msg_t *payload);

#endif
