/*
 * aggd_fixture - a whole aggd without its links, for the unit tests of
 * control.c, robin.c and crossval.c: the real registry, rounds, model
 * store, cross-site validation and training configuration on a
 * throwaway workspace.
 *
 * The project has three sites (site-a, site-b, site-c); the initial
 * global model, WORKSPACE/m.npz, is one float64 tensor w = (1, 2). The
 * training configuration is min_num_clients 2, wait 10 s, num_rounds 2,
 * heart_beat_timeout 60, plus what a test adds. Time is given by the
 * tests, so nothing here sleeps. The helpers are inline so that a test
 * need not use them all.
 */
#ifndef AGGD_FIXTURE_H
#define AGGD_FIXTURE_H

#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../aggd/aggd.h"
#include "npy.h"
#include "npz.h"

static char *fixture_sites[] = { "site-a", "site-b", "site-c" };

struct fixture {
	char		 workspace[64];
	struct aggd	 ag;
	char		 msg[AGGD_MSG_MAX];
	char		*reply;		/* the last control reply's JSON */
};

/* fixture_model - one float64 tensor w = (w0, w1) */
static inline void
fixture_model(struct model *m, double w0, double w1)
{
	struct tensor	 t;
	int64_t		 shape[1] = { 2 };

	memset(m, 0, sizeof(*m));
	assert_int_equal(tensor_alloc(&t, "w", DTYPE_FLOAT64, 1, shape), 0);
	tensor_set(&t, 0, w0);
	tensor_set(&t, 1, w1);
	assert_int_equal(model_add(m, &t), 0);
}

/* fixture_write - WORKSPACE/name with text */
static inline void
fixture_write(struct fixture *f, const char *name, const char *text)
{
	char	 path[PATH_MAX];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", f->workspace, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

/* fixture_config - WORKSPACE/name, the base configuration plus extra
 * keys ("" for none, else starting with a comma) */
static inline void
fixture_config(struct fixture *f, const char *name, const char *extra)
{
	char	 json[2048];

	snprintf(json, sizeof(json), "{\"ckpt_preload_path\": \"m.npz\", "
	    "\"min_num_clients\": 2, \"wait_after_min_clients\": 10, "
	    "\"heart_beat_timeout\": 60, \"num_rounds\": 2%s}", extra);
	fixture_write(f, name, json);
}

static inline struct fixture *
fixture_new(const char *extra)
{
	struct fixture	*f = calloc(1, sizeof(*f));
	char		 path[PATH_MAX], err[CONFIG_ERR_MAX];
	struct aggd	*ag;
	struct model	 g;

	assert_non_null(f);
	ag = &f->ag;
	snprintf(f->workspace, sizeof(f->workspace), "/tmp/test_aggd.XXXXXX");
	assert_non_null(mkdtemp(f->workspace));
	fixture_model(&g, 1, 2);
	snprintf(path, sizeof(path), "%s/m.npz", f->workspace);
	assert_int_equal(npz_save(path, &g, err), 0);
	fixture_config(f, "config.json", extra);
	snprintf(path, sizeof(path), "%s/config.json", f->workspace);
	if (train_config_load(path, fixture_sites, 3, &ag->cfg, err) == -1)
		fail_msg("config: %s", err);

	ag->project = "test";
	ag->max_payload = ag->max_model = 1 << 20;
	assert_int_equal(registry_init(&ag->reg, fixture_sites, 3,
	    ag->cfg.max_num_clients, ag->cfg.heart_beat_timeout), 0);
	assert_int_equal(model_store_init(&ag->store, f->workspace,
	    ag->cfg.keep_round_models), 0);
	assert_int_equal(round_init(&ag->round, ag->project, &ag->reg,
	    &ag->cfg, &ag->store, &ag->notice, &g, 1, 0), 0);
	assert_int_equal(crossval_init(&ag->xv, &ag->round, 1 << 20), 0);
	return f;
}

static inline void
fixture_free(struct fixture *f)
{
	char	 cmd[128];

	crossval_free(&f->ag.xv);
	round_free(&f->ag.round);
	model_store_free(&f->ag.store);
	registry_free(&f->ag.reg);
	train_config_free(&f->ag.cfg);
	free(f->reply);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->workspace);
	assert_int_equal(system(cmd), 0);
	free(f);
}

/* fixture_exists - WORKSPACE/rel is there */
static inline int
fixture_exists(struct fixture *f, const char *rel)
{
	char		 path[PATH_MAX];
	struct stat	 sb;

	snprintf(path, sizeof(path), "%s/%s", f->workspace, rel);
	return lstat(path, &sb) == 0;
}

static inline struct site *
fixture_register(struct fixture *f, const char *name, double now)
{
	struct site	*site = registry_site(&f->ag.reg, name);

	assert_non_null(site);
	assert_int_equal(registry_register(&f->ag.reg, site, now, f->msg,
	    sizeof(f->msg)), FL_OK);
	return site;
}

/* fixture_fetch - GetModel for site; the model, if any, into m */
static inline enum fl_status
fixture_fetch(struct fixture *f, struct site *site)
{
	struct model_buf	*mb = NULL;
	enum fl_status		 st;

	st = round_fetch(&f->ag.round, site, 1 << 20, &mb, f->msg,
	    sizeof(f->msg));
	if (st == FL_OK)
		model_cache_release(mb->data, mb);
	return st;
}

/* fixture_update - site's update (u0, u1) of type, then a tick */
static inline void
fixture_update(struct fixture *f, struct site *site, double u0, double u1,
    enum contrib_type type, int64_t n_iter, double now)
{
	struct update	 u;
	struct model	 m;

	assert_int_equal(round_may_contribute(&f->ag.round, site, NULL,
	    f->msg, sizeof(f->msg)), FL_OK);
	fixture_model(&m, u0, u1);
	u.tensors = m.tensors;
	u.count = m.count;
	u.n_iter = n_iter;
	u.type = type;
	assert_int_equal(round_contribute(&f->ag.round, site, &u,
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    now, f->msg, sizeof(f->msg)), FL_OK);
	model_free(&m);
	round_tick(&f->ag.round, now);
}

/* fixture_global - element i of the global model */
static inline double
fixture_global(struct fixture *f, size_t i)
{
	return tensor_get(&f->ag.round.global.tensors[0], i);
}

/* fixture_control - one operator request; the reply's JSON text, if
 * any, in f->reply, the status message in f->msg */
static inline enum fl_status
fixture_control(struct fixture *f, Flipc__Kind kind, const char *json)
{
	Flipc__Envelope	 env = FLIPC__ENVELOPE__INIT;
	struct reply	 rep;

	env.kind = kind;
	control_request(&f->ag, &env, json, strlen(json), &rep);
	free(f->reply);
	f->reply = NULL;
	if (rep.payload != NULL) {
		assert_non_null(f->reply = strndup(rep.payload, rep.len));
		training_reply_free(&rep);
	}
	snprintf(f->msg, sizeof(f->msg), "%s", rep.message);
	return rep.status;
}

/* fixture_read - WORKSPACE/rel's text, or NULL; free it */
static inline char *
fixture_read(struct fixture *f, const char *rel)
{
	char	 path[PATH_MAX], *text;
	FILE	*fp;
	long	 n;

	snprintf(path, sizeof(path), "%s/%s", f->workspace, rel);
	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(text = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return text;
}

#endif
