/*
 * flsite - the reference FL site: trains a logistic regression on a CSV
 * table, federated with an flserver (or Clara-compatible) training
 * service, or alone.
 *
 *   flsite -k KITDIR -d DATA.csv [-e EPOCHS] [-l RATE] [-B BATCH]
 *          [-b HEARTBEAT_S] [-p POLL_S] [-w WORKSPACE] [-S] [-X] [-v]
 *						federated training
 *   flsite -T -d DATA.csv -m INIT.npz -o OUT.npz [-e -l -B]
 *						training without a server
 *   flsite -E -d DATA.csv -m MODEL.npz	accuracy and log-loss
 *
 * Federated, the site registers, beats, and each round fetches the
 * global model, trains from it and sends the difference, until the
 * server says training is over. It keeps the local model of the round
 * with the lowest log-loss on its own table (bestmodel.c) and then takes
 * part in the server's cross-site validation (crosssite.c): its best
 * model goes to the server, and it validates every model the server
 * hands it on its own table. -X skips that part; a server without it
 * ends it at once. Then it quits (exit 0). Any other end is an error
 * (exit 1), after a Quit when the server can still hear it.
 *
 * Meanwhile the relay thread answers admins' requests (relay.c, topic.c):
 * an abort stops the training between two batches and the site waits,
 * beating but fetching no model, for train.start; a restart registers
 * again; a shutdown sends Quit and exits 0. The shell-like commands read
 * WORKSPACE, by default the folder that holds the kit's folder; -S
 * refuses them all.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bestmodel.h"
#include "control.h"
#include "crosssite.h"
#include "dataset.h"
#include "grpc_client.h"
#include "kit.h"
#include "kitsig.h"
#include "log.h"
#include "logreg.h"
#include "npz.h"
#include "relay.h"
#include "session.h"
#include "status.h"

#define SITE_MODEL_MAX		((size_t)KIT_DEFAULT_MESSAGE_MAX)
/* Registrations in a row without the server taking a request of ours. */
#define SITE_REAUTH_MAX		5

enum site_mode { SITE_FEDERATED, SITE_TRAIN, SITE_EVALUATE };
enum site_next { SITE_CONTINUE, SITE_FINISHED, SITE_FAILED };

struct site_options {
	enum site_mode		 mode;
	const char		*kit;
	const char		*data;
	const char		*model;
	const char		*out;
	const char		*workspace;
	struct logreg_settings	 train;
	int			 heartbeat;
	int			 poll;
	int			 no_shell;
	int			 no_crosssite;
	int			 verbose;
};

struct site {
	const struct site_options	*opts;
	struct kit			 kit;
	struct dataset			 data;
	struct session			 session;
	struct control			 control;
	struct relay			 relay;
	char				*workspace;
	int				 reauth;
	int				 paused;	/* logged once */

	/* A round's model fetched, then not trained: stopped by an admin. */
	struct model			 held;
	struct session_round		 held_round;
	int				 holding;

	/* Training is over: cross-site validation. */
	struct bestmodel		 best;
	struct crosssite		 crosssite;
	int				 validating;
};

static void __attribute__((noreturn))
site_usage(void)
{
	fprintf(stderr,
	    "usage: flsite -k kitdir -d data.csv [-v] [-e epochs] "
	    "[-l rate] [-B batch]\n"
	    "              [-b heartbeat_seconds] [-p poll_seconds] "
	    "[-w workspace] [-S] [-X]\n"
	    "       flsite -T -d data.csv -m init.npz -o out.npz "
	    "[-e epochs] [-l rate] [-B batch]\n"
	    "       flsite -E -d data.csv -m model.npz\n");
	exit(1);
}

/* site_int - an integer option within [lo, hi] */
static long
site_int(const char *arg, long lo, long hi, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (end == arg || *end != '\0' || errno != 0 || v < lo || v > hi)
		fatalx("%s must be an integer from %ld to %ld: \"%s\"", what,
		    lo, hi, arg);
	return v;
}

/* site_rate - a positive finite learning rate */
static double
site_rate(const char *arg)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(arg, &end);
	if (end == arg || *end != '\0' || errno != 0 || !isfinite(v) ||
	    v <= 0.0)
		fatalx("the learning rate must be a positive number: \"%s\"",
		    arg);
	return v;
}

/* site_options - the command line, checked for the mode it asks for */
static void
site_options(int argc, char **argv, struct site_options *o)
{
	int	 ch;

	memset(o, 0, sizeof(*o));
	o->train.epochs = 1;
	o->train.lr = 0.1;
	o->train.batch = 16;
	o->heartbeat = 60;
	o->poll = 1;
	while ((ch = getopt(argc, argv, "B:b:d:Ee:k:l:m:o:p:STvw:X")) != -1) {
		switch (ch) {
		case 'B':
			o->train.batch = site_int(optarg, 1, INT_MAX,
			    "the batch size");
			break;
		case 'b':
			o->heartbeat = site_int(optarg, 1, 86400,
			    "the heartbeat period");
			break;
		case 'd':
			o->data = optarg;
			break;
		case 'E':
			o->mode = SITE_EVALUATE;
			break;
		case 'e':
			o->train.epochs = site_int(optarg, 1, 1000000,
			    "the number of epochs");
			break;
		case 'k':
			o->kit = optarg;
			break;
		case 'l':
			o->train.lr = site_rate(optarg);
			break;
		case 'm':
			o->model = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'p':
			o->poll = site_int(optarg, 1, 3600,
			    "the poll period");
			break;
		case 'S':
			o->no_shell = 1;
			break;
		case 'T':
			o->mode = SITE_TRAIN;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'w':
			o->workspace = optarg;
			break;
		case 'X':
			o->no_crosssite = 1;
			break;
		default:
			site_usage();
		}
	}
	if (optind != argc || o->data == NULL)
		site_usage();
	if (o->mode == SITE_FEDERATED && (o->kit == NULL || o->model != NULL ||
	    o->out != NULL))
		site_usage();
	if (o->mode != SITE_FEDERATED && (o->kit != NULL ||
	    o->workspace != NULL || o->no_shell || o->no_crosssite))
		site_usage();
	if ((o->mode == SITE_TRAIN && (o->model == NULL || o->out == NULL)) ||
	    (o->mode == SITE_EVALUATE && (o->model == NULL || o->out != NULL)))
		site_usage();
}

static void
site_load_data(const char *path, struct dataset *ds)
{
	char	 err[DATASET_ERR_MAX];

	if (dataset_load(path, ds, err) == -1)
		fatalx("%s", err);
}

static void
site_load_model(const char *path, struct model *m)
{
	char	 err[NPZ_ERR_MAX];

	memset(m, 0, sizeof(*m));
	if (npz_load(path, SITE_MODEL_MAX, m, err) == -1)
		fatalx("%s", err);
}

/* site_train_alone - -T: the same training, from a file to a file */
static int
site_train_alone(const struct site_options *o)
{
	struct dataset	 ds;
	struct model	 m;
	int64_t		 steps;
	char		 err[NPZ_ERR_MAX];

	site_load_data(o->data, &ds);
	site_load_model(o->model, &m);
	if (logreg_train(&m, &ds, &o->train, &steps, err) == -1)
		fatalx("%s: %s", o->model, err);
	if (npz_save(o->out, &m, err) == -1)
		fatalx("%s", err);
	log_info("trained %lld steps on %zu rows into %s", (long long)steps,
	    ds.rows, o->out);
	model_free(&m);
	dataset_free(&ds);
	return 0;
}

/* site_evaluate - -E: one line on standard output */
static int
site_evaluate(const struct site_options *o)
{
	struct dataset	 ds;
	struct model	 m;
	double		 accuracy, loss;
	char		 err[LOGREG_ERR_MAX];

	site_load_data(o->data, &ds);
	site_load_model(o->model, &m);
	if (logreg_evaluate(&m, &ds, &accuracy, &loss, err) == -1)
		fatalx("%s: %s", o->model, err);
	printf("accuracy %.4f log_loss %.4f\n", accuracy, loss);
	model_free(&m);
	dataset_free(&ds);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* site_model_copy - dst becomes a copy of src, tensor by tensor */
static int
site_model_copy(const struct model *src, struct model *dst)
{
	const struct tensor	*s;
	struct tensor		 t;
	size_t			 i;

	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < src->count; i++) {
		s = &src->tensors[i];
		if (tensor_alloc(&t, s->name, s->dtype, s->ndim,
		    s->shape) == -1 || model_add(dst, &t) == -1) {
			model_free(dst);
			return -1;
		}
		memcpy(dst->tensors[i].data, s->data,
		    s->count * dtype_size(s->dtype));
	}
	return 0;
}

/* site_register - a new token; a refusal ends the site */
static int
site_register(struct site *st)
{
	struct session	*s = &st->session;
	int		 rc;

	if ((rc = session_register(s)) == FL_OK) {
		log_info("registered as %s with %s, project %s", st->kit.site,
		    st->kit.target, st->kit.project);
		return 0;
	}
	if (rc == -1)
		log_warnx("%s", s->message);
	else
		log_warnx("Register: %s: %s", session_code_name(rc),
		    s->message);
	return -1;
}

/* site_reregister - the server forgot our token: register once more */
static enum site_next
site_reregister(struct site *st, const char *rpc)
{
	/* The relay's refusal is its own: the session's message is older. */
	log_info("%s: token refused (%s); registering again", rpc,
	    strcmp(rpc, "Retrieve") == 0 ? "on the admin channel" :
	    st->session.message);
	if (++st->reauth > SITE_REAUTH_MAX) {
		log_warnx("%s: token refused %d times in a row; giving up",
		    rpc, SITE_REAUTH_MAX);
		return SITE_FAILED;
	}
	return site_register(st) == 0 ? SITE_CONTINUE : SITE_FAILED;
}

/*
 * site_training_over - the server says training has finished: cross-site
 * validation comes next, unless -X.
 */
static enum site_next
site_training_over(struct site *st)
{
	log_info("training finished: %s", st->session.message);
	if (st->opts->no_crosssite)
		return SITE_FINISHED;
	if (!st->validating)
		crosssite_init(&st->crosssite);
	st->validating = 1;
	return SITE_CONTINUE;
}

/* site_refused - a status the loop has no answer for */
static enum site_next
site_refused(struct site *st, const char *rpc, int rc)
{
	if (rc == -1)
		log_warnx("%s", st->session.message);
	else
		log_warnx("%s: %s: %s", rpc, session_code_name(rc),
		    st->session.message);
	return SITE_FAILED;
}

/* site_submit - send local - global, and act on the answer */
static enum site_next
site_submit(struct site *st, const struct session_round *round,
    const struct model *global, const struct model *local, int64_t steps)
{
	int	 rc;

	rc = session_submit(&st->session, round, global, local, steps);
	switch (rc) {
	case FL_OK:
		st->reauth = 0;
		log_info("round %lld: trained %lld steps on %zu rows, update "
		    "sent", (long long)round->round, (long long)steps,
		    st->data.rows);
		return SITE_CONTINUE;
	case FL_FAILED_PRECONDITION:
		if (strncmp(st->session.message, "Contrib", 7) != 0)
			break;
		st->reauth = 0;
		log_warnx("round %lld: update refused (%s); dropped",
		    (long long)round->round, st->session.message);
		return SITE_CONTINUE;
	case FL_UNAUTHENTICATED:
		return site_reregister(st, "SubmitUpdate");
	case FL_OUT_OF_RANGE:
		return site_training_over(st);
	}
	return site_refused(st, "SubmitUpdate", rc);
}

/*
 * site_train_local - train a copy of the global model: 0 when trained,
 * 1 when an admin cut it short (nothing to free), -1 on failure.
 */
static int
site_train_local(struct site *st, const struct model *global,
    const struct session_round *round, struct model *local, int64_t *steps)
{
	char	 err[LOGREG_ERR_MAX];

	if (site_model_copy(global, local) == -1) {
		log_warn("round %lld: copying the model",
		    (long long)round->round);
		return -1;
	}
	if (logreg_train_until(local, &st->data, &st->opts->train,
	    &st->control.cancel, steps, err) == 0 &&
	    !control_cancelled(&st->control))
		return 0;
	model_free(local);
	if (control_cancelled(&st->control)) {
		log_info("round %lld: training stopped by an admin; the "
		    "model is dropped", (long long)round->round);
		return 1;
	}
	log_warnx("round %lld: the server's model: %s",
	    (long long)round->round, err);
	return -1;
}

/*
 * site_hold - keep a round's model that a stop kept from training: the
 * server hands it out once per round, so a site that is alone could
 * never finish the round otherwise.
 */
static void
site_hold(struct site *st, struct model *global,
    const struct session_round *round)
{
	model_free(&st->held);
	st->held = *global;
	st->held_round = *round;
	st->holding = 1;
	memset(global, 0, sizeof(*global));
	log_info("round %lld: the model is kept until training resumes",
	    (long long)round->round);
}

/* site_drop_held - forget a kept model: a new registration fetches anew */
static void
site_drop_held(struct site *st)
{
	model_free(&st->held);
	st->holding = 0;
}

/* site_keep_best - offer a trained model as our best; it is taken */
static void
site_keep_best(struct site *st, struct model *local,
    const struct session_round *round)
{
	char	 err[LOGREG_ERR_MAX];

	if (st->opts->no_crosssite) {
		model_free(local);
		return;
	}
	switch (bestmodel_offer(&st->best, local, &st->data, round->round,
	    err)) {
	case 1:
		log_debug("round %lld: our best local model so far, log-loss "
		    "%.6f", (long long)round->round, st->best.log_loss);
		break;
	case -1:
		log_warnx("round %lld: the trained model: %s",
		    (long long)round->round, err);
		break;
	}
}

/*
 * site_contribute - train from the global model, send the difference.
 * A model that an admin's stop kept from training is taken from global
 * and held.
 */
static enum site_next
site_contribute(struct site *st, struct model *global,
    const struct session_round *round)
{
	struct model	 local;
	enum site_next	 next = SITE_CONTINUE;
	int64_t		 steps;

	if (control_begin(&st->control, round->run, round->round) == -1) {
		site_hold(st, global, round);
		return SITE_CONTINUE;
	}
	switch (site_train_local(st, global, round, &local, &steps)) {
	case 0:
		next = site_submit(st, round, global, &local, steps);
		site_keep_best(st, &local, round);
		break;
	case 1:
		site_hold(st, global, round);
		break;
	case -1:
		next = SITE_FAILED;
		break;
	}
	control_end(&st->control);
	return next;
}

/* site_resume - train the model kept through a stop */
static enum site_next
site_resume(struct site *st)
{
	struct model		 global = st->held;
	struct session_round	 round = st->held_round;
	enum site_next		 next;

	memset(&st->held, 0, sizeof(st->held));
	st->holding = 0;
	log_info("round %lld: training the model kept through the stop",
	    (long long)round.round);
	next = site_contribute(st, &global, &round);
	model_free(&global);
	return next;
}

/* site_round - ask for the global model and act on the answer */
static enum site_next
site_round(struct site *st)
{
	struct session		*s = &st->session;
	struct session_round	 round;
	struct model		 global;
	enum site_next		 next;
	int			 rc;

	switch ((rc = session_get_model(s, &global, &round))) {
	case FL_OK:
		next = site_contribute(st, &global, &round);
		model_free(&global);
		return next;
	case FL_RESOURCE_EXHAUSTED:
		if (strncmp(s->message, "No token", 8) != 0)
			break;
		st->reauth = 0;
		log_debug("no model for us yet: %s", s->message);
		session_sleep(s, st->opts->poll);
		return SITE_CONTINUE;
	case FL_OUT_OF_RANGE:
		return site_training_over(st);
	case FL_UNAUTHENTICATED:
		return site_reregister(st, "GetModel");
	}
	return site_refused(st, "GetModel", rc);
}

/* site_pause - stopped by an admin: beat, answer, fetch no model */
static enum site_next
site_pause(struct site *st)
{
	if (!st->paused)
		log_info("training stopped by an admin; waiting for "
		    "train.start");
	st->paused = 1;
	session_sleep_ms(&st->session, RELAY_POLL_MS);
	return SITE_CONTINUE;
}

/* site_validate - a step of cross-site validation */
static enum site_next
site_validate(struct site *st)
{
	struct crosssite	*xs = &st->crosssite;

	switch (crosssite_step(xs, &st->session, &st->data, &st->best,
	    st->opts->poll)) {
	case CROSSSITE_AGAIN:
		st->reauth = 0;
		return SITE_CONTINUE;
	case CROSSSITE_DONE:
		return SITE_FINISHED;
	case CROSSSITE_REAUTH:
		return site_reregister(st, xs->rpc);
	default:
		return SITE_FAILED;
	}
}

/* site_step - what the admins asked for, else a step of the rounds */
static enum site_next
site_step(struct site *st)
{
	enum control_next	 next = control_next(&st->control);

	if (next == CONTROL_SHUTDOWN) {
		log_info("shutting down at an admin's request");
		return SITE_FINISHED;
	}
	if (next == CONTROL_RESTART) {
		log_info("registering again at an admin's request");
		st->paused = 0;
		site_drop_held(st);
		return site_register(st) == 0 ? SITE_CONTINUE : SITE_FAILED;
	}
	/* The relay found the token dead; nothing else may notice. */
	if (session_token_dead(&st->session))
		return site_reregister(st, "Retrieve");
	if (next == CONTROL_PAUSE)
		return site_pause(st);
	if (st->paused) {
		log_info("training resumed by an admin");
		st->paused = 0;
	}
	if (st->validating)
		return site_validate(st);
	return st->holding ? site_resume(st) : site_round(st);
}

/* site_train_federated - register, beat, and train round after round */
static int
site_train_federated(struct site *st, const struct topic_site *site)
{
	struct session	*s = &st->session;
	enum site_next	 next = SITE_FAILED;
	int		 rc;

	if (site_register(st) == -1)
		return 1;
	if (session_heartbeat_start(s, st->opts->heartbeat) == -1) {
		log_warn("heartbeat thread");
		goto quit;
	}
	if (relay_start(&st->relay, s, site) == -1) {
		log_warn("admin relay thread");
		session_heartbeat_stop(s);
		goto quit;
	}
	do {
		if (session_stop_pending(s))
			break;
		next = site_step(st);
	} while (next == SITE_CONTINUE && !s->stopping);
	if (s->stopping)
		next = SITE_FAILED;
	relay_stop(&st->relay);
	session_heartbeat_stop(s);

 quit:
	/* A server that is away would only make us wait again. */
	if (s->last_status != FL_UNAVAILABLE) {
		if ((rc = session_quit(s)) != FL_OK)
			log_warnx("Quit: %s: %s", rc == -1 ? "failed" :
			    session_code_name(rc), s->message);
	}
	return next == SITE_FINISHED ? 0 : 1;
}

/* site_workspace - -w, or the folder that holds the kit's, absolute */
static char *
site_workspace(const struct site_options *o)
{
	struct stat	 sb;
	char		*path, *slash;

	if ((path = realpath(o->workspace != NULL ? o->workspace : o->kit,
	    NULL)) == NULL)
		fatal("%s", o->workspace != NULL ? o->workspace : o->kit);
	if (o->workspace == NULL && (slash = strrchr(path, '/')) != NULL)
		slash[slash == path ? 1 : 0] = '\0';
	if (stat(path, &sb) == -1 || !S_ISDIR(sb.st_mode))
		fatalx("the workspace %s is not a folder", path);
	return path;
}

/* site_federated - the kit, the table, grpc, and the training */
static int
site_federated(const struct site_options *o)
{
	struct site		 st;
	struct topic_site	 site;
	sigset_t		 stop;
	char			 err[KIT_ERR_MAX];
	int			 rc;

	memset(&st, 0, sizeof(st));
	st.opts = o;
	kitsig_require(o->kit, kitsig_site_files);
	if (kit_load(o->kit, &st.kit, err) == -1)
		fatalx("%s", err);
	site_load_data(o->data, &st.data);
	st.workspace = site_workspace(o);
	log_info("workspace %s%s", st.workspace, o->no_shell ?
	    "; remote shell commands are refused" : "");
	control_init(&st.control);
	site.site = st.kit.site;
	site.workspace = st.workspace;
	site.no_shell = o->no_shell;
	site.control = &st.control;

	/* Before grpc starts its threads, so that they inherit the mask. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	if ((errno = pthread_sigmask(SIG_BLOCK, &stop, NULL)) != 0)
		fatal("pthread_sigmask");
	signal(SIGPIPE, SIG_IGN);

	grpc_client_init();
	if (session_open(&st.session, &st.kit, &stop) == -1)
		fatalx("cannot open a channel to %s", st.kit.target);
	rc = site_train_federated(&st, &site);
	session_close(&st.session);
	grpc_client_shutdown();
	control_destroy(&st.control);
	site_drop_held(&st);
	bestmodel_free(&st.best);
	free(st.workspace);
	dataset_free(&st.data);
	kit_free(&st.kit);
	return rc;
}

int
main(int argc, char **argv)
{
	struct site_options	 o;

	log_init("flsite", 0);
	site_options(argc, argv, &o);
	log_init("flsite", o.verbose);
	switch (o.mode) {
	case SITE_TRAIN:
		return site_train_alone(&o);
	case SITE_EVALUATE:
		return site_evaluate(&o);
	default:
		return site_federated(&o);
	}
}
