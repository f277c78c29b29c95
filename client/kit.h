/*
 * kit - a site's startup kit: fed_client.json (where the server is, the
 * project's name, message limits), the site's certificate and key, and
 * the project's root CA, all read into memory once at start.
 *
 * The site's name is its certificate's CN, never a setting: the server
 * binds the name a site claims to the certificate it presents. Nothing
 * here verifies the certificate chain; the TLS handshake does.
 */
#ifndef FL_KIT_H
#define FL_KIT_H

#define KIT_ERR_MAX		512
#define KIT_FILE_MAX		(1024 * 1024)
#define KIT_DEFAULT_MESSAGE_MAX	(1024 * 1024 * 1024)	/* Clara's 1 GB */

struct kit {
	char	*project;	/* servers[0].name */
	char	*target;	/* servers[0].service.target, "host:port" */
	int	 max_send;	/* grpc.max_send_message_length */
	int	 max_receive;	/* grpc.max_receive_message_length */
	char	*site;		/* CN of client.crt */
	char	*root_pem;	/* contents, NUL-terminated */
	char	*cert_pem;
	char	*key_pem;
};

int	kit_load(const char *dir, struct kit *, char err[KIT_ERR_MAX]);
/* Frees everything and wipes the key from memory. */
void	kit_free(struct kit *);
/* The CN of a PEM certificate, or NULL with a reason in err. */
char	*kit_cert_cn(const char *pem, char err[KIT_ERR_MAX]);

#endif
