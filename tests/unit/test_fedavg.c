/*
 * test_fedavg - aggd's arithmetic and its gatekeepers: the weighted
 * average of updates (fedavg.c), the validation of an update
 * (contribution.c) and the site registry (registry.c).
 *
 * Expected values are exact: each is what numpy computes in float64 and
 * rounds to the tensor's dtype, worked out by hand in the comments.
 */
#include <math.h>
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
#include "npy.h"

static char *test_sites[] = { "site-a", "site-b", "site-c" };

/* test_config - a training configuration from JSON text */
static void
test_config(struct train_config *cfg, const char *json)
{
	char	 path[] = "/tmp/test_fedavg.XXXXXX", err[CONFIG_ERR_MAX];
	int	 fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, json, strlen(json)), (int)strlen(json));
	close(fd);
	if (train_config_load(path, test_sites, 3, cfg, err) == -1)
		fail_msg("config: %s", err);
	unlink(path);
}

#define TEST_PLAIN	"{\"ckpt_preload_path\": \"m.npz\"}"

/* test_tensor - a named tensor of n values */
static void
test_tensor(struct tensor *t, const char *name, enum dtype dt,
    const double *v, size_t n)
{
	int64_t	 shape[1] = { (int64_t)n };
	size_t	 i;

	assert_int_equal(tensor_alloc(t, name, dt, 1, shape), 0);
	for (i = 0; i < n; i++)
		tensor_set(t, i, v[i]);
}

static void
test_add(struct model *m, const char *name, enum dtype dt, const double *v,
    size_t n)
{
	struct tensor	 t;

	test_tensor(&t, name, dt, v, n);
	assert_int_equal(model_add(m, &t), 0);
}

/* test_update - an update of one tensor per global tensor, in order */
static void
test_update(struct update *u, const struct model *global,
    const double *const *values, enum contrib_type type)
{
	size_t	 i;

	u->count = global->count;
	u->tensors = calloc(global->count, sizeof(*u->tensors));
	u->n_iter = 1;
	u->type = type;
	for (i = 0; i < global->count; i++)
		if (values[i] != NULL)
			test_tensor(&u->tensors[i], global->tensors[i].name,
			    global->tensors[i].dtype, values[i],
			    global->tensors[i].count);
}

/* test_average - global averaged with updates of one tensor each */
static void
test_average(struct model *out, const struct model *global,
    const struct train_config *cfg, enum contrib_type type,
    const double *const *values, const double *weights, size_t n)
{
	struct fedavg	 acc;
	struct update	 u;
	char		 err[AGGD_MSG_MAX];
	size_t		 i;

	assert_int_equal(fedavg_init(&acc, global, cfg), 0);
	for (i = 0; i < n; i++) {
		test_update(&u, global, &values[i], type);
		assert_int_equal(fedavg_add(&acc, global, &u, weights[i],
		    test_sites[i % 3], err, sizeof(err)), 0);
		contribution_free(&u);
	}
	assert_int_equal(fedavg_finalize(&acc, global, type, out), 0);
	fedavg_free(&acc);
}

static void
test_n_iter_weights_the_average(void **state)
{
	struct train_config	 cfg;
	struct model		 g = { 0 }, out;
	const double		 zero[2] = { 0, 0 }, a[2] = { 1, 2 },
				 b[2] = { 5, 6 };
	const double		*values[2] = { a, b };
	double			 w[2];
	int			 warned = 0;

	test_config(&cfg, TEST_PLAIN);
	test_add(&g, "w", DTYPE_FLOAT64, zero, 2);
	w[0] = fedavg_weight(&cfg, "site-a", 1, &warned, NULL);
	w[1] = fedavg_weight(&cfg, "site-b", 3, &warned, NULL);
	assert_true(w[0] == 1.0 && w[1] == 3.0);

	test_average(&out, &g, &cfg, CONTRIB_W, values, w, 2);
	/* (1 x 1 + 3 x 5) / 4 = 4, (1 x 2 + 3 x 6) / 4 = 5 */
	assert_true(tensor_get(&out.tensors[0], 0) == 4.0);
	assert_true(tensor_get(&out.tensors[0], 1) == 5.0);
	model_free(&out);
	model_free(&g);
	train_config_free(&cfg);
}

static void
test_aggregation_weights_missing_site_weighs_one(void **state)
{
	struct train_config	 cfg;
	struct model		 g = { 0 }, out;
	const double		 zero[1] = { 0 }, a[1] = { 1 }, b[1] = { 4 };
	const double		*values[2] = { a, b };
	double			 w[2], agw;
	int			 warned_a = 0, warned_b = 0;

	test_config(&cfg, "{\"ckpt_preload_path\": \"m.npz\", "
	    "\"aggregator\": {\"name\": \"ModelAggregator\", \"args\": "
	    "{\"aggregation_weights\": {\"site-a\": 2.0}}}}");
	test_add(&g, "w", DTYPE_FLOAT64, zero, 1);
	w[0] = fedavg_weight(&cfg, "site-a", 1, &warned_a, &agw);
	assert_true(agw == 2.0 && w[0] == 2.0 && warned_a == 0);
	w[1] = fedavg_weight(&cfg, "site-b", 2, &warned_b, &agw);
	assert_true(agw == 1.0 && w[1] == 2.0 && warned_b == 1);

	test_average(&out, &g, &cfg, CONTRIB_W, values, w, 2);
	/* (2 x 1 + 2 x 4) / (2 + 2) = 2.5 */
	assert_true(tensor_get(&out.tensors[0], 0) == 2.5);
	model_free(&out);
	model_free(&g);
	train_config_free(&cfg);
}

static void
test_excluded_tensor_keeps_server_value(void **state)
{
	struct train_config	 cfg;
	struct model		 g = { 0 }, out;
	const double		 w0[2] = { 0, 0 }, bn0[2] = { 7, 8 };
	const double		 a[2] = { 2, 4 }, abn[2] = { 100, 100 };
	const double		*values[2] = { a, abn };
	double			 weight = 1.0;

	test_config(&cfg, "{\"ckpt_preload_path\": \"m.npz\", "
	    "\"exclude_vars\": \"running_\"}");
	test_add(&g, "w", DTYPE_FLOAT32, w0, 2);
	test_add(&g, "bn.running_mean", DTYPE_FLOAT32, bn0, 2);

	test_average(&out, &g, &cfg, CONTRIB_DELTA_W, values, &weight, 1);
	assert_true(tensor_get(&out.tensors[0], 0) == 2.0);
	assert_true(tensor_get(&out.tensors[1], 0) == 7.0);
	assert_true(tensor_get(&out.tensors[1], 1) == 8.0);
	model_free(&out);
	model_free(&g);
	train_config_free(&cfg);
}

static void
test_delta_w_adds_mean_to_global_model(void **state)
{
	struct train_config	 cfg;
	struct model		 g = { 0 }, out;
	const double		 g0[2] = { 1, 2 }, a[2] = { 0.5, -1 },
				 b[2] = { 1.5, 1 };
	const double		*values[2] = { a, b };
	const double		 w[2] = { 1, 1 };

	test_config(&cfg, TEST_PLAIN);
	test_add(&g, "w", DTYPE_FLOAT64, g0, 2);
	test_average(&out, &g, &cfg, CONTRIB_DELTA_W, values, w, 2);
	/* mean delta (1, 0): 1 + 1 = 2, 2 + 0 = 2 */
	assert_true(tensor_get(&out.tensors[0], 0) == 2.0);
	assert_true(tensor_get(&out.tensors[0], 1) == 2.0);
	model_free(&out);
	model_free(&g);
	train_config_free(&cfg);
}

static void
test_w_replaces_the_global_model(void **state)
{
	struct train_config	 cfg;
	struct model		 g = { 0 }, out;
	const double		 g0[1] = { 100 }, a[1] = { 1 }, b[1] = { 3 };
	const double		*values[2] = { a, b };
	const double		 w[2] = { 1, 1 };

	test_config(&cfg, TEST_PLAIN);
	test_add(&g, "w", DTYPE_FLOAT64, g0, 1);
	test_average(&out, &g, &cfg, CONTRIB_W, values, w, 2);
	assert_true(tensor_get(&out.tensors[0], 0) == 2.0);
	model_free(&out);
	model_free(&g);
	train_config_free(&cfg);
}

static void
test_float32_rounds_the_float64_mean_once(void **state)
{
	struct train_config	 cfg;
	struct model		 g = { 0 }, out;
	const double		 g0[1] = { 0 }, a[1] = { 1 },
				 b[1] = { 0x1p-24 };
	const double		*values[3] = { a, b, b };
	const double		 w[3] = { 1, 1, 1 };
	float			 in32;
	volatile float		 acc32 = 1.0f;

	test_config(&cfg, TEST_PLAIN);
	test_add(&g, "w", DTYPE_FLOAT32, g0, 1);
	test_average(&out, &g, &cfg, CONTRIB_W, values, w, 3);

	/* float64: (1 + 2^-23) / 3, then rounded to float32 */
	assert_true(tensor_get(&out.tensors[0], 0) ==
	    (double)(float)((1.0 + 0x1p-23) / 3.0));
	/* summing in float32 loses both 2^-24s: 1/3, one ulp lower */
	acc32 += 0x1p-24f;
	acc32 += 0x1p-24f;
	in32 = acc32 / 3.0f;
	assert_true(tensor_get(&out.tensors[0], 0) != (double)in32);
	model_free(&out);
	model_free(&g);
	train_config_free(&cfg);
}

/* test_offer - values[0] from site, weighing weight, into acc */
static int
test_offer(struct fedavg *acc, const struct model *global,
    const double *const *values, double weight, const char *site,
    char *err, size_t len)
{
	struct update	 u;
	int		 rv;

	test_update(&u, global, values, CONTRIB_W);
	rv = fedavg_add(acc, global, &u, weight, site, err, len);
	contribution_free(&u);
	return rv;
}

static void
test_overflowing_update_leaves_the_sum_untouched(void **state)
{
	struct train_config	 cfg;
	struct fedavg		 acc;
	struct model		 g = { 0 }, out;
	const double		 zero[2] = { 0, 0 }, a[2] = { 1, 1e308 },
				 b[2] = { 5, 1e308 }, c[2] = { 3, 0 };
	const double		*va[1] = { a }, *vb[1] = { b }, *vc[1] = { c };
	char			 err[AGGD_MSG_MAX];

	test_config(&cfg, TEST_PLAIN);
	test_add(&g, "w", DTYPE_FLOAT64, zero, 2);
	assert_int_equal(fedavg_init(&acc, &g, &cfg), 0);
	assert_int_equal(test_offer(&acc, &g, va, 1, "site-a", err,
	    sizeof(err)), 0);
	/* 1e308 + 1e308 is past DBL_MAX; element 0 alone would fit */
	assert_int_equal(test_offer(&acc, &g, vb, 1, "site-b", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "site-b: tensor w: the weighted sum would "
	    "overflow");
	assert_true(acc.sums[0][0] == 1.0 && acc.sums[0][1] == 1e308);
	assert_true(acc.sumw == 1.0);
	assert_int_equal(acc.nupdates, 1);

	assert_int_equal(test_offer(&acc, &g, vc, 1, "site-c", err,
	    sizeof(err)), 0);
	assert_int_equal(fedavg_finalize(&acc, &g, CONTRIB_W, &out), 0);
	/* (1 + 3) / 2 = 2, (1e308 + 0) / 2 = 5e307 exactly */
	assert_true(tensor_get(&out.tensors[0], 0) == 2.0);
	assert_true(tensor_get(&out.tensors[0], 1) == 1e308 / 2);
	model_free(&out);
	fedavg_free(&acc);
	model_free(&g);
	train_config_free(&cfg);
}

static void
test_weight_past_double_is_refused(void **state)
{
	struct train_config	 cfg;
	struct fedavg		 acc;
	struct model		 g = { 0 };
	const double		 zero[1] = { 0 };
	const double		*vz[1] = { zero };
	char			 err[AGGD_MSG_MAX];

	test_config(&cfg, TEST_PLAIN);
	test_add(&g, "w", DTYPE_FLOAT64, zero, 1);
	assert_int_equal(fedavg_init(&acc, &g, &cfg), 0);
	assert_int_equal(test_offer(&acc, &g, vz, 1e308, "site-a", err,
	    sizeof(err)), 0);
	assert_int_equal(test_offer(&acc, &g, vz, 1e308, "site-b", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "site-b: the sum of the weights would "
	    "overflow");
	assert_true(acc.sumw == 1e308);
	assert_int_equal(acc.nupdates, 1);
	fedavg_free(&acc);
	model_free(&g);
	train_config_free(&cfg);
}

/* test_overflow_in_dtype - w = (1, old) of dt and two delta_w updates
 * (0, delta): the new w's element 1 is not finite in dt, element 0 is
 * 1, and the global model is untouched */
static void
test_overflow_in_dtype(enum dtype dt, double old, double delta)
{
	struct train_config	 cfg;
	struct model		 g = { 0 }, out;
	const double		 g0[2] = { 1, old }, d[2] = { 0, delta };
	const double		*values[2] = { d, d };
	const double		 w[2] = { 1, 1 };
	unsigned char		 before[16];
	size_t			 ti = 9, ej = 9;

	test_config(&cfg, TEST_PLAIN);
	test_add(&g, "w", dt, g0, 2);
	memcpy(before, g.tensors[0].data, 2 * dtype_size(dt));
	test_average(&out, &g, &cfg, CONTRIB_DELTA_W, values, w, 2);
	assert_int_equal(fedavg_finite(&out, &ti, &ej), 0);
	assert_int_equal(ti, 0);
	assert_int_equal(ej, 1);
	assert_true(tensor_get(&out.tensors[0], 0) == 1.0);
	assert_memory_equal(g.tensors[0].data, before, 2 * dtype_size(dt));
	model_free(&out);
	model_free(&g);
	train_config_free(&cfg);
}

static void
test_float32_delta_w_past_its_range_is_not_finite(void **state)
{
	/* 3e38 + mean(3e38, 3e38): finite in float64, inf in float32 */
	test_overflow_in_dtype(DTYPE_FLOAT32, 3e38, 3e38);
}

static void
test_float16_delta_w_past_65504_is_not_finite(void **state)
{
	/* 60000 + 6000 = 66000, past 65520, halfway to 65536 */
	test_overflow_in_dtype(DTYPE_FLOAT16, 60000, 6000);
}

static void
test_finite_model_is_finite(void **state)
{
	struct model	 g = { 0 };
	const double	 v[2] = { 65504, -65504 };
	size_t		 ti = 9, ej = 9;

	test_add(&g, "w", DTYPE_FLOAT16, v, 2);
	assert_int_equal(fedavg_finite(&g, &ti, &ej), 1);
	assert_int_equal(ti, 9);
	model_free(&g);
}

static void
test_integer_tensor_takes_the_rounded_mean(void **state)
{
	struct train_config	 cfg;
	struct model		 g = { 0 }, out;
	const double		 g0[3] = { 0, 0, 0 }, a[3] = { 1, 2, 0 },
				 b[3] = { 2, 3, -3 };
	const double		*values[2] = { a, b };
	const double		 w[2] = { 1, 1 };

	test_config(&cfg, TEST_PLAIN);
	test_add(&g, "steps", DTYPE_INT32, g0, 3);
	test_average(&out, &g, &cfg, CONTRIB_W, values, w, 2);
	/* 1.5, 2.5, -1.5 round half to even as np.rint does */
	assert_int_equal(((int32_t *)out.tensors[0].data)[0], 2);
	assert_int_equal(((int32_t *)out.tensors[0].data)[1], 2);
	assert_int_equal(((int32_t *)out.tensors[0].data)[2], -2);
	model_free(&out);
	model_free(&g);
	train_config_free(&cfg);
}

static void
test_bool_tensor_is_true_from_one_half(void **state)
{
	struct train_config	 cfg;
	struct model		 g = { 0 }, out;
	const double		 g0[4] = { 0, 0, 0, 0 },
				 a[4] = { 1, 0, 1, 0 },
				 b[4] = { 0, 0, 1, 1 };
	const double		*values[2] = { a, b };
	const double		 even[2] = { 1, 1 }, skew[2] = { 1, 3 };
	const uint8_t		*v;

	test_config(&cfg, TEST_PLAIN);
	test_add(&g, "mask", DTYPE_BOOL, g0, 4);
	test_average(&out, &g, &cfg, CONTRIB_W, values, even, 2);
	/* means 0.5, 0, 1, 0.5 */
	v = out.tensors[0].data;
	assert_true(v[0] == 1 && v[1] == 0 && v[2] == 1 && v[3] == 1);
	model_free(&out);

	test_average(&out, &g, &cfg, CONTRIB_W, values, skew, 2);
	/* means 0.25, 0, 1, 0.75 */
	v = out.tensors[0].data;
	assert_true(v[0] == 0 && v[1] == 0 && v[2] == 1 && v[3] == 1);
	model_free(&out);
	model_free(&g);
	train_config_free(&cfg);
}

/*
 * Updates as protobuf-c messages, the way training.c receives them.
 */

struct test_contrib {
	Fedlearn__Contribution			 c;
	Fedlearn__ModelData			 data;
	Fedlearn__ModelData__ParamsEntry	 entries[4];
	Fedlearn__ModelData__ParamsEntry	*ptrs[4];
	Fedlearn__NDArray			 nd[4];
};

/* test_contrib_add - one entry: name -> t encoded as .npy */
static void
test_contrib_add(struct test_contrib *tc, const char *name,
    const struct tensor *t)
{
	size_t	 i = tc->data.n_params, len = npy_size(t);

	fedlearn__model_data__params_entry__init(&tc->entries[i]);
	fedlearn__ndarray__init(&tc->nd[i]);
	tc->nd[i].ndarray.data = malloc(len);
	tc->nd[i].ndarray.len = npy_write(t, tc->nd[i].ndarray.data);
	tc->entries[i].key = (char *)name;
	tc->entries[i].value = &tc->nd[i];
	tc->ptrs[i] = &tc->entries[i];
	tc->data.n_params = i + 1;
}

static void
test_contrib_values(struct test_contrib *tc, const char *name,
    enum dtype dt, const double *v, size_t n)
{
	struct tensor	 t;

	test_tensor(&t, name, dt, v, n);
	test_contrib_add(tc, name, &t);
	tensor_free(&t);
}

static void
test_contrib_init(struct test_contrib *tc, int64_t n_iter, const char *type)
{
	memset(tc, 0, sizeof(*tc));
	fedlearn__contribution__init(&tc->c);
	fedlearn__model_data__init(&tc->data);
	tc->data.params = tc->ptrs;
	tc->c.data = &tc->data;
	tc->c.n_iter = n_iter;
	tc->c.type = (char *)type;
}

static void
test_contrib_free(struct test_contrib *tc)
{
	size_t	 i;

	for (i = 0; i < tc->data.n_params; i++)
		free(tc->nd[i].ndarray.data);
}

/* The global model of the validation tests: w (30 float32), b (2). */
struct test_global {
	struct train_config	 cfg;
	struct model		 g;
};

static const double test_w30[30];
static const double test_b2[2] = { 1, 2 };

static int
test_global_setup(void **state)
{
	struct test_global	*tg = calloc(1, sizeof(*tg));

	test_config(&tg->cfg, "{\"ckpt_preload_path\": \"m.npz\", "
	    "\"exclude_vars\": \"^skip\"}");
	test_add(&tg->g, "w", DTYPE_FLOAT32, test_w30, 30);
	test_add(&tg->g, "b", DTYPE_FLOAT32, test_b2, 2);
	test_add(&tg->g, "skip.me", DTYPE_FLOAT32, test_b2, 2);
	*state = tg;
	return 0;
}

static int
test_global_teardown(void **state)
{
	struct test_global	*tg = *state;

	model_free(&tg->g);
	train_config_free(&tg->cfg);
	free(tg);
	return 0;
}

/* test_reject - decoding tc fails with exactly want */
static void
test_reject(struct test_global *tg, struct test_contrib *tc,
    enum contrib_type round_type, const char *want)
{
	struct update	 u;
	char		 err[AGGD_MSG_MAX];

	assert_int_equal(contribution_decode(&tc->c, "site-a", &tg->g,
	    &tg->cfg, round_type, 1 << 20, &u, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_null(u.tensors);
	test_contrib_free(tc);
}

static void
test_valid_update_may_leave_out_excluded(void **state)
{
	struct test_global	*tg = *state;
	struct test_contrib	 tc;
	struct update		 u;
	char			 err[AGGD_MSG_MAX];

	test_contrib_init(&tc, 5, "");
	test_contrib_values(&tc, "b", DTYPE_FLOAT32, test_b2, 2);
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	assert_int_equal(contribution_decode(&tc.c, "site-a", &tg->g,
	    &tg->cfg, CONTRIB_NONE, 1 << 20, &u, err, sizeof(err)), 0);
	assert_int_equal(u.type, CONTRIB_DELTA_W);
	assert_int_equal(u.n_iter, 5);
	assert_non_null(u.tensors[0].data);
	assert_non_null(u.tensors[1].data);
	assert_null(u.tensors[2].data);
	contribution_free(&u);
	test_contrib_free(&tc);
}

static void
test_update_carrying_excluded_tensor_is_fine(void **state)
{
	struct test_global	*tg = *state;
	struct test_contrib	 tc;
	struct update		 u;
	char			 err[AGGD_MSG_MAX];
	const double		 odd[3] = { NAN, 1, 2 };

	test_contrib_init(&tc, 1, "w");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_contrib_values(&tc, "b", DTYPE_FLOAT32, test_b2, 2);
	test_contrib_values(&tc, "skip.me", DTYPE_FLOAT64, odd, 3);
	assert_int_equal(contribution_decode(&tc.c, "site-a", &tg->g,
	    &tg->cfg, CONTRIB_W, 1 << 20, &u, err, sizeof(err)), 0);
	assert_null(u.tensors[2].data);
	contribution_free(&u);
	test_contrib_free(&tc);
}

static void
test_nan_is_rejected(void **state)
{
	struct test_contrib	 tc;
	const double		 b[2] = { 1, NAN };

	test_contrib_init(&tc, 1, "");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_contrib_values(&tc, "b", DTYPE_FLOAT32, b, 2);
	test_reject(*state, &tc, CONTRIB_NONE,
	    "site-a: tensor b: element 1 is NaN");
}

static void
test_infinity_is_rejected(void **state)
{
	struct test_contrib	 tc;
	const double		 b[2] = { INFINITY, 1 };

	test_contrib_init(&tc, 1, "");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_contrib_values(&tc, "b", DTYPE_FLOAT32, b, 2);
	test_reject(*state, &tc, CONTRIB_NONE,
	    "site-a: tensor b: element 0 is infinite");
}

static void
test_missing_key_is_rejected(void **state)
{
	struct test_contrib	 tc;

	test_contrib_init(&tc, 1, "");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_reject(*state, &tc, CONTRIB_NONE, "site-a: tensor b: missing");
}

static void
test_extra_key_is_rejected(void **state)
{
	struct test_contrib	 tc;

	test_contrib_init(&tc, 1, "");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_contrib_values(&tc, "b", DTYPE_FLOAT32, test_b2, 2);
	test_contrib_values(&tc, "extra", DTYPE_FLOAT32, test_b2, 2);
	test_reject(*state, &tc, CONTRIB_NONE,
	    "site-a: tensor extra: not in the global model");
}

static void
test_duplicate_key_is_rejected(void **state)
{
	struct test_contrib	 tc;

	test_contrib_init(&tc, 1, "");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_contrib_values(&tc, "b", DTYPE_FLOAT32, test_b2, 2);
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_reject(*state, &tc, CONTRIB_NONE,
	    "site-a: tensor w: given twice");
}

static void
test_wrong_shape_is_rejected(void **state)
{
	struct test_contrib	 tc;

	test_contrib_init(&tc, 1, "");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 3);
	test_contrib_values(&tc, "b", DTYPE_FLOAT32, test_b2, 2);
	test_reject(*state, &tc, CONTRIB_NONE, "site-a: tensor w: shape (3,) "
	    "differs from the global model's (30,)");
}

static void
test_wrong_dtype_is_rejected(void **state)
{
	struct test_contrib	 tc;

	test_contrib_init(&tc, 1, "");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_contrib_values(&tc, "b", DTYPE_FLOAT64, test_b2, 2);
	test_reject(*state, &tc, CONTRIB_NONE, "site-a: tensor b: dtype "
	    "float64 differs from the global model's float32");
}

static void
test_undecodable_tensor_is_rejected(void **state)
{
	struct test_contrib	 tc;

	test_contrib_init(&tc, 1, "");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_contrib_values(&tc, "b", DTYPE_FLOAT32, test_b2, 2);
	tc.nd[1].ndarray.len -= 1;
	test_reject(*state, &tc, CONTRIB_NONE, "site-a: tensor b: truncated "
	    "data: 7 bytes of 8");
}

static void
test_n_iter_zero_is_rejected(void **state)
{
	struct test_contrib	 tc;

	test_contrib_init(&tc, 0, "");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_contrib_values(&tc, "b", DTYPE_FLOAT32, test_b2, 2);
	test_reject(*state, &tc, CONTRIB_NONE,
	    "site-a: n_iter 0 is not positive");
}

static void
test_n_iter_negative_is_rejected(void **state)
{
	struct test_contrib	 tc;

	test_contrib_init(&tc, -5, "");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_contrib_values(&tc, "b", DTYPE_FLOAT32, test_b2, 2);
	test_reject(*state, &tc, CONTRIB_NONE,
	    "site-a: n_iter -5 is not positive");
}

static void
test_unknown_type_is_rejected(void **state)
{
	struct test_contrib	 tc;

	test_contrib_init(&tc, 1, "weights");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_contrib_values(&tc, "b", DTYPE_FLOAT32, test_b2, 2);
	test_reject(*state, &tc, CONTRIB_NONE, "site-a: type \"weights\" is "
	    "neither \"w\" nor \"delta_w\"");
}

static void
test_mixed_types_in_one_round_are_rejected(void **state)
{
	struct test_contrib	 tc;

	test_contrib_init(&tc, 1, "w");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	test_contrib_values(&tc, "b", DTYPE_FLOAT32, test_b2, 2);
	test_reject(*state, &tc, CONTRIB_DELTA_W, "site-a: type w differs "
	    "from this round's delta_w: one round, one type");
}

static void
test_digest_is_of_the_model_data_as_sent(void **state)
{
	struct test_contrib	 tc;
	char			 got[DIGEST_HEX_LEN + 1];
	char			 want[DIGEST_HEX_LEN + 1];
	unsigned char		*wire, *data;
	size_t			 len, dlen;

	test_contrib_init(&tc, 3, "w");
	test_contrib_values(&tc, "w", DTYPE_FLOAT32, test_w30, 30);
	len = fedlearn__contribution__get_packed_size(&tc.c);
	wire = malloc(len);
	fedlearn__contribution__pack(&tc.c, wire);
	dlen = fedlearn__model_data__get_packed_size(&tc.data);
	data = malloc(dlen);
	fedlearn__model_data__pack(&tc.data, data);

	assert_int_equal(contribution_digest(wire, len, got), 0);
	digest_sha256_hex(data, dlen, want);
	assert_string_equal(got, want);
	free(wire);
	free(data);
	test_contrib_free(&tc);
}

/*
 * The registry.
 */

static void
test_registry(struct registry *reg, int max, double timeout)
{
	assert_int_equal(registry_init(reg, test_sites, 3, max, timeout), 0);
}

static void
test_reregistering_kills_the_old_token(void **state)
{
	struct registry	 reg;
	struct site	*a;
	char		 old[TOKEN_HEX_LEN + 1], msg[AGGD_MSG_MAX];

	test_registry(&reg, 10, 600);
	a = registry_site(&reg, "site-a");
	assert_int_equal(registry_register(&reg, a, 0, msg, sizeof(msg)),
	    FL_OK);
	memcpy(old, a->token, sizeof(old));
	assert_int_equal(registry_register(&reg, a, 1, msg, sizeof(msg)),
	    FL_OK);
	assert_int_equal(reg.nregistered, 1);
	assert_string_not_equal(old, a->token);
	assert_int_equal(registry_authenticate(&reg, a, old, 2, msg,
	    sizeof(msg)), FL_UNAUTHENTICATED);
	assert_string_equal(msg, "unknown or expired token for site-a: "
	    "register again");
	assert_int_equal(registry_authenticate(&reg, a, a->token, 2, msg,
	    sizeof(msg)), FL_OK);
	registry_free(&reg);
}

static void
test_another_sites_token_is_refused(void **state)
{
	struct registry	 reg;
	struct site	*a, *b;
	char		 msg[AGGD_MSG_MAX];

	test_registry(&reg, 10, 600);
	a = registry_site(&reg, "site-a");
	b = registry_site(&reg, "site-b");
	registry_register(&reg, a, 0, msg, sizeof(msg));
	registry_register(&reg, b, 0, msg, sizeof(msg));
	assert_int_equal(registry_authenticate(&reg, b, a->token, 1, msg,
	    sizeof(msg)), FL_UNAUTHENTICATED);
	registry_free(&reg);
}

static void
test_missing_or_malformed_token_is_invalid(void **state)
{
	struct registry	 reg;
	struct site	*a;
	char		 msg[AGGD_MSG_MAX];

	test_registry(&reg, 10, 600);
	a = registry_site(&reg, "site-a");
	registry_register(&reg, a, 0, msg, sizeof(msg));
	assert_int_equal(registry_authenticate(&reg, a, "", 1, msg,
	    sizeof(msg)), FL_INVALID_ARGUMENT);
	assert_int_equal(registry_authenticate(&reg, a, "0123", 1, msg,
	    sizeof(msg)), FL_INVALID_ARGUMENT);
	assert_int_equal(registry_authenticate(&reg, a,
	    "0123456789abcdef0123456789abcdeg", 1, msg, sizeof(msg)),
	    FL_INVALID_ARGUMENT);
	registry_free(&reg);
}

static void
test_max_clients_refuses_a_new_site_only(void **state)
{
	struct registry	 reg;
	char		 msg[AGGD_MSG_MAX];

	test_registry(&reg, 1, 600);
	assert_int_equal(registry_register(&reg, registry_site(&reg,
	    "site-a"), 0, msg, sizeof(msg)), FL_OK);
	assert_int_equal(registry_register(&reg, registry_site(&reg,
	    "site-b"), 0, msg, sizeof(msg)), FL_RESOURCE_EXHAUSTED);
	assert_string_equal(msg, "max_num_clients (1) reached: site-b cannot "
	    "register");
	assert_int_equal(registry_register(&reg, registry_site(&reg,
	    "site-a"), 1, msg, sizeof(msg)), FL_OK);
	registry_free(&reg);
}

static void
test_silent_site_is_removed_after_timeout(void **state)
{
	struct registry	 reg;
	struct site	*a;
	char		 token[TOKEN_HEX_LEN + 1], msg[AGGD_MSG_MAX];

	test_registry(&reg, 10, 10);
	a = registry_site(&reg, "site-a");
	registry_register(&reg, a, 100, msg, sizeof(msg));
	memcpy(token, a->token, sizeof(token));
	assert_null(registry_expired(&reg, 110));
	assert_ptr_equal(registry_expired(&reg, 110.5), a);
	registry_remove(&reg, a);
	assert_int_equal(reg.nregistered, 0);
	assert_null(registry_expired(&reg, 200));
	assert_int_equal(registry_authenticate(&reg, a, token, 111, msg,
	    sizeof(msg)), FL_UNAUTHENTICATED);
	registry_free(&reg);
}

static void
test_beating_site_is_not_removed(void **state)
{
	struct registry	 reg;
	struct site	*a;
	char		 msg[AGGD_MSG_MAX];
	int		 t;

	test_registry(&reg, 10, 10);
	a = registry_site(&reg, "site-a");
	registry_register(&reg, a, 0, msg, sizeof(msg));
	for (t = 8; t <= 80; t += 8) {
		assert_int_equal(registry_authenticate(&reg, a, a->token, t,
		    msg, sizeof(msg)), FL_OK);
		assert_null(registry_expired(&reg, t + 9.9));
	}
	assert_ptr_equal(registry_expired(&reg, 90.5), a);
	registry_free(&reg);
}

static void
test_unknown_site_name_is_not_in_the_registry(void **state)
{
	struct registry	 reg;

	test_registry(&reg, 10, 600);
	assert_null(registry_site(&reg, "site-z"));
	assert_null(registry_site(&reg, "server"));
	registry_free(&reg);
}

int
main(void)
{
	const struct CMUnitTest fedavg[] = {
		cmocka_unit_test(test_n_iter_weights_the_average),
		cmocka_unit_test(
		    test_aggregation_weights_missing_site_weighs_one),
		cmocka_unit_test(test_excluded_tensor_keeps_server_value),
		cmocka_unit_test(test_delta_w_adds_mean_to_global_model),
		cmocka_unit_test(test_w_replaces_the_global_model),
		cmocka_unit_test(test_float32_rounds_the_float64_mean_once),
		cmocka_unit_test(
		    test_overflowing_update_leaves_the_sum_untouched),
		cmocka_unit_test(test_weight_past_double_is_refused),
		cmocka_unit_test(
		    test_float32_delta_w_past_its_range_is_not_finite),
		cmocka_unit_test(test_float16_delta_w_past_65504_is_not_finite),
		cmocka_unit_test(test_finite_model_is_finite),
		cmocka_unit_test(test_integer_tensor_takes_the_rounded_mean),
		cmocka_unit_test(test_bool_tensor_is_true_from_one_half),
	};
	const struct CMUnitTest contribution[] = {
		cmocka_unit_test(test_valid_update_may_leave_out_excluded),
		cmocka_unit_test(test_update_carrying_excluded_tensor_is_fine),
		cmocka_unit_test(test_nan_is_rejected),
		cmocka_unit_test(test_infinity_is_rejected),
		cmocka_unit_test(test_missing_key_is_rejected),
		cmocka_unit_test(test_extra_key_is_rejected),
		cmocka_unit_test(test_duplicate_key_is_rejected),
		cmocka_unit_test(test_wrong_shape_is_rejected),
		cmocka_unit_test(test_wrong_dtype_is_rejected),
		cmocka_unit_test(test_undecodable_tensor_is_rejected),
		cmocka_unit_test(test_n_iter_zero_is_rejected),
		cmocka_unit_test(test_n_iter_negative_is_rejected),
		cmocka_unit_test(test_unknown_type_is_rejected),
		cmocka_unit_test(test_mixed_types_in_one_round_are_rejected),
		cmocka_unit_test(test_digest_is_of_the_model_data_as_sent),
	};
	const struct CMUnitTest registry[] = {
		cmocka_unit_test(test_reregistering_kills_the_old_token),
		cmocka_unit_test(test_another_sites_token_is_refused),
		cmocka_unit_test(test_missing_or_malformed_token_is_invalid),
		cmocka_unit_test(test_max_clients_refuses_a_new_site_only),
		cmocka_unit_test(test_silent_site_is_removed_after_timeout),
		cmocka_unit_test(test_beating_site_is_not_removed),
		cmocka_unit_test(test_unknown_site_name_is_not_in_the_registry),
	};
	int	 failed = 0;

	failed += cmocka_run_group_tests_name("fedavg", fedavg, NULL, NULL);
	failed += cmocka_run_group_tests_name("contribution", contribution,
	    test_global_setup, test_global_teardown);
	failed += cmocka_run_group_tests_name("registry", registry, NULL,
	    NULL);
	return failed != 0;
}
