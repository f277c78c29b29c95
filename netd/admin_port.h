/*
 * admin_port - the admin console's port, through OpenSSL: TLS 1.2 or
 * 1.3 with a verified admin certificate (OU=admin, and one of the
 * accepted names when fed_server.json lists them), one command per
 * connection (doc/layout.md, "The admin console's wire").
 *
 * It reads a transmission up to its end byte 0x04, hands the bytes
 * before it to the relay for admind, writes admind's reply and 0x04
 * back, and closes. It never decodes a command and never logs one (a
 * login holds a password); the only document it writes itself is an
 * error item when admind cannot answer or the client sends too much,
 * too slowly or nothing. One thread serves every connection with
 * poll(2), within fixed limits against floods of connections.
 */
#ifndef NETD_ADMIN_PORT_H
#define NETD_ADMIN_PORT_H

#include <stddef.h>

#include <zmq.h>

/* Connections at once; a newer one displaces an unfinished handshake. */
#define ADMIN_PORT_CONNS_MAX	64
/* How long a client has to complete its TLS handshake. */
#define ADMIN_PORT_HANDSHAKE_MS	10000

struct admin_port_config {
	const char	*host;		/* an address literal, or a name */
	int		 port;
	const char	*key_pem;	/* copied into OpenSSL at start */
	const char	*cert_pem;
	const char	*root_pem;
	char *const	*cns;		/* admins accepted; none: any admin */
	size_t		 ncns;
	size_t		 max_transmission;	/* bytes before 0x04 */
	int		 idle_timeout;		/* seconds without progress */
};

struct admin_conn;

/*
 * Listen and start the port's thread, with signals blocked. An address
 * literal is bound as it is, a name on every interface. -1 after
 * logging.
 */
int	admin_port_start(const struct admin_port_config *);
/* Stop the thread and close every connection; call after relay_stop. */
void	admin_port_stop(void);

/*
 * For the relay: the command's bytes, handed over with the reference
 * that admin_port_payload_free(data, hint) releases, called by ZeroMQ.
 */
const void	*admin_port_payload(struct admin_conn *, size_t *len,
		    void **hint);
void		 admin_port_payload_free(void *data, void *hint);
/*
 * The answer to a command, from any thread: on FL_OK payload is
 * admind's reply, moved out of the ZeroMQ message; otherwise the client
 * gets an error item with message.
 */
void		 admin_port_reply(struct admin_conn *, int status,
		    const char *message, zmq_msg_t *payload);

#endif
