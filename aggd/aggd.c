/*
 * aggd - the federated-learning server's model holder and round runner.
 *
 *	aggd -w WORKSPACE -r RUNDIR -c CONFIG [-s] [-v]
 *
 * Reads the startup kit (WORKSPACE/startup/fed_server.json for the
 * project's name and message limits, authorization.json for its sites)
 * and the training configuration CONFIG (or the one an operator deployed
 * since, which the checkpoint names), loads the global model (the
 * checkpoint in WORKSPACE/state/aggd.json if there is a usable one, else
 * ckpt_preload_path), binds RUNDIR/aggd/aggd.sock for netd's site
 * requests and RUNDIR/aggd/control.sock for admind's, and connects to
 * admind's notice socket. With -s training starts
 * by itself once min_num_clients sites have registered.
 *
 * One thread: requests are answered in order, and timers (dead sites,
 * the wait after min_num_clients, saving again after a failure) run
 * between them. aggd opens no network socket.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aggd.h"
#include "kitsig.h"
#include "log.h"
#include "npz.h"
#include "sandbox.h"

/*
 * Requests ZeroMQ may queue inside aggd beyond the one being answered:
 * one, so that many large updates arriving together wait in netd rather
 * than in aggd's memory.
 */
#define AGGD_RCVHWM		1
/* Notices queued for an absent admind before they are dropped. */
#define AGGD_NOTICE_HWM		64
#define AGGD_NOTICE_MAX		(1024 * 1024)
#define AGGD_CONTROL_MAX	(1024 * 1024)
/* Milliseconds between timer runs when no request comes. */
#define AGGD_TICK_MS		200
/* Requests answered before timers get a turn. */
#define AGGD_BATCH		16

static volatile sig_atomic_t	 aggd_quit;

/* What the startup kit says: the server and the project's sites. */
struct aggd_kit {
	struct server_config	 sc;
	char			**sites;
	size_t			 nsites;
	char			 deployed[PATH_MAX]; /* or "" */
};

struct aggd_links {
	void		*ctx;
	struct ipc_link	 requests;	/* ROUTER: netd's site requests */
	struct ipc_link	 control;	/* ROUTER: admind's requests */
	struct ipc_link	 admind;	/* DEALER: notices */
};

static void __attribute__((noreturn))
aggd_usage(void)
{
	fprintf(stderr, "usage: aggd -w workspace -r rundir -c config "
	    "[-s] [-v]\n");
	exit(1);
}

static void
aggd_signal(int sig)
{
	(void)sig;
	aggd_quit = 1;
}

/* aggd_signals - SIGTERM and SIGINT stop the loop; no SA_RESTART, so
 * zmq_poll returns at once; SIGPIPE and SIGXFSZ are ignored */
static void
aggd_signals(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = aggd_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		fatal("sigaction");
	signal(SIGPIPE, SIG_IGN);
	/* Past RLIMIT_FSIZE, a write then fails with EFBIG, which a save
	 * handles as it does a full disk, instead of killing aggd. */
	signal(SIGXFSZ, SIG_IGN);
}

/* aggd_startup - WORKSPACE/startup/name into buf */
static void
aggd_startup(char *buf, size_t len, const char *workspace, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/startup/%s", workspace, name) >=
	    len)
		fatalx("workspace path %s is too long", workspace);
}

/* aggd_configure - the startup kit and the training configuration */
static void
aggd_configure(struct aggd *ag, struct aggd_kit *kit, const char *workspace,
    const char *config)
{
	char	 path[PATH_MAX], err[CONFIG_ERR_MAX];

	memset(kit, 0, sizeof(*kit));
	aggd_startup(path, sizeof(path), workspace, "fed_server.json");
	if (server_config_load(path, &kit->sc, err) == -1)
		fatalx("%s", err);
	aggd_startup(path, sizeof(path), workspace, "authorization.json");
	if (project_sites_load(path, &kit->sites, &kit->nsites, err) == -1)
		fatalx("%s", err);
	/* An operator's deployed configuration outlives a restart. */
	if (model_store_deployed(workspace, kit->deployed,
	    sizeof(kit->deployed))) {
		if (train_config_load(kit->deployed, kit->sites, kit->nsites,
		    &ag->cfg, err) == 0)
			config = NULL;
		else {
			log_warnx("deployed configuration: %s; using %s", err,
			    config);
			kit->deployed[0] = '\0';
		}
	}
	if (config != NULL && train_config_load(config, kit->sites,
	    kit->nsites, &ag->cfg, err) == -1)
		fatalx("%s", err);
	ag->project = kit->sc.name;
	ag->max_payload = kit->sc.max_receive_message;
	ag->max_model = kit->sc.max_send_message;
}

/* aggd_model - the checkpoint's model if usable, else the preload */
static void
aggd_model(struct aggd *ag, size_t max_bytes, struct model *m, int64_t *run,
    int64_t *round)
{
	char	 err[NPZ_ERR_MAX];

	if (model_store_resume(&ag->store, max_bytes, run, round, m)) {
		log_info("resuming run %lld at round %lld from the checkpoint",
		    (long long)*run, (long long)*round);
		return;
	}
	if (ag->cfg.ckpt_preload_path == NULL)
		fatalx("no initial model: the training configuration has no "
		    "ckpt_preload_path and there is no checkpoint");
	if (npz_load(ag->cfg.ckpt_preload_path, max_bytes, m, err) == -1)
		fatalx("initial model %s: %s", ag->cfg.ckpt_preload_path, err);
	if (m->count == 0)
		fatalx("initial model %s has no tensors",
		    ag->cfg.ckpt_preload_path);
	*run = 1;
	*round = ag->cfg.start_round;
	log_info("starting run 1 at round %lld from %s", (long long)*round,
	    ag->cfg.ckpt_preload_path);
}

/*
 * aggd_socket_dir - RUNDIR/aggd, made here when running unprivileged
 * (the packaging makes it otherwise), and the whole runtime folder
 * checked: a second bind would silently steal the socket, so its
 * permissions are the access control of the link.
 */
static void
aggd_socket_dir(const char *rundir, int privileged)
{
	char	 dir[PATH_MAX];

	if ((size_t)snprintf(dir, sizeof(dir), "%s/aggd", rundir) >=
	    sizeof(dir))
		fatalx("runtime folder %s is too long", rundir);
	if (!privileged && ((mkdir(rundir, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(dir, 0700) == -1 && errno != EEXIST)))
		fatal("mkdir %s", dir);
	if (sandbox_runtime_dir(rundir, privileged) == -1)
		fatalx("refusing to run with runtime folder %s", rundir);
}

static void
aggd_links_open(struct aggd_links *links, struct aggd *ag,
    const char *rundir, int privileged)
{
	int	 hwm = AGGD_NOTICE_HWM, timeout = 0;

	if ((links->ctx = zmq_ctx_new()) == NULL)
		fatalx("zmq_ctx_new: %s", zmq_strerror(errno));
	if (ipc_bind(&links->requests, links->ctx, rundir, IPC_TRAINING,
	    ag->max_payload, AGGD_RCVHWM,
	    sandbox_peer_uid("netd", privileged)) == -1 ||
	    ipc_bind(&links->control, links->ctx, rundir, IPC_CONTROL,
	    AGGD_CONTROL_MAX, -1, sandbox_peer_uid("admind", privileged)) == -1)
		fatalx("cannot serve under %s/aggd", rundir);
	if (ipc_connect(&links->admind, links->ctx, rundir, IPC_NOTICE,
	    AGGD_NOTICE_MAX) == -1)
		fatalx("cannot connect to admind under %s", rundir);
	/* Existing pipes take these at once; a notice never blocks aggd. */
	zmq_setsockopt(links->admind.sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(links->admind.sock, ZMQ_SNDTIMEO, &timeout,
	    sizeof(timeout));
	ag->notice.link = &links->admind;
}

static void
aggd_links_close(struct aggd_links *links)
{
	ipc_close(&links->requests);
	ipc_close(&links->control);
	ipc_close(&links->admind);
	zmq_ctx_term(links->ctx);
}

/* aggd_answer - one request, one reply with the request's id */
static void
aggd_answer(struct aggd *ag, struct ipc_link *link, struct ipc_msg *msg)
{
	Flipc__Envelope	 env;
	struct reply	 rep;
	const void	*payload;
	size_t		 len;

	payload = ipc_payload(msg, &len);
	switch (msg->env->kind) {
	case FLIPC__KIND__REGISTER ... FLIPC__KIND__SUBMIT_VALIDATION_RESULTS:
		training_request(ag, msg->env, payload, len, aggd_now(), &rep);
		break;
	case FLIPC__KIND__SERVER_STATUS ... FLIPC__KIND__VALIDATION_RESULTS:
		control_request(ag, msg->env, payload, len, &rep);
		break;
	case FLIPC__KIND__REPLY:
	case FLIPC__KIND__NOTICE_SITE:
	case FLIPC__KIND__NOTICE_ROUND:
		log_debug("ignored a message of kind %d", msg->env->kind);
		return;
	default:
		memset(&rep, 0, sizeof(rep));
		training_reply(&rep, FL_UNIMPLEMENTED, "kind %d is not an "
		    "aggd request", msg->env->kind);
		break;
	}
	ipc_reply_env(&env, msg->env, rep.status, rep.message);
	ipc_send(link, &msg->routing, &env, rep.payload, rep.len, rep.free_fn,
	    rep.hint);
}

/* aggd_requests - answer what is waiting, a batch at most */
static void
aggd_requests(struct aggd *ag, struct ipc_link *link)
{
	struct ipc_msg	 msg;
	int		 i, rv;

	for (i = 0; i < AGGD_BATCH; i++) {
		if ((rv = ipc_recv(link, &msg, ZMQ_DONTWAIT)) == 0)
			return;
		if (rv == 1) {
			aggd_answer(ag, link, &msg);
			ipc_msg_free(&msg);
			/* A round may close now: with the request freed, its
			 * update's copies are not held along with the new
			 * model. */
			round_tick(&ag->round, aggd_now());
		}
	}
}

/* aggd_drain - admind sends nothing on the notice link; drop anything */
static void
aggd_drain(struct ipc_link *link)
{
	struct ipc_msg	 msg;
	int		 i;

	for (i = 0; i < AGGD_BATCH; i++)
		if (ipc_recv(link, &msg, ZMQ_DONTWAIT) == 1) {
			log_debug("ignored a message from admind on the "
			    "notice link");
			ipc_msg_free(&msg);
		} else
			return;
}

static void
aggd_loop(struct aggd *ag, struct aggd_links *links)
{
	zmq_pollitem_t	 items[3];

	while (!aggd_quit) {
		memset(items, 0, sizeof(items));
		items[0].socket = links->requests.sock;
		items[0].events = ZMQ_POLLIN;
		items[1].socket = links->control.sock;
		items[1].events = ZMQ_POLLIN;
		items[2].socket = links->admind.sock;
		items[2].events = ZMQ_POLLIN;
		if (zmq_poll(items, 3, AGGD_TICK_MS) == -1 && errno != EINTR)
			fatalx("zmq_poll: %s", zmq_strerror(errno));
		if (items[0].revents & ZMQ_POLLIN)
			aggd_requests(ag, &links->requests);
		if (items[1].revents & ZMQ_POLLIN)
			aggd_requests(ag, &links->control);
		if (items[2].revents & ZMQ_POLLIN)
			aggd_drain(&links->admind);
		round_tick(&ag->round, aggd_now());
	}
}

/* aggd_state - registry, model store and rounds from the configuration */
static void
aggd_state(struct aggd *ag, const struct aggd_kit *kit,
    const char *workspace)
{
	struct model	 global;
	int64_t		 run, round;

	if (model_store_init(&ag->store, workspace,
	    ag->cfg.keep_round_models) == -1 ||
	    registry_init(&ag->reg, kit->sites, kit->nsites,
	    ag->cfg.max_num_clients, ag->cfg.heart_beat_timeout) == -1 ||
	    (kit->deployed[0] != '\0' &&
	    (ag->store.config = strdup(kit->deployed)) == NULL))
		fatal("start-up");
	aggd_model(ag, kit->sc.max_send_message, &global, &run, &round);
	if (round_init(&ag->round, ag->project, &ag->reg, &ag->cfg,
	    &ag->store, &ag->notice, &global, run, round) == -1 ||
	    crossval_init(&ag->xv, &ag->round, ag->max_model) == -1)
		fatal("round state");
}

static void
aggd_free(struct aggd *ag, struct aggd_kit *kit)
{
	crossval_free(&ag->xv);
	round_free(&ag->round);
	registry_free(&ag->reg);
	model_store_free(&ag->store);
	train_config_free(&ag->cfg);
	project_sites_free(kit->sites, kit->nsites);
	server_config_free(&kit->sc);
}

int
main(int argc, char *argv[])
{
	const char		*workspace = NULL, *rundir = NULL;
	const char		*config = NULL;
	struct aggd_kit		 kit;
	struct aggd		 ag;
	struct aggd_links	 links;
	int			 ch, autostart = 0, verbose = 0, privileged;

	while ((ch = getopt(argc, argv, "c:r:svw:")) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'r':
			rundir = optarg;
			break;
		case 's':
			autostart = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'w':
			workspace = optarg;
			break;
		default:
			aggd_usage();
		}
	}
	if (workspace == NULL || rundir == NULL || config == NULL ||
	    optind != argc)
		aggd_usage();
	log_init("aggd", verbose);
	privileged = sandbox_identity("flaggd");
	kitsig_require_workspace(workspace, kitsig_aggd_files);
	/* Privileged, group flserver (admind) reads models and sockets. */
	umask(privileged ? 007 : 077);

	memset(&ag, 0, sizeof(ag));
	aggd_configure(&ag, &kit, workspace, config);
	aggd_state(&ag, &kit, workspace);
	ag.round.autostart = autostart;

	aggd_socket_dir(rundir, privileged);
	aggd_links_open(&links, &ag, rundir, privileged);
	aggd_signals();
	sandbox_enter(seccomp_aggd_rules, seccomp_aggd_nrules);
	log_info("project %s, %zu sites, run %lld, round %lld (%s), "
	    "%zu tensors: ready", ag.project, kit.nsites,
	    (long long)ag.round.run, (long long)ag.round.number,
	    round_state_name(&ag.round), ag.round.global.count);

	aggd_loop(&ag, &links);

	log_info("stopping");
	aggd_links_close(&links);
	aggd_free(&ag, &kit);
	return 0;
}
