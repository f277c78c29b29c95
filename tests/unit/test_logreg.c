/*
 * test_logreg - the reference site's pure parts: reading the CSV table,
 * one exact SGD step, step counting, determinism, cancellation, accuracy
 * and log-loss.
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

#include "../../client/dataset.c"
#include "../../client/logreg.c"

static int
read_table(const char *text, struct dataset *ds, char *err)
{
	FILE	*fp;
	int	 rc;

	fp = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(fp);
	rc = dataset_read(fp, "t.csv", ds, err);
	fclose(fp);
	return rc;
}

static void
assert_table_error(const char *text, const char *want)
{
	struct dataset	 ds;
	char		 err[DATASET_ERR_MAX];

	assert_int_equal(read_table(text, &ds, err), -1);
	assert_string_equal(err, want);
	assert_null(ds.x);
	assert_int_equal(ds.rows, 0);
}

/* A model of float32 "w" (n,) and "b" (1,). */
static void
make_model(struct model *m, const float *w, size_t n, float b)
{
	struct tensor	 t;
	int64_t		 shape = (int64_t)n, one = 1;

	memset(m, 0, sizeof(*m));
	assert_int_equal(tensor_alloc(&t, "w", DTYPE_FLOAT32, 1, &shape), 0);
	memcpy(t.data, w, n * sizeof(float));
	assert_int_equal(model_add(m, &t), 0);
	assert_int_equal(tensor_alloc(&t, "b", DTYPE_FLOAT32, 1, &one), 0);
	((float *)t.data)[0] = b;
	assert_int_equal(model_add(m, &t), 0);
}

/* cmocka 1.1 compares floats only in single precision. */
static void
assert_near(double got, double want, double epsilon)
{
	if (fabs(got - want) > epsilon)
		fail_msg("%.17g is not within %g of %.17g", got, epsilon, want);
}

static float
weight(const struct model *m, const char *name, size_t i)
{
	return ((float *)model_find(m, name)->data)[i];
}

static void
test_table_reads_rows_in_file_order(void **state)
{
	struct dataset	 ds;
	char		 err[DATASET_ERR_MAX];

	assert_int_equal(read_table("a,b,label\r\n1.5, -2 ,1\r\n\n3,4e1,0\n",
	    &ds, err), 0);
	assert_int_equal(ds.rows, 2);
	assert_int_equal(ds.features, 2);
	assert_true(ds.x[0] == 1.5 && ds.x[1] == -2.0);
	assert_true(ds.x[2] == 3.0 && ds.x[3] == 40.0);
	assert_true(ds.y[0] == 1.0 && ds.y[1] == 0.0);
	dataset_free(&ds);
}

static void
test_table_last_line_without_newline(void **state)
{
	struct dataset	 ds;
	char		 err[DATASET_ERR_MAX];

	assert_int_equal(read_table("a,y\n1,1\n2,0", &ds, err), 0);
	assert_int_equal(ds.rows, 2);
	assert_true(ds.x[1] == 2.0 && ds.y[1] == 0.0);
	dataset_free(&ds);
}

static void
test_table_grows_past_first_allocation(void **state)
{
	struct dataset	 ds;
	char		 err[DATASET_ERR_MAX], text[8192];
	size_t		 i, off;

	off = (size_t)snprintf(text, sizeof(text), "x,y\n");
	for (i = 0; i < 600; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "%zu,%zu\n", i, i % 2);
	assert_int_equal(read_table(text, &ds, err), 0);
	assert_int_equal(ds.rows, 600);
	assert_true(ds.x[599] == 599.0 && ds.y[599] == 1.0);
	dataset_free(&ds);
}

static void
test_table_errors_name_the_line(void **state)
{
	assert_table_error("a,b,y\n1,2,1\n1,abc,0\n",
	    "t.csv line 3: field 2 is not a number: \"abc\"");
	assert_table_error("a,b,y\n1,2\n",
	    "t.csv line 2: 2 fields, the header has 3");
	assert_table_error("a,b,y\n1,2,1,4\n",
	    "t.csv line 2: 4 fields, the header has 3");
	assert_table_error("a,y\n1,0.5\n",
	    "t.csv line 2: the label (last field) is not 0 or 1");
	assert_table_error("a,y\n1,1\nnan,1\n",
	    "t.csv line 3: field 1 is not finite: \"nan\"");
	assert_table_error("a,y\n1,1\n,1\n", "t.csv line 3: field 1 is empty");
	assert_table_error("a,y\n1x,1\n",
	    "t.csv line 2: field 1 is not a number: \"1x\"");
}

static void
test_table_refuses_bad_shapes(void **state)
{
	assert_table_error("", "t.csv: no header line");
	assert_table_error("\n\n", "t.csv: no header line");
	assert_table_error("a,y\n", "t.csv: no rows after the header");
	assert_table_error("label\n1\n", "t.csv line 1: the header has 1 "
	    "columns, want 2 to 100000 (features, then the label)");
}

static void
test_table_refuses_long_line_and_nul(void **state)
{
	static char	 text[DATASET_LINE_MAX + 64];
	struct dataset	 ds;
	char		 err[DATASET_ERR_MAX];
	FILE		*fp;

	memset(text, '1', sizeof(text));
	memcpy(text, "a,y\n", 4);
	text[sizeof(text) - 1] = '\0';
	assert_table_error(text, "t.csv line 2: longer than 65536 bytes");

	fp = fmemopen("a,y\n1\0,1\n", 10, "r");
	assert_non_null(fp);
	assert_int_equal(dataset_read(fp, "t.csv", &ds, err), -1);
	fclose(fp);
	assert_string_equal(err, "t.csv line 2: contains a NUL byte");
}

static void
test_table_missing_file(void **state)
{
	struct dataset	 ds;
	char		 err[DATASET_ERR_MAX];

	assert_int_equal(dataset_load("/nonexistent/t.csv", &ds, err), -1);
	assert_string_equal(err,
	    "/nonexistent/t.csv: No such file or directory");
}

static void
test_sigmoid_is_stable(void **state)
{
	assert_true(logreg_sigmoid(0.0) == 0.5);
	assert_true(logreg_sigmoid(-1000.0) == 0.0);
	assert_true(logreg_sigmoid(1000.0) == 1.0);
	assert_true(logreg_sigmoid(-745.0) > 0.0);
	assert_false(isnan(logreg_sigmoid(-INFINITY)));
}

/*
 * From w = 0, b = 0 every prediction is 1/2: with rows (1, 2) label 1
 * and (3, -1) label 0 the gradient is (1, -1.5) and 0, and a step of
 * rate 0.5 over the batch of 2 gives w = (-0.25, 0.375), b = 0.
 */
static void
test_one_step_gives_exact_weights(void **state)
{
	const float		 zero[2] = { 0, 0 };
	struct logreg_settings	 set = { 1, 0.5, 2 };
	struct dataset		 ds;
	struct model		 m;
	char			 err[LOGREG_ERR_MAX];
	int64_t			 steps;

	assert_int_equal(read_table("a,b,y\n1,2,1\n3,-1,0\n", &ds, err), 0);
	make_model(&m, zero, 2, 0);
	assert_int_equal(logreg_train(&m, &ds, &set, &steps, err), 0);
	assert_int_equal(steps, 1);
	assert_true(weight(&m, "w", 0) == -0.25f);
	assert_true(weight(&m, "w", 1) == 0.375f);
	assert_true(weight(&m, "b", 0) == 0.0f);
	model_free(&m);
	dataset_free(&ds);
}

/* One row of x = 0, label 1: only the bias moves, by rate * 1/2. */
static void
test_step_moves_bias_toward_label(void **state)
{
	const float		 w[1] = { 0 };
	struct logreg_settings	 set = { 1, 1.0, 16 };
	struct dataset		 ds;
	struct model		 m;
	char			 err[LOGREG_ERR_MAX];
	int64_t			 steps;

	assert_int_equal(read_table("a,y\n0,1\n", &ds, err), 0);
	make_model(&m, w, 1, 0);
	assert_int_equal(logreg_train(&m, &ds, &set, &steps, err), 0);
	assert_true(weight(&m, "b", 0) == 0.5f);
	assert_true(weight(&m, "w", 0) == 0.0f);
	model_free(&m);
	dataset_free(&ds);
}

static void
test_steps_count_partial_batches(void **state)
{
	const float		 zero[1] = { 0 };
	struct logreg_settings	 set = { 3, 0.1, 2 };
	struct dataset		 ds;
	struct model		 m;
	char			 err[LOGREG_ERR_MAX];
	int64_t			 steps;

	assert_int_equal(read_table("a,y\n1,1\n2,0\n3,1\n4,0\n5,1\n", &ds,
	    err), 0);
	make_model(&m, zero, 1, 0);
	assert_int_equal(logreg_train(&m, &ds, &set, &steps, err), 0);
	assert_int_equal(steps, 9);
	model_free(&m);
	dataset_free(&ds);
}

static void
test_training_is_deterministic(void **state)
{
	const float		 w[2] = { 0.1f, -0.2f };
	struct logreg_settings	 set = { 4, 0.3, 3 };
	struct dataset		 ds;
	struct model		 a, b;
	char			 err[LOGREG_ERR_MAX];
	int64_t			 steps;

	assert_int_equal(read_table("a,b,y\n1,2,1\n3,-1,0\n0.5,0.5,1\n"
	    "-2,1,0\n1,1,1\n", &ds, err), 0);
	make_model(&a, w, 2, 0.05f);
	make_model(&b, w, 2, 0.05f);
	assert_int_equal(logreg_train(&a, &ds, &set, &steps, err), 0);
	assert_int_equal(logreg_train(&b, &ds, &set, &steps, err), 0);
	assert_memory_equal(model_find(&a, "w")->data,
	    model_find(&b, "w")->data, 2 * sizeof(float));
	assert_memory_equal(model_find(&a, "b")->data,
	    model_find(&b, "b")->data, sizeof(float));
	assert_true(weight(&a, "w", 0) != 0.1f);
	model_free(&a);
	model_free(&b);
	dataset_free(&ds);
}

static void
test_training_leaves_other_tensors_alone(void **state)
{
	const float		 zero[1] = { 0 };
	struct logreg_settings	 set = { 2, 0.5, 1 };
	struct dataset		 ds;
	struct model		 m;
	struct tensor		 t;
	int64_t			 shape = 3, steps;
	char			 err[LOGREG_ERR_MAX];

	assert_int_equal(read_table("a,y\n1,1\n2,0\n", &ds, err), 0);
	make_model(&m, zero, 1, 0);
	assert_int_equal(tensor_alloc(&t, "extra", DTYPE_INT32, 1, &shape), 0);
	((int32_t *)t.data)[2] = 7;
	assert_int_equal(model_add(&m, &t), 0);
	assert_int_equal(logreg_train(&m, &ds, &set, &steps, err), 0);
	assert_int_equal(((int32_t *)model_find(&m, "extra")->data)[2], 7);
	model_free(&m);
	dataset_free(&ds);
}

static void
test_model_errors_are_named(void **state)
{
	const float		 w[3] = { 0, 0, 0 };
	struct logreg_settings	 set = { 1, 0.1, 16 };
	struct dataset		 ds;
	struct model		 m;
	char			 err[LOGREG_ERR_MAX];
	int64_t			 steps;

	assert_int_equal(read_table("a,b,y\n1,2,1\n", &ds, err), 0);
	make_model(&m, w, 3, 0);
	assert_int_equal(logreg_train(&m, &ds, &set, &steps, err), -1);
	assert_string_equal(err, "tensor \"w\" has shape (3,), want (2,) "
	    "for the table's features");
	model_free(&m);

	memset(&m, 0, sizeof(m));
	assert_int_equal(logreg_train(&m, &ds, &set, &steps, err), -1);
	assert_string_equal(err, "the model has no tensor \"w\"");

	make_model(&m, w, 2, NAN);
	assert_int_equal(logreg_train(&m, &ds, &set, &steps, err), -1);
	assert_string_equal(err, "tensor \"b\" holds a value that is not "
	    "finite");
	model_free(&m);
	dataset_free(&ds);
}

static void
test_divergence_is_an_error(void **state)
{
	const float		 w[1] = { 0 };
	struct logreg_settings	 set = { 1, 1e300, 1 };
	struct dataset		 ds;
	struct model		 m;
	char			 err[LOGREG_ERR_MAX];
	int64_t			 steps;

	assert_int_equal(read_table("a,y\n1e10,1\n", &ds, err), 0);
	make_model(&m, w, 1, 0);
	assert_int_equal(logreg_train(&m, &ds, &set, &steps, err), -1);
	assert_string_equal(err, "training diverged: a weight is not finite "
	    "in the model's dtype (learning rate too high?)");
	model_free(&m);
	dataset_free(&ds);
}

/* All predictions 1/2: half right (ties go to 1), log-loss ln 2. */
static void
test_evaluate_exact_at_zero(void **state)
{
	const float	 zero[1] = { 0 };
	struct dataset	 ds;
	struct model	 m;
	char		 err[LOGREG_ERR_MAX];
	double		 acc, loss;

	assert_int_equal(read_table("a,y\n1,1\n2,0\n3,0\n4,1\n", &ds, err), 0);
	make_model(&m, zero, 1, 0);
	assert_int_equal(logreg_evaluate(&m, &ds, &acc, &loss, err), 0);
	assert_true(acc == 0.5);
	assert_near(loss, M_LN2, 1e-15);
	model_free(&m);
	dataset_free(&ds);
}

/*
 * w = 1, b = 0 on x = 0 (label 1), x = 2 (label 1), x = -2 (label 1):
 * predictions 1/2, s(2), s(-2); the last is wrong. Log-loss is the mean
 * of ln 2, ln(1 + e^-2) and ln(1 + e^2).
 */
static void
test_evaluate_exact_values(void **state)
{
	const float	 one[1] = { 1 };
	struct dataset	 ds;
	struct model	 m;
	char		 err[LOGREG_ERR_MAX];
	double		 acc, loss;

	assert_int_equal(read_table("a,y\n0,1\n2,1\n-2,1\n", &ds, err), 0);
	make_model(&m, one, 1, 0);
	assert_int_equal(logreg_evaluate(&m, &ds, &acc, &loss, err), 0);
	assert_near(acc, 2.0 / 3.0, 1e-15);
	assert_near(loss, 0.9823344008819634, 1e-14);
	model_free(&m);
	dataset_free(&ds);
}

/*
 * A sure and wrong prediction costs about -ln(1e-15), not infinity: the
 * value is sklearn 1.2's log_loss([0, 1], [1, 1], eps=1e-15).
 */
static void
test_evaluate_clips_probabilities(void **state)
{
	const float	 w[1] = { 1000 };
	struct dataset	 ds;
	struct model	 m;
	char		 err[LOGREG_ERR_MAX];
	double		 acc, loss;

	assert_int_equal(read_table("a,y\n1,0\n1,1\n", &ds, err), 0);
	make_model(&m, w, 1, 0);
	assert_int_equal(logreg_evaluate(&m, &ds, &acc, &loss, err), 0);
	assert_true(acc == 0.5);
	assert_near(loss, 17.26978799617044, 1e-12);
	model_free(&m);
	dataset_free(&ds);
}

/* A cancelled training stops before its next step, model untouched. */
static void
test_cancelled_training_leaves_the_model(void **state)
{
	const float		 zero[2] = { 0, 0 };
	struct logreg_settings	 set = { 1, 0.5, 1 };
	struct dataset		 ds;
	struct model		 m;
	atomic_int		 cancel = 1;
	char			 err[LOGREG_ERR_MAX];
	int64_t			 steps;

	assert_int_equal(read_table("a,b,y\n1,2,1\n3,-1,0\n", &ds, err), 0);
	make_model(&m, zero, 2, 0);
	errno = 0;
	assert_int_equal(logreg_train_until(&m, &ds, &set, &cancel, &steps,
	    err), -1);
	assert_int_equal(errno, ECANCELED);
	assert_int_equal(steps, 0);
	assert_string_equal(err, "training was cancelled after 0 steps");
	assert_true(weight(&m, "w", 0) == 0.0f);
	assert_true(weight(&m, "b", 0) == 0.0f);

	atomic_store(&cancel, 0);
	assert_int_equal(logreg_train_until(&m, &ds, &set, &cancel, &steps,
	    err), 0);
	assert_int_equal(steps, 2);
	model_free(&m);
	dataset_free(&ds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_reads_rows_in_file_order),
		cmocka_unit_test(test_table_last_line_without_newline),
		cmocka_unit_test(test_table_grows_past_first_allocation),
		cmocka_unit_test(test_table_errors_name_the_line),
		cmocka_unit_test(test_table_refuses_bad_shapes),
		cmocka_unit_test(test_table_refuses_long_line_and_nul),
		cmocka_unit_test(test_table_missing_file),
		cmocka_unit_test(test_sigmoid_is_stable),
		cmocka_unit_test(test_one_step_gives_exact_weights),
		cmocka_unit_test(test_step_moves_bias_toward_label),
		cmocka_unit_test(test_steps_count_partial_batches),
		cmocka_unit_test(test_training_is_deterministic),
		cmocka_unit_test(test_training_leaves_other_tensors_alone),
		cmocka_unit_test(test_model_errors_are_named),
		cmocka_unit_test(test_divergence_is_an_error),
		cmocka_unit_test(test_cancelled_training_leaves_the_model),
		cmocka_unit_test(test_evaluate_exact_at_zero),
		cmocka_unit_test(test_evaluate_exact_values),
		cmocka_unit_test(test_evaluate_clips_probabilities),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
