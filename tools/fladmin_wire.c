/*
 * fladmin_wire - one command's exchange with the admin port: a TLS
 * connection, one transmission each way, then close.
 *
 * A transmission is UTF-8 JSON documents, each followed by the byte
 * 0x03, and ends with the byte 0x04; jansson escapes both bytes inside
 * strings, so a command line cannot end a document early. The server is
 * trusted only through the kit's root CA and must carry the name the kit
 * gives it (a DNS name, or an IP address when the kit gives one).
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "fladmin.h"
#include "log.h"

#define WIRE_CONNECT_MS		10000
/* Longest silence while the server works on a command (netd gives up
 * on admind after 60 s by default). */
#define WIRE_IDLE_S		120
#define WIRE_READ_CHUNK		16384

/* wire_tls_error - what OpenSSL's queue says, after what we did */
static void
wire_tls_error(const char *what, char err[FLADMIN_ERR_MAX])
{
	unsigned long	 e;
	char		 text[256];

	if ((e = ERR_get_error()) == 0) {
		snprintf(err, FLADMIN_ERR_MAX, "%s", what);
		return;
	}
	ERR_error_string_n(e, text, sizeof(text));
	snprintf(err, FLADMIN_ERR_MAX, "%s: %s", what, text);
	ERR_clear_error();
}

SSL_CTX *
wire_context(const struct fladmin_kit *k, char err[FLADMIN_ERR_MAX])
{
	SSL_CTX	*ctx;
	char	 what[FLADMIN_ERR_MAX];

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		wire_tls_error("cannot make a TLS context", err);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	/* The answer's own end byte says whether it came whole: a peer
	 * that closes without TLS's goodbye is no worse than one that
	 * says it. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (SSL_CTX_load_verify_file(ctx, k->ca) != 1) {
		snprintf(what, sizeof(what), "%s: cannot load the root CA",
		    k->ca);
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, k->cert) != 1) {
		snprintf(what, sizeof(what), "%s: cannot load the certificate",
		    k->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, k->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(what, sizeof(what), "%s: cannot load the key of %s",
		    k->key, k->cert);
		goto fail;
	}
	return ctx;

 fail:
	wire_tls_error(what, err);
	SSL_CTX_free(ctx);
	return NULL;
}

/* wire_item - {"type": type, "data": text}; NULL if text is not UTF-8 */
static json_t *
wire_item(const char *type, const char *text)
{
	json_t	*data;

	if ((data = json_string(text)) == NULL)
		return NULL;
	return json_pack("{s:s, s:o}", "type", type, "data", data);
}

char *
wire_request(const char *command, const char *token, json_t *extra,
    size_t *len, char err[FLADMIN_ERR_MAX])
{
	struct timespec	 now;
	json_t		*doc, *items;
	char		*text, *out;
	size_t		 n;

	if ((items = json_array()) == NULL ||
	    json_array_append_new(items, wire_item("command", command)) ==
	    -1 ||
	    (token != NULL &&
	    json_array_append_new(items, wire_item("token", token)) == -1) ||
	    (extra != NULL && json_array_append(items, extra) == -1)) {
		snprintf(err, FLADMIN_ERR_MAX, "the command is not valid "
		    "UTF-8 text");
		json_decref(items);
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	doc = json_pack("{s:f, s:o}", "time",
	    (double)now.tv_sec + now.tv_nsec / 1e9, "data", items);
	text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (text == NULL || (out = malloc((n = strlen(text)) + 2)) == NULL) {
		snprintf(err, FLADMIN_ERR_MAX, "out of memory");
		free(text);
		return NULL;
	}
	memcpy(out, text, n);
	out[n] = FLADMIN_DOC_END;
	out[n + 1] = FLADMIN_ALL_END;
	*len = n + 2;
	explicit_bzero(text, n);
	free(text);
	return out;
}

/* wire_wait_connected - finish a non-blocking connect within the limit */
static int
wire_wait_connected(int fd)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLOUT };
	socklen_t	 len = sizeof(int);
	int		 n, e;

	while ((n = poll(&pfd, 1, WIRE_CONNECT_MS)) == -1 && errno == EINTR)
		;
	if (n == 0)
		errno = ETIMEDOUT;
	if (n <= 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		return -1;
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

/* wire_connect_one - a connected blocking socket to one address */
static int
wire_connect_one(const struct addrinfo *ai)
{
	struct timeval	 idle = { .tv_sec = WIRE_IDLE_S };
	int		 fd, e;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
	    (errno != EINPROGRESS || wire_wait_connected(fd) == -1))
		goto fail;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle)) ==
	    -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof(idle)) == -1)
		goto fail;
	return fd;

 fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* wire_connect - a TCP connection to the kit's admin address */
static int
wire_connect(const struct fladmin_kit *k, char err[FLADMIN_ERR_MAX])
{
	struct addrinfo	 hints, *res, *ai;
	char		 port[16];
	int		 fd = -1, e = ECONNREFUSED, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", k->port);
	if ((rc = getaddrinfo(k->host, port, &hints, &res)) != 0) {
		snprintf(err, FLADMIN_ERR_MAX, "%s: %s", k->host,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		if ((fd = wire_connect_one(ai)) == -1)
			e = errno;
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, FLADMIN_ERR_MAX, "cannot connect to %s port %d: "
		    "%s", k->host, k->port, strerror(e));
	return fd;
}

/* wire_tls - the TLS session over fd, the server's name checked */
static SSL *
wire_tls(SSL_CTX *ctx, int fd, const char *host, char err[FLADMIN_ERR_MAX])
{
	unsigned char	 addr[sizeof(struct in6_addr)];
	SSL		*ssl;
	long		 verify;
	int		 is_ip;

	is_ip = inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1;
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
	    host) : SSL_set1_host(ssl, host)) != 1 ||
	    (!is_ip && SSL_set_tlsext_host_name(ssl, host) != 1)) {
		wire_tls_error("cannot set up TLS", err);
		SSL_free(ssl);
		return NULL;
	}
	if (SSL_connect(ssl) == 1) {
		log_debug("%s: %s, %s", host, SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
		return ssl;
	}

	if ((verify = SSL_get_verify_result(ssl)) != X509_V_OK)
		snprintf(err, FLADMIN_ERR_MAX, "%s: the server's certificate "
		    "is refused: %s", host,
		    X509_verify_cert_error_string(verify));
	else
		wire_tls_error("TLS handshake failed", err);
	ERR_clear_error();
	SSL_free(ssl);
	return NULL;
}

/* wire_read_error - why SSL_read returned n */
static void
wire_read_error(SSL *ssl, int n, char err[FLADMIN_ERR_MAX])
{
	int	 e = SSL_get_error(ssl, n);

	if (e == SSL_ERROR_ZERO_RETURN ||
	    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0))
		snprintf(err, FLADMIN_ERR_MAX, "the server closed the "
		    "connection before the end of its answer");
	else if (e == SSL_ERROR_SYSCALL &&
	    (errno == EAGAIN || errno == EWOULDBLOCK))
		snprintf(err, FLADMIN_ERR_MAX, "no answer from the server for "
		    "%d s", WIRE_IDLE_S);
	else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		snprintf(err, FLADMIN_ERR_MAX, "reading the answer: %s",
		    strerror(errno));
	else
		wire_tls_error("reading the answer", err);
}

/* wire_read - the answer up to its end byte, without it */
static char *
wire_read(SSL *ssl, size_t *len, char err[FLADMIN_ERR_MAX])
{
	char	*buf = NULL, *p, *end;
	size_t	 size = 0, have = 0;
	int	 n;

	for (;;) {
		if (size - have < WIRE_READ_CHUNK) {
			size = size == 0 ? 4 * WIRE_READ_CHUNK : size * 2;
			if ((p = realloc(buf, size)) == NULL) {
				snprintf(err, FLADMIN_ERR_MAX, "out of memory");
				break;
			}
			buf = p;
		}
		errno = 0;
		if ((n = SSL_read(ssl, buf + have, WIRE_READ_CHUNK)) <= 0) {
			wire_read_error(ssl, n, err);
			break;
		}
		end = memchr(buf + have, FLADMIN_ALL_END, (size_t)n);
		have = end != NULL ? (size_t)(end - buf) : have + (size_t)n;
		if (have > FLADMIN_REPLY_MAX) {
			snprintf(err, FLADMIN_ERR_MAX, "the answer is longer "
			    "than %zu MiB", FLADMIN_REPLY_MAX >> 20);
			break;
		}
		if (end != NULL) {
			buf[have] = '\0';
			*len = have;
			return buf;
		}
	}
	free(buf);
	return NULL;
}

/* wire_write - the whole request */
static int
wire_write(SSL *ssl, const char *request, size_t len,
    char err[FLADMIN_ERR_MAX])
{
	size_t	 done = 0;
	int	 n;

	while (done < len) {
		errno = 0;
		n = SSL_write(ssl, request + done, len - done > 65536 ?
		    65536 : (int)(len - done));
		if (n <= 0) {
			if (SSL_get_error(ssl, n) == SSL_ERROR_SYSCALL &&
			    ERR_peek_error() == 0)
				snprintf(err, FLADMIN_ERR_MAX, "sending the "
				    "command: %s", errno != 0 ?
				    strerror(errno) : "connection closed");
			else
				wire_tls_error("sending the command", err);
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

char *
wire_exchange(SSL_CTX *ctx, const struct fladmin_kit *k,
    const char *request, size_t reqlen, size_t *len,
    char err[FLADMIN_ERR_MAX])
{
	SSL	*ssl;
	char	*answer = NULL;
	int	 fd;

	if ((fd = wire_connect(k, err)) == -1)
		return NULL;
	if ((ssl = wire_tls(ctx, fd, k->host, err)) == NULL) {
		close(fd);
		return NULL;
	}
	if (wire_write(ssl, request, reqlen, err) == 0)
		answer = wire_read(ssl, len, err);

	/* The server closes after its answer: say goodbye, wait for none. */
	if (answer != NULL)
		SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
	return answer;
}
