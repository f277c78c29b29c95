/*
 * test_round - aggd's round rules (round.c), with the real registry,
 * running sum and model store on a throwaway workspace: who may fetch
 * the model and when, which updates a round takes, when it closes, what
 * a failed save does, and resuming from the checkpoint.
 *
 * Each test builds a server with three sites (site-a, site-b, site-c)
 * and a global model of one float64 tensor w = (1, 2); time is given
 * explicitly, so nothing here sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../aggd/aggd.h"
#include "npz.h"

static char *test_sites[] = { "site-a", "site-b", "site-c" };

struct test_server {
	char			 workspace[64];
	struct train_config	 cfg;
	struct registry		 reg;
	struct model_store	 store;
	struct notice		 notice;
	struct round		 round;
	char			 msg[AGGD_MSG_MAX];
};

/* test_model - one tensor w = (w0, w1) of dtype dt */
static void
test_model(struct model *m, enum dtype dt, double w0, double w1)
{
	struct tensor	 t;
	int64_t		 shape[1] = { 2 };

	memset(m, 0, sizeof(*m));
	assert_int_equal(tensor_alloc(&t, "w", dt, 1, shape), 0);
	tensor_set(&t, 0, w0);
	tensor_set(&t, 1, w1);
	assert_int_equal(model_add(m, &t), 0);
}

static void
test_global(struct model *m, double w0, double w1)
{
	test_model(m, DTYPE_FLOAT64, w0, w1);
}

/* test_server - min_num_clients 2, wait 10 s, num_rounds 2, timeout 60 */
static struct test_server *
test_server_new(const char *workspace)
{
	struct test_server	*ts = calloc(1, sizeof(*ts));
	char			 path[128], err[CONFIG_ERR_MAX];
	const char		*json = "{\"ckpt_preload_path\": \"m.npz\", "
				    "\"min_num_clients\": 2, "
				    "\"wait_after_min_clients\": 10, "
				    "\"heart_beat_timeout\": 60, "
				    "\"num_rounds\": 2}";
	struct model		 g;
	FILE			*f;

	if (workspace != NULL)
		snprintf(ts->workspace, sizeof(ts->workspace), "%s",
		    workspace);
	else {
		snprintf(ts->workspace, sizeof(ts->workspace),
		    "/tmp/test_round.XXXXXX");
		assert_non_null(mkdtemp(ts->workspace));
	}
	snprintf(path, sizeof(path), "%s/config.json", ts->workspace);
	assert_non_null(f = fopen(path, "w"));
	fputs(json, f);
	fclose(f);
	if (train_config_load(path, test_sites, 3, &ts->cfg, err) == -1)
		fail_msg("config: %s", err);
	assert_int_equal(registry_init(&ts->reg, test_sites, 3,
	    ts->cfg.max_num_clients, ts->cfg.heart_beat_timeout), 0);
	assert_int_equal(model_store_init(&ts->store, ts->workspace, 0), 0);
	test_global(&g, 1, 2);
	assert_int_equal(round_init(&ts->round, "test", &ts->reg, &ts->cfg,
	    &ts->store, &ts->notice, &g, 1, 0), 0);
	return ts;
}

static void
test_server_free(struct test_server *ts, int keep_workspace)
{
	char	 cmd[128];

	round_free(&ts->round);
	model_store_free(&ts->store);
	registry_free(&ts->reg);
	train_config_free(&ts->cfg);
	if (!keep_workspace) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ts->workspace);
		assert_int_equal(system(cmd), 0);
	}
	free(ts);
}

static struct site *
test_register(struct test_server *ts, const char *name, double now)
{
	struct site	*site = registry_site(&ts->reg, name);

	assert_int_equal(registry_register(&ts->reg, site, now, ts->msg,
	    sizeof(ts->msg)), FL_OK);
	return site;
}

static enum fl_status
test_fetch(struct test_server *ts, struct site *site)
{
	struct model_buf	*mb = NULL;
	enum fl_status		 st;

	st = round_fetch(&ts->round, site, 1 << 20, &mb, ts->msg,
	    sizeof(ts->msg));
	if (st == FL_OK)
		model_cache_release(mb->data, mb);
	return st;
}

/* test_send - site's delta (d0, d1) for the current round, in the
 * global model's dtype, weighing n_iter */
static enum fl_status
test_send(struct test_server *ts, struct site *site, double d0, double d1,
    int64_t n_iter, double now)
{
	struct update	 u;
	struct model	 delta;
	enum fl_status	 st;

	assert_int_equal(round_may_contribute(&ts->round, site, NULL,
	    ts->msg, sizeof(ts->msg)), FL_OK);
	test_model(&delta, ts->round.global.tensors[0].dtype, d0, d1);
	u.tensors = delta.tensors;
	u.count = delta.count;
	u.n_iter = n_iter;
	u.type = CONTRIB_DELTA_W;
	st = round_contribute(&ts->round, site, &u,
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    now, ts->msg, sizeof(ts->msg));
	model_free(&delta);
	round_tick(&ts->round, now);
	return st;
}

/* test_contribute - site's delta (d, d) for the current round */
static void
test_contribute(struct test_server *ts, struct site *site, double d,
    double now)
{
	assert_int_equal(test_send(ts, site, d, d, 1, now), FL_OK);
}

static void
test_no_token_before_training_starts(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);

	assert_int_equal(test_fetch(ts, a), FL_RESOURCE_EXHAUSTED);
	assert_string_equal(ts->msg, "No token: training has not started");
	assert_int_equal(round_may_contribute(&ts->round, a, NULL, ts->msg,
	    sizeof(ts->msg)), FL_FAILED_PRECONDITION);
	assert_string_equal(ts->msg, "Contrib: training has not started");
	test_server_free(ts, 0);
}

static void
test_autostart_waits_for_min_num_clients(void **state)
{
	struct test_server	*ts = test_server_new(NULL);

	ts->round.autostart = 1;
	test_register(ts, "site-a", 0);
	round_tick(&ts->round, 1);
	assert_int_equal(ts->round.state, ROUND_IDLE);
	test_register(ts, "site-b", 2);
	round_tick(&ts->round, 3);
	assert_int_equal(ts->round.state, ROUND_TRAINING);
	assert_int_equal(ts->round.number, 0);
	test_server_free(ts, 0);
}

static void
test_model_is_fetched_once_per_round(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);

	assert_int_equal(round_start(&ts->round, 0, ts->msg,
	    sizeof(ts->msg)), FL_OK);
	assert_int_equal(test_fetch(ts, a), FL_OK);
	assert_int_equal(test_fetch(ts, a), FL_RESOURCE_EXHAUSTED);
	assert_string_equal(ts->msg, "No token: site-a already has round 0's "
	    "model");
	test_server_free(ts, 0);
}

static void
test_site_registered_again_may_fetch_again(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);

	round_start(&ts->round, 0, ts->msg, sizeof(ts->msg));
	assert_int_equal(test_fetch(ts, a), FL_OK);
	test_register(ts, "site-a", 1);
	assert_int_equal(test_fetch(ts, a), FL_OK);
	test_contribute(ts, a, 1, 2);
	test_register(ts, "site-a", 3);
	assert_int_equal(test_fetch(ts, a), FL_RESOURCE_EXHAUSTED);
	assert_string_equal(ts->msg, "No token: site-a already contributed to "
	    "round 0");
	test_server_free(ts, 0);
}

static void
test_update_needs_the_rounds_model(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);

	round_start(&ts->round, 0, ts->msg, sizeof(ts->msg));
	assert_int_equal(round_may_contribute(&ts->round, a, NULL, ts->msg,
	    sizeof(ts->msg)), FL_FAILED_PRECONDITION);
	assert_string_equal(ts->msg, "Contrib: site-a has not fetched round "
	    "0's model");
	test_server_free(ts, 0);
}

static void
test_stale_round_or_run_is_refused(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);
	Fedlearn__MetaData	 meta = FEDLEARN__META_DATA__INIT;

	ts->round.number = 1;
	round_start(&ts->round, 0, ts->msg, sizeof(ts->msg));
	test_fetch(ts, a);
	meta.current_round = 0;
	assert_int_equal(round_may_contribute(&ts->round, a, &meta, ts->msg,
	    sizeof(ts->msg)), FL_FAILED_PRECONDITION);
	assert_string_equal(ts->msg, "Contrib: round 0 is over, the current "
	    "round is 1");
	meta.current_round = 1;
	meta.run_number = 7;
	assert_int_equal(round_may_contribute(&ts->round, a, &meta, ts->msg,
	    sizeof(ts->msg)), FL_FAILED_PRECONDITION);
	assert_string_equal(ts->msg, "Contrib: run 7 is not the current run "
	    "1");
	meta.run_number = 1;
	assert_int_equal(round_may_contribute(&ts->round, a, &meta, ts->msg,
	    sizeof(ts->msg)), FL_OK);
	test_server_free(ts, 0);
}

static void
test_second_update_in_a_round_is_refused(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);

	test_register(ts, "site-b", 0);
	round_start(&ts->round, 0, ts->msg, sizeof(ts->msg));
	test_fetch(ts, a);
	test_contribute(ts, a, 1, 1);
	assert_int_equal(round_may_contribute(&ts->round, a, NULL, ts->msg,
	    sizeof(ts->msg)), FL_FAILED_PRECONDITION);
	assert_string_equal(ts->msg, "Contrib: site-a already contributed to "
	    "round 0");
	test_server_free(ts, 0);
}

static void
test_round_closes_when_all_live_sites_sent(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);
	struct site		*b = test_register(ts, "site-b", 0);
	struct tensor		*w;

	round_start(&ts->round, 0, ts->msg, sizeof(ts->msg));
	test_fetch(ts, a);
	test_fetch(ts, b);
	test_contribute(ts, a, 1, 1);
	assert_int_equal(ts->round.number, 0);
	test_contribute(ts, b, 3, 2);
	assert_int_equal(ts->round.number, 1);
	/* (1, 2) + mean of deltas 1 and 3 */
	w = &ts->round.global.tensors[0];
	assert_true(tensor_get(w, 0) == 3.0 && tensor_get(w, 1) == 4.0);
	test_server_free(ts, 0);
}

static void
test_round_waits_after_min_clients(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);
	struct site		*b = test_register(ts, "site-b", 0);

	test_register(ts, "site-c", 0);
	round_start(&ts->round, 0, ts->msg, sizeof(ts->msg));
	test_fetch(ts, a);
	test_fetch(ts, b);
	test_contribute(ts, a, 1, 1);
	test_contribute(ts, b, 1, 5);
	round_tick(&ts->round, 14.9);
	assert_int_equal(ts->round.number, 0);
	round_tick(&ts->round, 15);
	assert_int_equal(ts->round.number, 1);
	test_server_free(ts, 0);
}

/* test_contact - an authenticated request from site at now */
static void
test_contact(struct test_server *ts, struct site *site, double now)
{
	char	 token[TOKEN_HEX_LEN + 1];

	memcpy(token, site->token, sizeof(token));
	assert_int_equal(registry_authenticate(&ts->reg, site, token, now,
	    ts->msg, sizeof(ts->msg)), FL_OK);
}

static void
test_removed_site_is_not_waited_for(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);
	struct site		*b = test_register(ts, "site-b", 0);
	char			 path[160], text[4096];
	FILE			*f;
	size_t			 n;

	test_register(ts, "site-c", 0);
	ts->reg.timeout = 5;
	round_start(&ts->round, 0, ts->msg, sizeof(ts->msg));
	test_fetch(ts, a);
	test_fetch(ts, b);
	test_contact(ts, b, 1);
	test_contribute(ts, b, 1, 1);
	test_contact(ts, a, 3);
	test_contribute(ts, a, 1, 3);
	round_tick(&ts->round, 4);
	assert_int_equal(ts->round.number, 0);

	/* b and c fall silent; b's update stands, c is not waited for */
	round_tick(&ts->round, 6.1);
	assert_false(b->registered);
	assert_false(registry_site(&ts->reg, "site-c")->registered);
	assert_int_equal(ts->round.number, 1);
	snprintf(path, sizeof(path), "%s/run_1/provenance/round_0.json",
	    ts->workspace);
	assert_non_null(f = fopen(path, "r"));
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	assert_non_null(strstr(text, "\"site-b\""));
	assert_non_null(strstr(text, "\"site-a\""));
	test_server_free(ts, 0);
}

static void
test_round_that_cannot_reach_min_says_why(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);

	round_start(&ts->round, 0, ts->msg, sizeof(ts->msg));
	test_fetch(ts, a);
	test_contribute(ts, a, 1, 1);
	assert_int_equal(round_stuck(&ts->round, ts->msg, sizeof(ts->msg)),
	    1);
	assert_string_equal(ts->msg, "round 0 cannot reach min_num_clients "
	    "(2): updates in: 1, registered sites yet to send one: 0");
	test_server_free(ts, 0);
}

static void
test_failed_save_keeps_the_round_and_retries(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);
	struct site		*b = test_register(ts, "site-b", 0);
	char			 run[160];
	FILE			*f;

	/* A file where the run folder goes fails every save, even root's. */
	snprintf(run, sizeof(run), "%s/run_1", ts->workspace);
	assert_non_null(f = fopen(run, "w"));
	fclose(f);
	round_start(&ts->round, 0, ts->msg, sizeof(ts->msg));
	test_fetch(ts, a);
	test_fetch(ts, b);
	test_contribute(ts, a, 1, 1);
	test_contribute(ts, b, 1, 2);
	assert_int_equal(ts->round.number, 0);
	assert_true(ts->round.closing);
	assert_true(tensor_get(&ts->round.global.tensors[0], 0) == 1.0);
	assert_int_equal(test_fetch(ts, registry_site(&ts->reg, "site-c")),
	    FL_RESOURCE_EXHAUSTED);

	assert_int_equal(unlink(run), 0);
	round_tick(&ts->round, 2 + AGGD_SAVE_RETRY - 0.1);
	assert_int_equal(ts->round.number, 0);
	round_tick(&ts->round, 2 + AGGD_SAVE_RETRY);
	assert_int_equal(ts->round.number, 1);
	assert_true(tensor_get(&ts->round.global.tensors[0], 0) == 2.0);
	test_server_free(ts, 0);
}

static void
test_training_finishes_after_num_rounds(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);
	struct site		*b = test_register(ts, "site-b", 0);
	int			 i;

	round_start(&ts->round, 0, ts->msg, sizeof(ts->msg));
	for (i = 0; i < 2; i++) {
		test_fetch(ts, a);
		test_fetch(ts, b);
		test_contribute(ts, a, 1, i);
		test_contribute(ts, b, 1, i);
	}
	assert_int_equal(ts->round.state, ROUND_FINISHED);
	assert_int_equal(test_fetch(ts, a), FL_OUT_OF_RANGE);
	assert_string_equal(ts->msg, "training has finished after round 1");
	test_server_free(ts, 0);
}

static void
test_restart_resumes_the_unfinished_round(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);
	struct site		*b = test_register(ts, "site-b", 0);
	char			 workspace[64];
	struct model		 m;
	int64_t			 run, round;

	round_start(&ts->round, 0, ts->msg, sizeof(ts->msg));
	test_fetch(ts, a);
	test_fetch(ts, b);
	test_contribute(ts, a, 1, 1);
	test_contribute(ts, b, 1, 2);
	test_fetch(ts, a);
	test_contribute(ts, a, 5, 3);
	snprintf(workspace, sizeof(workspace), "%s", ts->workspace);
	test_server_free(ts, 1);

	ts = test_server_new(workspace);
	assert_int_equal(model_store_resume(&ts->store, 1 << 20, &run, &round,
	    &m), 1);
	assert_int_equal(run, 1);
	assert_int_equal(round, 1);
	assert_true(tensor_get(&m.tensors[0], 0) == 2.0);
	assert_true(tensor_get(&m.tensors[0], 1) == 3.0);
	model_free(&m);
	test_server_free(ts, 0);
}

/* test_server_model - the server's global model replaced by w = (w0, w1)
 * of dtype dt, training started at round 0 with site-a and site-b */
static void
test_server_model(struct test_server *ts, enum dtype dt, double w0,
    double w1)
{
	struct model	 g;
	struct fedavg	 acc;

	test_model(&g, dt, w0, w1);
	assert_int_equal(fedavg_init(&acc, &g, &ts->cfg), 0);
	round_replace(&ts->round, &g, &acc);
	test_register(ts, "site-a", 0);
	test_register(ts, "site-b", 0);
	assert_int_equal(round_start(&ts->round, 0, ts->msg,
	    sizeof(ts->msg)), FL_OK);
}

/* test_provenance - run 1's provenance record of round into text */
static void
test_provenance(struct test_server *ts, int round, char *text, size_t len)
{
	char	 path[160];
	FILE	*f;
	size_t	 n;

	snprintf(path, sizeof(path), "%s/run_1/provenance/round_%d.json",
	    ts->workspace, round);
	assert_non_null(f = fopen(path, "r"));
	n = fread(text, 1, len - 1, f);
	text[n] = '\0';
	fclose(f);
}

static void
test_overflowing_update_is_refused_and_the_next_counts(void **state)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a = test_register(ts, "site-a", 0);
	struct site		*b = test_register(ts, "site-b", 0);
	const struct tensor	*w;
	char			 text[4096];

	round_start(&ts->round, 0, ts->msg, sizeof(ts->msg));
	test_fetch(ts, a);
	test_fetch(ts, b);
	/* 1e300 x 1e10 is past DBL_MAX */
	assert_int_equal(test_send(ts, a, 1e300, 0, 10000000000LL, 1),
	    FL_INVALID_ARGUMENT);
	assert_string_equal(ts->msg, "site-a: tensor w: the weighted sum "
	    "would overflow");
	assert_int_equal(ts->round.ncontributed, 0);
	assert_int_equal(ts->round.acc.nupdates, 0);
	assert_true(ts->round.acc.sumw == 0.0);

	/* a sends again; (1, 2) + (1 x (2, 4) + 3 x (6, 8)) / 4 */
	assert_int_equal(test_send(ts, a, 2, 4, 1, 2), FL_OK);
	assert_int_equal(test_send(ts, b, 6, 8, 3, 3), FL_OK);
	assert_int_equal(ts->round.number, 1);
	w = &ts->round.global.tensors[0];
	assert_true(tensor_get(w, 0) == 6.0 && tensor_get(w, 1) == 9.0);
	test_provenance(ts, 0, text, sizeof(text));
	assert_null(strstr(text, "refused"));
	test_server_free(ts, 0);
}

/* test_model_bytes - a copy of the global model's one tensor's bytes */
static void
test_model_bytes(const struct test_server *ts, unsigned char *buf,
    size_t len)
{
	const struct tensor	*w = &ts->round.global.tensors[0];

	assert_true(w->count * dtype_size(w->dtype) <= len);
	memcpy(buf, w->data, w->count * dtype_size(w->dtype));
}

/* test_refused_round - a and b send deltas whose mean, added to the
 * global model, overflows dt; the round closes on the same bytes */
static void
test_refused_round(enum dtype dt, double old, double delta,
    const char *refused)
{
	struct test_server	*ts = test_server_new(NULL);
	struct site		*a, *b;
	unsigned char		 before[16], after[16];
	char			 text[4096];

	test_server_model(ts, dt, old, 1);
	a = registry_site(&ts->reg, "site-a");
	b = registry_site(&ts->reg, "site-b");
	test_model_bytes(ts, before, sizeof(before));
	test_fetch(ts, a);
	test_fetch(ts, b);
	assert_int_equal(test_send(ts, a, delta, 0, 1, 1), FL_OK);
	assert_int_equal(test_send(ts, b, delta, 0, 1, 2), FL_OK);

	assert_int_equal(ts->round.number, 1);
	assert_false(ts->round.closing);
	test_model_bytes(ts, after, sizeof(after));
	assert_memory_equal(before, after,
	    2 * dtype_size(ts->round.global.tensors[0].dtype));
	test_provenance(ts, 0, text, sizeof(text));
	assert_non_null(strstr(text, refused));
	test_server_free(ts, 0);
}

static void
test_float32_delta_w_overflow_keeps_the_model(void **state)
{
	/* 3e38 + mean(3e38, 3e38) rounds to inf in float32 */
	test_refused_round(DTYPE_FLOAT32, 3e38, 3e38, "\"refused\": "
	    "\"not finite: tensor w (float32), element 0\"");
}

static void
test_float16_delta_w_overflow_keeps_the_model(void **state)
{
	/* 60000 + 6000 = 66000, past 65504 and its halfway point 65520 */
	test_refused_round(DTYPE_FLOAT16, 60000, 6000, "\"refused\": "
	    "\"not finite: tensor w (float16), element 0\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_token_before_training_starts),
		cmocka_unit_test(test_autostart_waits_for_min_num_clients),
		cmocka_unit_test(test_model_is_fetched_once_per_round),
		cmocka_unit_test(test_site_registered_again_may_fetch_again),
		cmocka_unit_test(test_update_needs_the_rounds_model),
		cmocka_unit_test(test_stale_round_or_run_is_refused),
		cmocka_unit_test(test_second_update_in_a_round_is_refused),
		cmocka_unit_test(test_round_closes_when_all_live_sites_sent),
		cmocka_unit_test(test_round_waits_after_min_clients),
		cmocka_unit_test(test_removed_site_is_not_waited_for),
		cmocka_unit_test(test_round_that_cannot_reach_min_says_why),
		cmocka_unit_test(test_failed_save_keeps_the_round_and_retries),
		cmocka_unit_test(test_training_finishes_after_num_rounds),
		cmocka_unit_test(test_restart_resumes_the_unfinished_round),
		cmocka_unit_test(
		    test_overflowing_update_is_refused_and_the_next_counts),
		cmocka_unit_test(test_float32_delta_w_overflow_keeps_the_model),
		cmocka_unit_test(test_float16_delta_w_overflow_keeps_the_model),
	};

	return cmocka_run_group_tests_name("round", tests, NULL, NULL);
}
