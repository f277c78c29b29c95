/*
 * deploy - a training configuration that an operator deploys, as a
 * config_fed_server.json inside the workspace (admind puts deployed
 * MMARs there).
 *
 * It is loaded and checked whole, with its initial model, before
 * anything changes: an error names the key, and the server keeps what it
 * had. Then the configuration, its ckpt_preload_path as the global model
 * and its start_round are the current run's; the run's initial model
 * and the checkpoint record them, so a restarted aggd uses the deployed
 * configuration rather than the one it was started with. A run that has
 * saved a round is not redone: the operator sets a new run number first.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggd.h"
#include "log.h"
#include "npz.h"

/* Longest part of a request's path quoted back in a message. */
#define DEPLOY_SHOWN		120

/* deploy_path - config, relative to the workspace or absolute, as a real
 * path inside the workspace; -1 with the reason */
static int
deploy_path(const struct aggd *ag, const char *config, char *real,
    struct reply *rep)
{
	char	 path[PATH_MAX], ws[PATH_MAX], shown[DEPLOY_SHOWN + 1];
	size_t	 i, n;

	for (i = 0; config[i] != '\0' && i < DEPLOY_SHOWN; i++)
		shown[i] = (config[i] >= 0x20 && config[i] < 0x7f) ?
		    config[i] : '?';
	shown[i] = '\0';
	if (config[0] == '/')
		n = (size_t)snprintf(path, sizeof(path), "%s", config);
	else
		n = (size_t)snprintf(path, sizeof(path), "%s/%s",
		    ag->store.workspace, config);
	if (n >= sizeof(path) || realpath(ag->store.workspace, ws) == NULL ||
	    realpath(path, real) == NULL) {
		training_reply(rep, FL_INVALID_ARGUMENT, "config: %s: %s",
		    shown, n >= sizeof(path) ? "too long" : strerror(errno));
		return -1;
	}
	n = strlen(ws);
	if (strncmp(real, ws, n) != 0 || real[n] != '/') {
		training_reply(rep, FL_INVALID_ARGUMENT, "config: %s is not "
		    "inside the workspace", shown);
		return -1;
	}
	return 0;
}

/* deploy_load - the configuration and its initial model */
static int
deploy_load(struct aggd *ag, const char *path, struct train_config *cfg,
    struct model *global, struct reply *rep)
{
	char		 err[CONFIG_ERR_MAX], nerr[NPZ_ERR_MAX];
	char		**names;
	size_t		 i;
	int		 rv;

	if ((names = calloc(ag->reg.nsites + 1, sizeof(*names))) == NULL) {
		training_reply(rep, FL_INTERNAL, "out of memory");
		return -1;
	}
	for (i = 0; i < ag->reg.nsites; i++)
		names[i] = (char *)ag->reg.sites[i].name;
	rv = train_config_load(path, names, ag->reg.nsites, cfg, err);
	free(names);
	if (rv == -1) {
		training_reply(rep, FL_INVALID_ARGUMENT, "%s", err);
		return -1;
	}
	rv = npz_load(cfg->ckpt_preload_path, ag->max_model, global, nerr);
	if (rv == -1 || global->count == 0) {
		training_reply(rep, FL_INVALID_ARGUMENT, "ckpt_preload_path: "
		    "%s", rv == -1 ? nerr : "the model has no tensors");
		model_free(global);
		train_config_free(cfg);
		return -1;
	}
	return 0;
}

/* deploy_record - the run's initial model and the checkpoint naming the
 * configuration; on failure the store is as it was */
static int
deploy_record(struct aggd *ag, const char *path, const struct model *global,
    int64_t start_round)
{
	char	*config, *old = ag->store.config;

	if ((config = strdup(path)) == NULL)
		return -1;
	ag->store.config = config;
	if (model_store_begin_run(&ag->store, ag->round.run, start_round,
	    global) == -1) {
		ag->store.config = old;
		free(config);
		return -1;
	}
	free(old);
	return 0;
}

/*
 * deploy_config - config becomes the training configuration. Returns 0,
 * or -1 with the reply set and nothing changed. The caller checked that
 * training is not running.
 */
int
deploy_config(struct aggd *ag, const char *config, struct reply *rep)
{
	char			 path[PATH_MAX];
	struct train_config	 cfg;
	struct model		 global;
	struct fedavg		 acc;

	memset(&global, 0, sizeof(global));
	if (deploy_path(ag, config, path, rep) == -1)
		return -1;
	if (run_folder_trained(&ag->store, ag->round.run)) {
		training_reply(rep, FL_FAILED_PRECONDITION, "run %lld has "
		    "saved rounds: set a new run number before deploying",
		    (long long)ag->round.run);
		return -1;
	}
	if (deploy_load(ag, path, &cfg, &global, rep) == -1)
		return -1;
	if (fedavg_init(&acc, &global, &cfg) == -1 ||
	    deploy_record(ag, path, &global, cfg.start_round) == -1) {
		fedavg_free(&acc);
		model_free(&global);
		train_config_free(&cfg);
		training_reply(rep, FL_INTERNAL, "the configuration could "
		    "not be recorded in run %lld", (long long)ag->round.run);
		return -1;
	}

	train_config_free(&ag->cfg);
	ag->cfg = cfg;
	ag->reg.max_clients = cfg.max_num_clients;
	ag->reg.timeout = cfg.heart_beat_timeout;
	ag->store.keep_round_models = cfg.keep_round_models;
	round_replace(&ag->round, &global, &acc);
	log_info("configuration %s deployed: run %lld starts at round %lld "
	    "(%s server, %zu tensors)", path, (long long)ag->round.run,
	    (long long)ag->round.number, train_config_server_type(&ag->cfg),
	    ag->round.global.count);
	return 0;
}
