/*
 * netd - the only flserver daemon on the network.
 *
 * It terminates TLS and gRPC on the training port, and TLS on the admin
 * port, and relays each request or console command, undecoded, to aggd
 * or admind over ZeroMQ, stamped with the identity of the site or admin
 * that the TLS handshake verified. Everything it reads from disk
 * (fed_server.json, its certificate and key, the project's root CA) is
 * read before it serves: after start-up netd opens no file, under a
 * seccomp filter (policy/seccomp_netd.c).
 *
 * usage: netd -w WORKSPACE -r RUNDIR [-v] [-t SECONDS]
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_port.h"
#include "config.h"
#include "grpc_server.h"
#include "kitsig.h"
#include "log.h"
#include "relay.h"
#include "sandbox.h"
#include "tls_policy.h"

/* PEM files are small; anything larger is not what the kit holds. */
#define NETD_PEM_MAX	(1024 * 1024)
/* How often the main loop looks at the signal flag. */
#define NETD_TICK_MS	500

struct netd_pems {
	char	*key;
	char	*cert;
	char	*root;
};

static volatile sig_atomic_t	 netd_quit;

static void __attribute__((noreturn))
netd_usage(void)
{
	fprintf(stderr, "usage: netd -w workspace -r rundir [-v] "
	    "[-t seconds]\n");
	exit(2);
}

static void
netd_signal(int sig)
{
	(void)sig;
	netd_quit = 1;
}

/*
 * netd_signals - SIGTERM and SIGINT set a flag that the main loop reads.
 * They stay blocked until every thread of grpc and ZeroMQ exists, so
 * that only the main thread ever takes them.
 */
static void
netd_signals(sigset_t *blocked)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = netd_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		fatal("sigaction");
	signal(SIGPIPE, SIG_IGN);

	sigemptyset(blocked);
	sigaddset(blocked, SIGTERM);
	sigaddset(blocked, SIGINT);
	if ((errno = pthread_sigmask(SIG_BLOCK, blocked, NULL)) != 0)
		fatal("pthread_sigmask");
}

/* netd_read_pem - a whole PEM file; a private key must be ours alone */
static char *
netd_read_pem(const char *path, int secret)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		fatal("%s", path);
	if (fstat(fd, &st) == -1)
		fatal("%s", path);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > NETD_PEM_MAX)
		fatalx("%s: not a PEM file", path);
	if (secret && (st.st_mode & 077) != 0)
		fatalx("%s: private key readable by others (mode %03o)", path,
		    (unsigned)(st.st_mode & 0777));

	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		fatal("%s", path);
	if ((n = read(fd, buf, (size_t)st.st_size)) != st.st_size)
		fatalx("%s: short read", path);
	buf[n] = '\0';
	close(fd);
	if (strlen(buf) != (size_t)n)
		fatalx("%s: not a PEM file", path);
	return buf;
}

/* netd_forget - wipe and free a buffer that held a key */
static void
netd_forget(char *buf)
{
	if (buf == NULL)
		return;
	explicit_bzero(buf, strlen(buf));
	free(buf);
}

/*
 * netd_rundir - a socket path bound by someone else would steal netd's
 * requests: the runtime folder must be closed to others. RUNDIR/netd is
 * netd's own; the appliance's packaging makes it, netd does otherwise.
 */
static void
netd_rundir(const char *rundir, int privileged)
{
	char	 path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/netd", rundir) >=
	    (int)sizeof(path))
		fatalx("%s: path too long", rundir);
	if (!privileged && mkdir(path, 0700) == -1 && errno != EEXIST)
		fatal("%s", path);
	if (sandbox_runtime_dir(rundir, privileged) == -1)
		fatalx("refusing to run with runtime folder %s", rundir);
}

/* netd_literal - 1 if host is an IPv4 address or a bracketed IPv6 one */
static int
netd_literal(const char *host)
{
	unsigned char	 addr[16];
	char		 v6[64];
	size_t		 len = strlen(host);

	if (inet_pton(AF_INET, host, addr) == 1)
		return 1;
	if (len < 3 || len - 2 >= sizeof(v6) || host[0] != '[' ||
	    host[len - 1] != ']')
		return 0;
	memcpy(v6, host + 1, len - 2);
	v6[len - 2] = '\0';
	return inet_pton(AF_INET6, v6, addr) == 1;
}

/*
 * netd_address - where to listen, from the target "host:port" that the
 * sites use. An address literal is bound as it is; a host name is bound
 * on every interface, as Clara did, because what a name resolves to on
 * the server itself says little about where the sites come from.
 */
static void
netd_address(const char *target, char *buf, size_t len)
{
	const char	*colon;
	char		 host[64], *end;
	long		 port;

	if ((colon = strrchr(target, ':')) == NULL)
		fatalx("service target %s: no port", target);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 1 ||
	    port > 65535)
		fatalx("service target %s: bad port", target);
	if ((size_t)(colon - target) >= sizeof(host))
		fatalx("service target %s: host too long", target);
	memcpy(host, target, colon - target);
	host[colon - target] = '\0';

	if (netd_literal(host))
		snprintf(buf, len, "%s:%ld", host, port);
	else
		snprintf(buf, len, "[::]:%ld", port);
}

/*
 * netd_nofile - as many descriptors as we may: grpc 1.51 stops accepting
 * for good when accept fails for want of one (CVE-2023-4785).
 */
static void
netd_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit");
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("setrlimit RLIMIT_NOFILE");
}

/* netd_config - fed_server.json from the workspace's startup kit */
static void
netd_config(const char *workspace, struct server_config *conf)
{
	char	 path[PATH_MAX], err[CONFIG_ERR_MAX];

	if (snprintf(path, sizeof(path), "%s/startup/fed_server.json",
	    workspace) >= (int)sizeof(path))
		fatalx("%s: path too long", workspace);
	if (server_config_load(path, conf, err) == -1)
		fatalx("%s: %s", path, err);
	if (conf->max_send_message == 0 || conf->max_receive_message == 0)
		fatalx("%s: message limits must be positive", path);
}

/*
 * netd_max_payload - what the relay's links carry: the larger of the two
 * message limits, as grpc sees them, or an admin command.
 */
static size_t
netd_max_payload(const struct server_config *conf)
{
	size_t	 n;

	n = conf->max_send_message;
	if (conf->max_receive_message > n)
		n = conf->max_receive_message;
	if (n > INT_MAX)
		n = INT_MAX;
	if (conf->admin_max_transmission > n)
		n = conf->admin_max_transmission;
	return n;
}

/* netd_pems_read - the key, the certificate and the root CA, in memory */
static void
netd_pems_read(const struct server_config *conf, struct netd_pems *pems)
{
	if (sandbox_check_private_key(conf->ssl_private_key) == -1)
		fatalx("refusing to use the server's private key");
	pems->key = netd_read_pem(conf->ssl_private_key, 1);
	pems->cert = netd_read_pem(conf->ssl_cert, 0);
	pems->root = netd_read_pem(conf->ssl_root_cert, 0);
}

/*
 * netd_tls_policy - grpc core takes its TLS 1.2 suites from the
 * environment, read when its first credentials are made; an operator's
 * environment must not widen them. (grpc 1.51 already refuses anything
 * older than TLS 1.2.) Set before any thread exists: setenv is not
 * thread-safe.
 */
static void
netd_tls_policy(void)
{
	if (setenv("GRPC_SSL_CIPHER_SUITES", TLS_POLICY_CIPHERS, 1) == -1)
		fatal("setenv GRPC_SSL_CIPHER_SUITES");
}

/* netd_admin_listen - open the admin port; OpenSSL copies the PEMs */
static void
netd_admin_listen(const struct server_config *conf,
    const struct netd_pems *pems)
{
	struct admin_port_config	 aconf;

	memset(&aconf, 0, sizeof(aconf));
	aconf.host = conf->admin_host;
	aconf.port = conf->admin_port;
	aconf.key_pem = pems->key;
	aconf.cert_pem = pems->cert;
	aconf.root_pem = pems->root;
	aconf.cns = conf->admin_cns;
	aconf.ncns = conf->nadmin_cns;
	aconf.max_transmission = conf->admin_max_transmission;
	aconf.idle_timeout = conf->admin_idle_timeout;
	if (admin_port_start(&aconf) == -1)
		fatalx("cannot serve the admin port");
}

/*
 * netd_listen - open the training port, then the admin port; grpc and
 * OpenSSL keep their own copies of the PEMs, so ours are wiped.
 */
static void
netd_listen(const struct server_config *conf, const char *address,
    struct netd_pems *pems, int verbose)
{
	struct gsrv_config	 gconf;

	memset(&gconf, 0, sizeof(gconf));
	gconf.address = address;
	gconf.max_send = conf->max_send_message;
	gconf.max_receive = conf->max_receive_message;
	gconf.key_pem = pems->key;
	gconf.cert_pem = pems->cert;
	gconf.root_pem = pems->root;
	gconf.verbose = verbose;
	if (gsrv_start(&gconf) == -1)
		fatalx("cannot serve the training port");
	netd_admin_listen(conf, pems);
	netd_forget(pems->key);
	netd_forget(pems->cert);
	netd_forget(pems->root);
	memset(pems, 0, sizeof(*pems));
}

static int
netd_timeout(const char *arg)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || n < 1 || n > 3600)
		fatalx("timeout %s: not a number of seconds in 1..3600", arg);
	return (int)n;
}

int
main(int argc, char *argv[])
{
	struct server_config	 conf;
	struct netd_pems	 pems;
	sigset_t		 blocked;
	const char		*workspace = NULL, *rundir = NULL;
	const char		*seconds = NULL;
	char			 address[96];
	int			 ch, privileged, verbose = 0;
	int			 timeout = RELAY_TIMEOUT_DEFAULT;

	log_init("netd", 0);
	while ((ch = getopt(argc, argv, "r:t:vw:")) != -1) {
		switch (ch) {
		case 'r':
			rundir = optarg;
			break;
		case 't':
			seconds = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'w':
			workspace = optarg;
			break;
		default:
			netd_usage();
		}
	}
	if (optind != argc || workspace == NULL || rundir == NULL)
		netd_usage();
	log_init("netd", verbose);
	/* No core dumps either: one would hold the key and sites' updates. */
	privileged = sandbox_identity("flnetd");
	kitsig_require_workspace(workspace, kitsig_netd_files);
	if (seconds != NULL)
		timeout = netd_timeout(seconds);

	netd_config(workspace, &conf);
	netd_rundir(rundir, privileged);
	netd_pems_read(&conf, &pems);
	netd_address(conf.target, address, sizeof(address));
	netd_nofile();
	netd_tls_policy();
	netd_signals(&blocked);

	if (relay_start(rundir, netd_max_payload(&conf), timeout) == -1)
		fatalx("cannot reach aggd and admind under %s", rundir);
	netd_listen(&conf, address, &pems, verbose);
	sandbox_enter(seccomp_netd_rules, seccomp_netd_nrules);
	if ((errno = pthread_sigmask(SIG_UNBLOCK, &blocked, NULL)) != 0)
		fatal("pthread_sigmask");

	log_info("project %s: training port %s, admin port %s:%d ready",
	    conf.name, address, conf.admin_host, conf.admin_port);
	while (!netd_quit)
		gsrv_poll(NETD_TICK_MS);

	log_info("shutting down");
	/* Answers what waits, through both ports, then the ports close. */
	relay_stop();
	admin_port_stop();
	gsrv_stop();
	server_config_free(&conf);
	return 0;
}
