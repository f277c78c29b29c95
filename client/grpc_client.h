/*
 * grpc_client - unary calls to the server over mutual TLS, the only part
 * of the site that knows grpc core.
 *
 * grpc core's C API changes between releases; keeping every call to it
 * in this one file keeps a grpc upgrade to one file. It moves bytes: it
 * neither packs nor unpacks protobuf messages. Calls may be made from
 * several threads at once: each call has its own completion queue.
 */
#ifndef FL_GRPC_CLIENT_H
#define FL_GRPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

/* The admin channel's calls, on the training port: see client/relay.c. */
#define GRPC_CLIENT_RETRIEVE	"/admin.AdminCommunicating/Retrieve"
#define GRPC_CLIENT_SEND_REPLY	"/admin.AdminCommunicating/SendReply"

struct grpc_client;

struct grpc_reply {
	int	 status;	/* gRPC status code, 0 for OK */
	char	*message;	/* status message, printable, never NULL */
	uint8_t	*body;		/* the reply message, NULL if none came */
	size_t	 len;
};

/* Start grpc, with its log lines routed through ours. */
void	grpc_client_init(void);
void	grpc_client_shutdown(void);

/* A channel to target; the PEM strings are copied. NULL on failure. */
struct grpc_client *grpc_client_open(const char *target, const char *root_pem,
	    const char *cert_pem, const char *key_pem, int max_send,
	    int max_receive);
void	grpc_client_close(struct grpc_client *);

/*
 * Call method ("/package.Service/Method") with the packed request req,
 * sending token as x-custom-token metadata when it is not NULL, and wait
 * up to timeout seconds. Returns 0 when the call ended with a status
 * (any code, in reply), -1 when it could not be made at all.
 */
int	grpc_client_call(struct grpc_client *, const char *method,
	    const char *token, const void *req, size_t len, int timeout,
	    struct grpc_reply *reply);
void	grpc_client_reply_free(struct grpc_reply *);

#endif
