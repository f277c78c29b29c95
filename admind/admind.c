/*
 * admind - the admin console, the relay of its requests to sites, and
 * the operator's view of the server.
 *
 *	admind -w WORKSPACE -r RUNDIR [-E SECONDS] [-v]
 *
 * Binds RUNDIR/admind/admind.sock, where netd brings console commands
 * and the sites' AdminCommunicating calls, and RUNDIR/admind/notice.sock,
 * where aggd sends its notices; connects to aggd's control socket for
 * operator requests. Reads, before it serves: WORKSPACE/startup/
 * fed_server.json (the project's name), authorization.json (the policy),
 * and opens the audit trail under WORKSPACE/audit, verifying it whole.
 * WORKSPACE/startup/users.passwd, the password hashes, is read at each
 * password login. -E sets the sessions' idle expiry (3600 s).
 * Writes WORKSPACE/state/status.json whenever the view changes, at most
 * a few times a second. No network socket, ever. SIGTERM or SIGINT: the
 * commands still running are answered and recorded, the last view is
 * written, and admind exits.
 */
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "admind.h"
#include "certinfo.h"
#include "config.h"
#include "ipc.h"
#include "kitsig.h"
#include "log.h"
#include "sandbox.h"

/* Messages taken from one socket before looking at the others. */
#define ADMIND_BATCH		64
/* The longest zmq_poll waits, so that a lost wakeup costs little. */
#define ADMIND_POLL_MAX		1.0

static void
usage(void)
{
	fprintf(stderr, "usage: admind -w WORKSPACE -r RUNDIR [-E SECONDS] "
	    "[-v]\n");
	exit(1);
}

/* admind_signals - SIGTERM and SIGINT arrive on a descriptor zmq_poll
 * watches; blocked before ZeroMQ starts threads, so none of them takes one */
static int
admind_signals(void)
{
	sigset_t	 set;
	int		 fd;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	return fd;
}

/* admind_workspace - WORKSPACE/state, and no status left from before */
static void
admind_workspace(struct admind *ad, const char *workspace)
{
	char	 state[PATH_MAX];

	if (snprintf(ad->workspace, sizeof(ad->workspace), "%s",
	    workspace) >= (int)sizeof(ad->workspace) ||
	    snprintf(state, sizeof(state), "%s/state", workspace) >=
	    (int)sizeof(state) || snprintf(ad->status_path,
	    sizeof(ad->status_path), "%s/status.json", state) >=
	    (int)sizeof(ad->status_path))
		fatalx("workspace path too long: %s", workspace);
	if (mkdir(state, 0700) == -1 && errno != EEXIST)
		fatal("%s", state);
	/* A view from an earlier run would mislead until aggd answers. */
	if (unlink(ad->status_path) == -1 && errno != ENOENT)
		fatal("%s", ad->status_path);
}

/* admind_cert_expiry - when the server's certificate ends, warned ahead */
static void
admind_cert_expiry(struct admind *ad, const char *cert)
{
	char	 err[256], when[CERTINFO_TIME_LEN + 1];
	time_t	 now = time(NULL);

	if (certinfo_file_not_after(cert, &ad->cert_not_after, err,
	    sizeof(err)) == -1) {
		log_warnx("server certificate %s: %s", cert, err);
		ad->cert_not_after = 0;
		return;
	}
	certinfo_time(ad->cert_not_after, when);
	if (certinfo_expiring(ad->cert_not_after, now))
		log_warnx("the server certificate expires %s (%ld days): "
		    "provision a new one", when,
		    certinfo_days_left(ad->cert_not_after, now));
}

/* admind_kit - the project's name, the policy, the users file's path */
static void
admind_kit(struct admind *ad, double idle)
{
	struct server_config	 sc;
	char			 path[PATH_MAX], err[CONFIG_ERR_MAX];
	char			 perr[POLICY_ERR_MAX];

	if (snprintf(path, sizeof(path), "%s/startup/fed_server.json",
	    ad->workspace) >= (int)sizeof(path))
		fatalx("workspace path too long: %s", ad->workspace);
	if (server_config_load(path, &sc, err) == -1)
		fatalx("%s: %s", path, err);
	snprintf(ad->project, sizeof(ad->project), "%s", sc.name);
	admind_cert_expiry(ad, sc.ssl_cert);
	server_config_free(&sc);

	if (snprintf(path, sizeof(path), "%s/startup/authorization.json",
	    ad->workspace) >= (int)sizeof(path))
		fatalx("workspace path too long: %s", ad->workspace);
	if (policy_load(path, &ad->policy, perr) == -1)
		fatalx("refusing the authorization policy: %s", perr);

	if (snprintf(path, sizeof(path), "%s/startup/users.passwd",
	    ad->workspace) >= (int)sizeof(path))
		fatalx("workspace path too long: %s", ad->workspace);
	if (sessions_init(&ad->sessions, idle, path) == -1)
		fatal("sessions");
}

/* admind_audit - the trail, verified whole before anything is served */
static void
admind_audit(struct admind *ad)
{
	char	 err[AUDIT_ERR_MAX];

	if ((ad->audit = audit_open(ad->workspace, err, sizeof(err))) == NULL)
		fatalx("audit trail: %s", err);
}

/* admind_rundir - RUNDIR/admind; the appliance's packaging makes it */
static void
admind_rundir(const char *rundir, int privileged)
{
	char	 dir[PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s/admind", rundir) >=
	    (int)sizeof(dir))
		fatalx("runtime folder path too long: %s", rundir);
	if (!privileged && mkdir(dir, 0700) == -1 && errno != EEXIST)
		fatal("%s", dir);
	if (sandbox_runtime_dir(rundir, privileged) == -1)
		fatalx("refusing to run with runtime folder %s", rundir);
}

static void
admind_open(struct admind *ad, const char *rundir, int privileged)
{
	if ((ad->ctx = zmq_ctx_new()) == NULL)
		fatalx("zmq_ctx_new: %s", zmq_strerror(errno));
	if (ipc_path(ad->sock_path, sizeof(ad->sock_path), rundir,
	    IPC_CONSOLE) == -1 ||
	    ipc_bind(&ad->console, ad->ctx, rundir, IPC_CONSOLE,
	    ADMIND_MAX_PAYLOAD, -1,
	    sandbox_peer_uid("netd", privileged)) == -1 ||
	    ipc_bind(&ad->notices, ad->ctx, rundir, IPC_NOTICE,
	    ADMIND_MAX_PAYLOAD, -1, sandbox_peer_uid("aggd", privileged)) == -1)
		fatalx("cannot serve under %s", rundir);
	if (ipc_connect_immediate(&ad->aggd, ad->ctx, rundir, IPC_CONTROL,
	    ADMIND_AGGD_MAX_PAYLOAD) == -1)
		fatalx("cannot link to aggd under %s", rundir);
	if (query_init(&ad->query, ad->ctx, &ad->aggd, &ad->status) == -1)
		fatalx("cannot watch the link to aggd");
}

static void
admind_close(struct admind *ad)
{
	console_close(ad);
	relay_free(&ad->relay);
	query_close(&ad->query);
	ipc_close(&ad->aggd);
	ipc_close(&ad->console);
	ipc_close(&ad->notices);
	zmq_ctx_term(ad->ctx);
	audit_close(ad->audit);
	sessions_free(&ad->sessions);
	policy_free(&ad->policy);
	status_free(&ad->status);
	close(ad->sigfd);
}

/* admind_flush - write the view if it changed and it is time */
static void
admind_flush(struct admind *ad, double now, int force)
{
	if (!ad->status.dirty || !ad->status.known)
		return;
	if (!force && now < ad->next_write)
		return;
	if (status_write(&ad->status, ad->status_path) == -1) {
		ad->next_write = now + ADMIND_WRITE_RETRY;
		return;
	}
	ad->status.dirty = 0;
	ad->next_write = now + ADMIND_WRITE_INTERVAL;
}

/* admind_notice - a notice from aggd, which netd never stamps a peer on */
static void
admind_notice(struct admind *ad, struct ipc_msg *msg)
{
	const void	*payload;
	size_t		 len;
	time_t		 wall = time(NULL);

	if (msg->env->peer != NULL &&
	    msg->env->peer->kind != FLIPC__PEER_KIND__PEER_NONE) {
		log_warnx("dropped a notice that carries a peer: notices "
		    "come from aggd only");
		return;
	}
	payload = ipc_payload(msg, &len);
	if (msg->env->kind == FLIPC__KIND__NOTICE_SITE) {
		if (status_site_notice(&ad->status, payload, len, wall) != -1)
			relay_site_notice(ad, payload, len);
	} else
		status_round_notice(&ad->status, payload, len, wall);
}

/* admind_console - netd's requests: the console and the relay to sites */
static void
admind_console(struct admind *ad)
{
	struct ipc_msg	 msg;
	int		 i, rc;

	for (i = 0; i < ADMIND_BATCH; i++) {
		if ((rc = ipc_recv(&ad->console, &msg, ZMQ_DONTWAIT)) == 0)
			return;
		if (rc == -1)
			continue;
		request_dispatch(ad, &msg);
		ipc_msg_free(&msg);
	}
}

/* admind_notices - what aggd tells about sites and rounds */
static void
admind_notices(struct admind *ad)
{
	struct ipc_msg	 msg;
	int		 i, rc;

	for (i = 0; i < ADMIND_BATCH; i++) {
		if ((rc = ipc_recv(&ad->notices, &msg, ZMQ_DONTWAIT)) == 0)
			return;
		if (rc == -1)
			continue;
		admind_notice(ad, &msg);
		ipc_msg_free(&msg);
	}
}

/* admind_aggd - what aggd sends back on admind's link to it */
static void
admind_aggd(struct admind *ad)
{
	struct ipc_msg	 msg;
	int		 i, rc;

	for (i = 0; i < ADMIND_BATCH; i++) {
		if ((rc = ipc_recv(&ad->aggd, &msg, ZMQ_DONTWAIT)) == 0)
			return;
		if (rc == -1)
			continue;
		if (msg.env->kind == FLIPC__KIND__REPLY)
			query_reply(&ad->query, &msg);
		else
			log_warnx("dropped a message of kind %d from aggd: "
			    "only replies come this way", msg.env->kind);
		ipc_msg_free(&msg);
	}
}

/* admind_stop - 1 when SIGTERM or SIGINT came */
static int
admind_stop(struct admind *ad)
{
	struct signalfd_siginfo	 si;

	if (read(ad->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	log_info("%s: exiting", strsignal((int)si.ssi_signo));
	return 1;
}

/* admind_timeout - milliseconds zmq_poll may wait */
static long
admind_timeout(const struct admind *ad, double now)
{
	double	 wait = ADMIND_POLL_MAX, w;

	if (ad->status.dirty && ad->status.known)
		wait = ad->next_write > now ? ad->next_write - now : 0;
	if ((w = query_wait(&ad->query, now)) >= 0 && w < wait)
		wait = w;
	if ((w = console_wait(ad, now)) >= 0 && w < wait)
		wait = w;
	if (wait > ADMIND_POLL_MAX)
		wait = ADMIND_POLL_MAX;
	return (long)(wait * 1000.0) + 1;
}

static void
admind_loop(struct admind *ad)
{
	zmq_pollitem_t	 items[5];
	double		 now;

	for (;;) {
		memset(items, 0, sizeof(items));
		items[0].socket = ad->console.sock;
		items[1].socket = ad->notices.sock;
		items[2].socket = ad->aggd.sock;
		items[3].socket = ad->query.monitor;
		items[4].fd = ad->sigfd;
		for (size_t i = 0; i < 5; i++)
			items[i].events = ZMQ_POLLIN;
		if (zmq_poll(items, 5, admind_timeout(ad,
		    admind_now())) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));

		if ((items[4].revents & ZMQ_POLLIN) && admind_stop(ad))
			break;
		now = admind_now();
		if (items[3].revents & ZMQ_POLLIN)
			query_monitor(&ad->query, now);
		if (items[1].revents & ZMQ_POLLIN)
			admind_notices(ad);
		if (items[2].revents & ZMQ_POLLIN)
			admind_aggd(ad);
		if (items[0].revents & ZMQ_POLLIN)
			admind_console(ad);
		now = admind_now();
		console_tick(ad, now);
		query_tick(&ad->query, now);
		admind_flush(ad, now, 0);
	}
	admind_flush(ad, admind_now(), 1);
}

/* admind_seconds - -E's argument: whole seconds, one to a week */
static double
admind_seconds(const char *arg)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || n < 1 ||
	    n > 7 * 24 * 3600)
		fatalx("-E %s: not a number of seconds from 1 to 604800", arg);
	return (double)n;
}

int
main(int argc, char *argv[])
{
	struct admind	 ad;
	const char	*workspace = NULL, *rundir = NULL;
	double		 idle = SESSION_IDLE_DEFAULT;
	int		 ch, verbose = 0, privileged;

	log_init("admind", 0);
	while ((ch = getopt(argc, argv, "E:r:vw:")) != -1) {
		switch (ch) {
		case 'E':
			idle = admind_seconds(optarg);
			break;
		case 'r':
			rundir = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'w':
			workspace = optarg;
			break;
		default:
			usage();
		}
	}
	if (workspace == NULL || rundir == NULL || optind != argc)
		usage();
	log_init("admind", verbose);

	memset(&ad, 0, sizeof(ad));
	status_init(&ad.status);
	relay_init(&ad.relay);
	TAILQ_INIT(&ad.runs);
	ad.site_timeout = ADMIND_SITE_TIMEOUT;
	privileged = sandbox_identity("fladmind");
	kitsig_require_workspace(workspace, kitsig_admind_files);
	umask(privileged ? 007 : 077);
	ad.sigfd = admind_signals();
	admind_workspace(&ad, workspace);
	admind_kit(&ad, idle);
	admind_audit(&ad);
	admind_rundir(rundir, privileged);
	admind_open(&ad, rundir, privileged);
	sandbox_enter(seccomp_admind_rules, seccomp_admind_nrules);

	log_info("serving %s for project %s; sessions expire after %.0f s "
	    "idle; ready", ad.sock_path, ad.project, idle);
	admind_loop(&ad);
	admind_close(&ad);
	return 0;
}
