/*
 * test_crossval - cross-site validation's bookkeeping (crossval.c): when
 * it is open, which model each site is given next and when it is told
 * that there is no more, what it may submit, the results matrix on
 * disk, what a restarted aggd reads back, and a validation-only server
 * that finishes once every site validated everything.
 *
 * The server is aggd_fixture.h's with "cross_site_validation": true;
 * models are one float64 tensor w of two values.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "aggd_fixture.h"

#define CROSSVAL_CONFIG		", \"cross_site_validation\": true"

/* finished - sites a, b and c registered, training over */
static struct fixture *
finished(void)
{
	struct fixture	*f = fixture_new(CROSSVAL_CONFIG);

	fixture_register(f, "site-a", 0);
	fixture_register(f, "site-b", 0);
	fixture_register(f, "site-c", 0);
	f->ag.round.number = 2;
	f->ag.round.state = ROUND_FINISHED;
	return f;
}

static struct site *
site(struct fixture *f, const char *name)
{
	return registry_site(&f->ag.reg, name);
}

/*
 * submit_model - name's best local model (w0, w1) with one metric
 * ("acc", acc; NaN: no metric), the tensor's shape (n) given.
 */
static enum fl_status
submit_model(struct fixture *f, const char *name, double w0, double w1,
    int n, double acc)
{
	Fedlearn__LocalModel			 lm =
						    FEDLEARN__LOCAL_MODEL__INIT;
	Fedlearn__ModelData			 md =
						    FEDLEARN__MODEL_DATA__INIT;
	Fedlearn__ModelData__ParamsEntry	 pe =
				    FEDLEARN__MODEL_DATA__PARAMS_ENTRY__INIT;
	Fedlearn__NDArray			 nd = FEDLEARN__NDARRAY__INIT;
	Fedlearn__LocalModel__MetricsEntry	 me =
				    FEDLEARN__LOCAL_MODEL__METRICS_ENTRY__INIT;
	Fedlearn__ModelData__ParamsEntry	*pep = &pe;
	Fedlearn__LocalModel__MetricsEntry	*mep = &me;
	struct tensor				 t;
	int64_t					 shape[1] = { n };
	unsigned char				 buf[512];
	enum fl_status				 st;

	assert_int_equal(tensor_alloc(&t, "w", DTYPE_FLOAT64, 1, shape), 0);
	tensor_set(&t, 0, w0);
	tensor_set(&t, 1, w1);
	assert_true(npy_size(&t) <= sizeof(buf));
	nd.ndarray.len = npy_write(&t, buf);
	nd.ndarray.data = buf;
	tensor_free(&t);
	pe.key = "w";
	pe.value = &nd;
	md.n_params = 1;
	md.params = &pep;
	lm.data = &md;
	me.key = "acc";
	me.value = acc;
	if (!isnan(acc)) {
		lm.n_metrics = 1;
		lm.metrics = &mep;
	}
	st = crossval_submit_model(&f->ag.xv, site(f, name), &lm, f->msg,
	    sizeof(f->msg));
	return st;
}

/* submit_results - name's metric on owner's model */
static enum fl_status
submit_results(struct fixture *f, const char *name, const char *owner,
    const char *metric, double value)
{
	Fedlearn__ValidationResults			 vr =
					    FEDLEARN__VALIDATION_RESULTS__INIT;
	Fedlearn__ValidationResults__MetricsEntry	 me =
			    FEDLEARN__VALIDATION_RESULTS__METRICS_ENTRY__INIT;
	Fedlearn__ValidationResults__MetricsEntry	*mep = &me;

	vr.owner = (char *)owner;
	me.key = (char *)metric;
	me.value = value;
	if (metric != NULL) {
		vr.n_metrics = 1;
		vr.metrics = &mep;
	}
	return crossval_submit_results(&f->ag.xv, site(f, name), &vr, f->msg,
	    sizeof(f->msg));
}

/*
 * next - GetValidationModels for name: the owner given ("" for none) in
 * owner, more_available in *more, w[0] of the model in *w0.
 */
static enum fl_status
next(struct fixture *f, const char *name, char *owner, size_t len,
    int *more, double *w0)
{
	Fedlearn__ValidationModel	*vm;
	Fedlearn__NDArray		*nd;
	struct model_buf		*mb = NULL;
	struct tensor			 t;
	enum fl_status			 st;
	char				 err[NPY_ERR_MAX];

	st = crossval_next(&f->ag.xv, site(f, name), 1 << 20, &mb, f->msg,
	    sizeof(f->msg));
	if (st != FL_OK)
		return st;
	assert_non_null(vm = fedlearn__validation_model__unpack(NULL,
	    mb->len, mb->data));
	snprintf(owner, len, "%s", vm->owner);
	*more = vm->more_available;
	*w0 = NAN;
	if (vm->data != NULL && vm->data->n_params == 1) {
		nd = vm->data->params[0]->value;
		assert_string_equal(vm->data->params[0]->key, "w");
		assert_int_equal(npy_read(nd->ndarray.data, nd->ndarray.len,
		    1 << 20, &t, err), 0);
		*w0 = tensor_get(&t, 0);
		tensor_free(&t);
	}
	assert_int_equal(vm->meta->run_number, 1);
	fedlearn__validation_model__free_unpacked(vm, NULL);
	model_cache_release(mb->data, mb);
	return st;
}

/* expect_next - name is given owner's model, whose w[0] is w0 */
static void
expect_next(struct fixture *f, const char *name, const char *owner,
    double w0, int more)
{
	char	 got[64];
	int	 got_more;
	double	 got_w0;

	assert_int_equal(next(f, name, got, sizeof(got), &got_more, &got_w0),
	    FL_OK);
	assert_string_equal(got, owner);
	assert_int_equal(got_more, more);
	if (owner[0] != '\0')
		assert_true(got_w0 == w0);
}

/* matrix_is - the run's cross_val_results.json equals json */
static void
matrix_is(struct fixture *f, const char *json)
{
	json_t	*got, *want;
	char	*text;

	assert_non_null(text = fixture_read(f, "run_1/cross_val_results.json"));
	assert_non_null(got = json_loads(text, 0, NULL));
	assert_non_null(want = json_loads(json, 0, NULL));
	if (!json_equal(got, want))
		fail_msg("matrix %s, expected %s", text, json);
	json_decref(got);
	json_decref(want);
	free(text);
}

static void
test_disabled_by_default(void **state)
{
	struct fixture	*f = fixture_new("");
	char		 owner[64];
	int		 more;
	double		 w0;

	f->ag.round.state = ROUND_FINISHED;
	fixture_register(f, "site-a", 0);
	assert_int_equal(next(f, "site-a", owner, sizeof(owner), &more, &w0),
	    FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "cross-site validation is not enabled on "
	    "this server (cross_site_validation is false)");
	fixture_free(f);
}

static void
test_closed_until_training_finishes(void **state)
{
	struct fixture	*f = fixture_new(CROSSVAL_CONFIG);
	char		 owner[64];
	int		 more;
	double		 w0;

	fixture_register(f, "site-a", 0);
	round_start(&f->ag.round, 0, f->msg, sizeof(f->msg));
	assert_int_equal(next(f, "site-a", owner, sizeof(owner), &more, &w0),
	    FL_RESOURCE_EXHAUSTED);
	assert_string_equal(f->msg, "No token: cross-site validation starts "
	    "when training has finished");
	assert_int_equal(submit_model(f, "site-a", 1, 2, 2, 0.5),
	    FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "cross-site validation starts when "
	    "training has finished");
	fixture_free(f);
}

static void
test_three_sites_fill_the_matrix(void **state)
{
	struct fixture	*f = finished();
	static const char *const sites[] = { "site-a", "site-b", "site-c" };
	const char	*owners[3];
	int		 i, j, k;

	assert_int_equal(submit_model(f, "site-a", 10, 0, 2, 0.1), FL_OK);
	assert_int_equal(submit_model(f, "site-b", 20, 0, 2, 0.2), FL_OK);
	assert_int_equal(submit_model(f, "site-c", 30, 0, 2, 0.3), FL_OK);
	assert_true(fixture_exists(f, "run_1/cross_site/site-b.npz"));

	for (i = 0; i < 3; i++) {
		owners[0] = "server";
		for (j = 0, k = 1; j < 3; j++)
			if (j != i)
				owners[k++] = sites[j];
		expect_next(f, sites[i], "server", 1, 1);
		expect_next(f, sites[i], owners[1], 10.0 * (owners[1][5] -
		    'a' + 1), 1);
		expect_next(f, sites[i], owners[2], 10.0 * (owners[2][5] -
		    'a' + 1), 0);
		expect_next(f, sites[i], "", 0, 0);
		for (k = 0; k < 3; k++)
			assert_int_equal(submit_results(f, sites[i], owners[k],
			    "acc", i * 10 + k), FL_OK);
	}
	matrix_is(f, "{"
	    "\"site-a\": {\"site-a\": {\"acc\": 0.1},"
	    " \"server\": {\"acc\": 0.0},"
	    " \"site-b\": {\"acc\": 1.0}, \"site-c\": {\"acc\": 2.0}},"
	    "\"site-b\": {\"site-b\": {\"acc\": 0.2},"
	    " \"server\": {\"acc\": 10.0},"
	    " \"site-a\": {\"acc\": 11.0}, \"site-c\": {\"acc\": 12.0}},"
	    "\"site-c\": {\"site-c\": {\"acc\": 0.3},"
	    " \"server\": {\"acc\": 20.0},"
	    " \"site-a\": {\"acc\": 21.0}, \"site-b\": {\"acc\": 22.0}}}");
	fixture_free(f);
}

static void
test_wait_for_sites_that_may_still_submit(void **state)
{
	struct fixture	*f = finished();
	char		 owner[64];
	int		 more;
	double		 w0;

	registry_remove(&f->ag.reg, site(f, "site-c"));
	assert_int_equal(submit_model(f, "site-a", 10, 0, 2, NAN), FL_OK);
	expect_next(f, "site-a", "server", 1, 1);
	assert_int_equal(next(f, "site-a", owner, sizeof(owner), &more, &w0),
	    FL_RESOURCE_EXHAUSTED);
	assert_string_equal(f->msg, "No token: waiting for the best local "
	    "model of 1 more site");

	/* site-b asks without submitting: it has no model to offer. */
	expect_next(f, "site-b", "server", 1, 1);
	expect_next(f, "site-b", "site-a", 10, 0);
	expect_next(f, "site-a", "", 0, 0);
	fixture_free(f);
}

static void
test_best_model_is_checked_like_an_update(void **state)
{
	struct fixture	*f = finished();
	char		 err[NPZ_ERR_MAX], path[PATH_MAX];
	struct model	 m;

	assert_int_equal(submit_model(f, "site-a", 1, 2, 3, 0.5),
	    FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "site-a: tensor w: shape (3,) differs "
	    "from the global model's (2,)");
	assert_int_equal(submit_model(f, "site-a", NAN, 2, 2, 0.5),
	    FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "site-a: tensor w: element 0 is NaN");
	assert_int_equal(submit_model(f, "site-a", 1, 2, 2, INFINITY),
	    FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "site-a: metric acc is not a finite "
	    "number");
	assert_false(fixture_exists(f, "run_1/cross_site"));

	assert_int_equal(submit_model(f, "site-a", 5, 6, 2, 0.5), FL_OK);
	snprintf(path, sizeof(path), "%s/run_1/cross_site/site-a.npz",
	    f->workspace);
	assert_int_equal(npz_load(path, 1 << 20, &m, err), 0);
	assert_string_equal(m.tensors[0].name, "w");
	assert_true(tensor_get(&m.tensors[0], 0) == 5.0 &&
	    tensor_get(&m.tensors[0], 1) == 6.0);
	model_free(&m);
	assert_int_equal(submit_model(f, "site-a", 5, 6, 2, 0.5),
	    FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "site-a's best local model is already in");
	fixture_free(f);
}

static void
test_results_refusals(void **state)
{
	struct fixture	*f = finished();

	assert_int_equal(submit_results(f, "site-a", "server", "acc", 1),
	    FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "site-a was not given server's model to "
	    "validate");
	expect_next(f, "site-a", "server", 1, 1);
	assert_int_equal(submit_results(f, "site-a", "site-x", "acc", 1),
	    FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "owner \"site-x\" is neither \"server\" "
	    "nor a site of the project");
	assert_int_equal(submit_results(f, "site-a", "site-a", "acc", 1),
	    FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "site-a's metrics on its own model come "
	    "with its best local model");
	assert_int_equal(submit_results(f, "site-a", "server", NULL, 0),
	    FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "site-a: 0 metrics: expected 1 to 64");
	assert_int_equal(submit_results(f, "site-a", "server", "a b", 1),
	    FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "site-a: metric name \"a b\" is not 1 to "
	    "64 of A-Z a-z 0-9 _ . -");
	assert_int_equal(submit_results(f, "site-a", "server", "acc", NAN),
	    FL_INVALID_ARGUMENT);
	assert_false(fixture_exists(f, "run_1/cross_val_results.json"));

	assert_int_equal(submit_results(f, "site-a", "server", "val.acc_1",
	    0.75), FL_OK);
	assert_int_equal(submit_results(f, "site-a", "server", "acc", 1),
	    FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "site-a's results for server's model are "
	    "already in");
	matrix_is(f, "{\"site-a\": {\"server\": {\"val.acc_1\": 0.75}}}");
	fixture_free(f);
}

static void
test_restarted_aggd_reads_the_run_back(void **state)
{
	struct fixture	*f = finished();
	json_t		*results;

	assert_int_equal(submit_model(f, "site-b", 20, 0, 2, NAN), FL_OK);
	expect_next(f, "site-a", "server", 1, 1);
	submit_results(f, "site-a", "server", "acc", 0.5);

	crossval_free(&f->ag.xv);
	assert_int_equal(crossval_init(&f->ag.xv, &f->ag.round, 1 << 20), 0);
	expect_next(f, "site-a", "site-b", 20, 1);
	assert_int_equal(submit_results(f, "site-a", "server", "acc", 1),
	    FL_FAILED_PRECONDITION);
	assert_non_null(results = crossval_results(&f->ag.xv));
	assert_int_equal(json_object_size(results), 1);
	json_decref(results);
	fixture_free(f);
}

static void
test_site_registered_again_is_given_its_models_again(void **state)
{
	struct fixture	*f = finished();

	expect_next(f, "site-a", "server", 1, 1);
	fixture_register(f, "site-a", 1);
	crossval_registered(&f->ag.xv, site(f, "site-a"));
	expect_next(f, "site-a", "server", 1, 1);
	fixture_free(f);
}

static void
test_validation_only_server(void **state)
{
	struct fixture	*f = fixture_new(", \"server_type\": "
			    "\"validation_only\"");
	struct site	*a = fixture_register(f, "site-a", 0);

	fixture_register(f, "site-b", 0);
	assert_int_equal(fixture_fetch(f, a), FL_RESOURCE_EXHAUSTED);
	assert_string_equal(f->msg, "No token: validation has not started");
	assert_int_equal(round_start(&f->ag.round, 0, f->msg,
	    sizeof(f->msg)), FL_OK);
	assert_int_equal(fixture_fetch(f, a), FL_OUT_OF_RANGE);
	assert_string_equal(f->msg, "this server runs no training rounds: it "
	    "serves round 0's model for cross-site validation");

	expect_next(f, "site-a", "server", 1, 1);
	expect_next(f, "site-b", "server", 1, 0);
	expect_next(f, "site-a", "", 0, 0);
	submit_results(f, "site-a", "server", "acc", 0.5);
	round_tick(&f->ag.round, 1);
	assert_int_equal(f->ag.round.state, ROUND_TRAINING);
	submit_results(f, "site-b", "server", "acc", 0.6);
	round_tick(&f->ag.round, 2);
	assert_int_equal(f->ag.round.state, ROUND_FINISHED);
	assert_int_equal(f->ag.round.number, 0);
	expect_next(f, "site-b", "", 0, 0);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled_by_default),
		cmocka_unit_test(test_closed_until_training_finishes),
		cmocka_unit_test(test_three_sites_fill_the_matrix),
		cmocka_unit_test(test_wait_for_sites_that_may_still_submit),
		cmocka_unit_test(test_best_model_is_checked_like_an_update),
		cmocka_unit_test(test_results_refusals),
		cmocka_unit_test(test_restarted_aggd_reads_the_run_back),
		cmocka_unit_test(
		    test_site_registered_again_is_given_its_models_again),
		cmocka_unit_test(test_validation_only_server),
	};

	return cmocka_run_group_tests_name("crossval", tests, NULL, NULL);
}
