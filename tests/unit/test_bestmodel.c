/*
 * test_bestmodel - the site's best local model for cross-site
 * validation: the lowest log-loss on its own table wins, even over a
 * better accuracy; a tie keeps the earlier round; a model that cannot be
 * evaluated changes nothing; the metrics kept are logreg_evaluate's.
 *
 * The site's sources are compiled into this program directly: unit tests
 * link the common library and the daemons' modules, not the client.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../client/bestmodel.c"
#include "../../client/dataset.c"
#include "../../client/logreg.c"

/*
 * One feature, three rows. A confident model (w 5, b -1.5) gets the last
 * row wrong: accuracy 2/3, log-loss about 0.44. A timid one (w 0.1,
 * b -0.06) gets all three right: accuracy 1, log-loss about 0.63.
 */
static const char	 table[] = "x,label\n2,1\n-2,0\n0.5,0\n";

static void
load_table(struct dataset *ds)
{
	char	 err[DATASET_ERR_MAX];
	FILE	*fp;

	fp = fmemopen((void *)table, strlen(table), "r");
	assert_non_null(fp);
	assert_int_equal(dataset_read(fp, "t.csv", ds, err), 0);
	fclose(fp);
}

/* A model of float32 "w" (1,) and "b" (1,). */
static void
make_model(struct model *m, float w, float b)
{
	struct tensor	 t;
	int64_t		 one = 1;

	memset(m, 0, sizeof(*m));
	assert_int_equal(tensor_alloc(&t, "w", DTYPE_FLOAT32, 1, &one), 0);
	((float *)t.data)[0] = w;
	assert_int_equal(model_add(m, &t), 0);
	assert_int_equal(tensor_alloc(&t, "b", DTYPE_FLOAT32, 1, &one), 0);
	((float *)t.data)[0] = b;
	assert_int_equal(model_add(m, &t), 0);
}

static float
kept(const struct bestmodel *b, const char *name)
{
	return ((float *)model_find(&b->model, name)->data)[0];
}

/* Offer (w, b) as round's model; what bestmodel_offer answered. */
static int
offer(struct bestmodel *b, const struct dataset *ds, float w, float bias,
    int64_t round)
{
	struct model	 m;
	char		 err[LOGREG_ERR_MAX];
	int		 rc;

	make_model(&m, w, bias);
	rc = bestmodel_offer(b, &m, ds, round, err);
	/* Taken either way: nothing is left for the caller to free. */
	assert_null(m.tensors);
	assert_int_equal(m.count, 0);
	return rc;
}

static void
test_first_model_is_kept_with_its_metrics(void **state)
{
	struct bestmodel	 b;
	struct dataset		 ds;
	struct model		 m;
	double			 accuracy, loss;
	char			 err[LOGREG_ERR_MAX];

	load_table(&ds);
	bestmodel_init(&b);
	assert_false(b.kept);
	assert_int_equal(offer(&b, &ds, 5.0f, -1.5f, 3), 1);
	assert_true(b.kept);
	assert_int_equal(b.round, 3);
	assert_true(kept(&b, "w") == 5.0f && kept(&b, "b") == -1.5f);

	make_model(&m, 5.0f, -1.5f);
	assert_int_equal(logreg_evaluate(&m, &ds, &accuracy, &loss, err), 0);
	assert_true(b.accuracy == accuracy && b.log_loss == loss);
	assert_true(fabs(b.accuracy - 2.0 / 3.0) < 1e-15);
	model_free(&m);
	bestmodel_free(&b);
	dataset_free(&ds);
}

static void
test_lower_log_loss_wins_over_better_accuracy(void **state)
{
	struct bestmodel	 b;
	struct dataset		 ds;

	load_table(&ds);
	bestmodel_init(&b);
	assert_int_equal(offer(&b, &ds, 0.1f, -0.06f, 0), 1);
	assert_true(b.accuracy == 1.0);
	assert_int_equal(offer(&b, &ds, 5.0f, -1.5f, 1), 1);
	assert_int_equal(b.round, 1);
	assert_true(b.accuracy < 1.0);
	assert_true(kept(&b, "w") == 5.0f);
	bestmodel_free(&b);
	dataset_free(&ds);
}

static void
test_worse_model_leaves_the_best(void **state)
{
	struct bestmodel	 b;
	struct dataset		 ds;
	double			 loss;

	load_table(&ds);
	bestmodel_init(&b);
	assert_int_equal(offer(&b, &ds, 5.0f, -1.5f, 0), 1);
	loss = b.log_loss;
	assert_int_equal(offer(&b, &ds, 0.1f, -0.06f, 1), 0);
	assert_int_equal(offer(&b, &ds, -5.0f, 0.0f, 2), 0);
	assert_int_equal(b.round, 0);
	assert_true(b.log_loss == loss);
	assert_true(kept(&b, "w") == 5.0f && kept(&b, "b") == -1.5f);
	bestmodel_free(&b);
	dataset_free(&ds);
}

static void
test_tie_keeps_the_earlier_round(void **state)
{
	struct bestmodel	 b;
	struct dataset		 ds;

	load_table(&ds);
	bestmodel_init(&b);
	assert_int_equal(offer(&b, &ds, 5.0f, -1.5f, 4), 1);
	assert_int_equal(offer(&b, &ds, 5.0f, -1.5f, 5), 0);
	assert_int_equal(b.round, 4);
	bestmodel_free(&b);
	dataset_free(&ds);
}

static void
test_model_that_cannot_be_evaluated_changes_nothing(void **state)
{
	struct bestmodel	 b;
	struct dataset		 ds;
	struct model		 m;
	struct tensor		 t;
	int64_t			 two = 2;
	char			 err[LOGREG_ERR_MAX];

	load_table(&ds);
	bestmodel_init(&b);
	assert_int_equal(offer(&b, &ds, 0.1f, -0.06f, 0), 1);

	/* "w" of two features for a table of one. */
	memset(&m, 0, sizeof(m));
	assert_int_equal(tensor_alloc(&t, "w", DTYPE_FLOAT32, 1, &two), 0);
	memset(t.data, 0, 2 * sizeof(float));
	assert_int_equal(model_add(&m, &t), 0);
	assert_int_equal(bestmodel_offer(&b, &m, &ds, 1, err), -1);
	assert_string_equal(err, "tensor \"w\" has shape (2,), want (1,) "
	    "for the table's features");
	assert_null(m.tensors);
	assert_int_equal(b.round, 0);
	assert_true(kept(&b, "w") == 0.1f);

	bestmodel_free(&b);
	assert_false(b.kept);
	dataset_free(&ds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_model_is_kept_with_its_metrics),
		cmocka_unit_test(test_lower_log_loss_wins_over_better_accuracy),
		cmocka_unit_test(test_worse_model_leaves_the_best),
		cmocka_unit_test(test_tie_keeps_the_earlier_round),
		cmocka_unit_test(
		    test_model_that_cannot_be_evaluated_changes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
