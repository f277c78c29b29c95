/*
 * logreg - logistic regression by deterministic mini-batch SGD.
 *
 * The tensors are copied into doubles, trained, and stored back once at
 * the end, so a run of many steps rounds to the tensor's dtype only once.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logreg.h"

struct logreg {
	size_t	 features;
	double	*w;
	double	 b;
};

double
logreg_sigmoid(double z)
{
	double	 e;

	if (z >= 0.0)
		return 1.0 / (1.0 + exp(-z));
	e = exp(z);
	return e / (1.0 + e);
}

/* logreg_tensor - the named tensor, checked to be float and finite */
static const struct tensor *
logreg_tensor(const struct model *m, const char *name, int64_t len,
    const char *what, char err[LOGREG_ERR_MAX])
{
	const struct tensor	*t;
	char			 shape[64];
	size_t			 i;

	if ((t = model_find(m, name)) == NULL) {
		snprintf(err, LOGREG_ERR_MAX, "the model has no tensor \"%s\"",
		    name);
		return NULL;
	}
	if (!dtype_is_float(t->dtype)) {
		snprintf(err, LOGREG_ERR_MAX, "tensor \"%s\" is %s, not a "
		    "float dtype", name, dtype_name(t->dtype));
		return NULL;
	}
	if (t->ndim != 1 || t->shape[0] != len) {
		tensor_shape_str(t, shape, sizeof(shape));
		snprintf(err, LOGREG_ERR_MAX, "tensor \"%s\" has shape %s, "
		    "want (%lld,) %s", name, shape, (long long)len, what);
		return NULL;
	}
	for (i = 0; i < t->count; i++)
		if (!isfinite(tensor_get(t, i))) {
			snprintf(err, LOGREG_ERR_MAX, "tensor \"%s\" holds a "
			    "value that is not finite", name);
			return NULL;
		}
	return t;
}

/* logreg_load - the model's weights as doubles, for a table's width */
static int
logreg_load(struct logreg *lr, const struct model *m, size_t features,
    char err[LOGREG_ERR_MAX])
{
	const struct tensor	*w, *b;
	size_t			 j;

	memset(lr, 0, sizeof(*lr));
	if ((w = logreg_tensor(m, "w", (int64_t)features,
	    "for the table's features", err)) == NULL)
		return -1;
	if ((b = logreg_tensor(m, "b", 1, "for the bias", err)) == NULL)
		return -1;
	if ((lr->w = calloc(features == 0 ? 1 : features,
	    sizeof(double))) == NULL) {
		snprintf(err, LOGREG_ERR_MAX, "%s", strerror(errno));
		return -1;
	}
	lr->features = features;
	for (j = 0; j < features; j++)
		lr->w[j] = tensor_get(w, j);
	lr->b = tensor_get(b, 0);
	return 0;
}

/* logreg_store - round the weights into the model's tensors */
static int
logreg_store(const struct logreg *lr, struct model *m,
    char err[LOGREG_ERR_MAX])
{
	struct tensor	*w = model_find(m, "w"), *b = model_find(m, "b");
	size_t		 j;

	for (j = 0; j < lr->features; j++) {
		tensor_set(w, j, lr->w[j]);
		if (!isfinite(tensor_get(w, j)))
			goto diverged;
	}
	tensor_set(b, 0, lr->b);
	if (!isfinite(tensor_get(b, 0)))
		goto diverged;
	return 0;

 diverged:
	snprintf(err, LOGREG_ERR_MAX, "training diverged: a weight is not "
	    "finite in the model's dtype (learning rate too high?)");
	return -1;
}

static double
logreg_predict(const struct logreg *lr, const double *x)
{
	double	 z = lr->b;
	size_t	 j;

	for (j = 0; j < lr->features; j++)
		z += lr->w[j] * x[j];
	return logreg_sigmoid(z);
}

/* logreg_step - one gradient step on rows [first, first + n) */
static void
logreg_step(struct logreg *lr, const struct dataset *ds, size_t first,
    size_t n, double rate, double *gw)
{
	const double	*x;
	double		 d, gb = 0.0;
	size_t		 i, j;

	memset(gw, 0, lr->features * sizeof(double));
	for (i = first; i < first + n; i++) {
		x = ds->x + i * ds->features;
		d = logreg_predict(lr, x) - ds->y[i];
		for (j = 0; j < lr->features; j++)
			gw[j] += d * x[j];
		gb += d;
	}
	for (j = 0; j < lr->features; j++)
		lr->w[j] -= rate * gw[j] / (double)n;
	lr->b -= rate * gb / (double)n;
}

int
logreg_train(struct model *m, const struct dataset *ds,
    const struct logreg_settings *set, int64_t *steps,
    char err[LOGREG_ERR_MAX])
{
	return logreg_train_until(m, ds, set, NULL, steps, err);
}

int
logreg_train_until(struct model *m, const struct dataset *ds,
    const struct logreg_settings *set, const atomic_int *cancel,
    int64_t *steps, char err[LOGREG_ERR_MAX])
{
	struct logreg	 lr;
	double		*gw;
	size_t		 first, n = 0;
	int		 epoch, rc;

	*steps = 0;
	if (set->epochs < 1 || set->batch < 1 || !isfinite(set->lr) ||
	    set->lr <= 0.0) {
		snprintf(err, LOGREG_ERR_MAX, "epochs, batch size and learning "
		    "rate must be positive");
		return -1;
	}
	if (logreg_load(&lr, m, ds->features, err) == -1)
		return -1;
	if ((gw = calloc(lr.features == 0 ? 1 : lr.features,
	    sizeof(double))) == NULL) {
		snprintf(err, LOGREG_ERR_MAX, "%s", strerror(errno));
		free(lr.w);
		return -1;
	}

	for (epoch = 0; epoch < set->epochs; epoch++)
		for (first = 0; first < ds->rows; first += n) {
			if (cancel != NULL && atomic_load(cancel) != 0)
				goto cancelled;
			n = ds->rows - first < set->batch ?
			    ds->rows - first : set->batch;
			logreg_step(&lr, ds, first, n, set->lr, gw);
			(*steps)++;
		}

	rc = logreg_store(&lr, m, err);
	free(gw);
	free(lr.w);
	return rc;

 cancelled:
	snprintf(err, LOGREG_ERR_MAX, "training was cancelled after %lld "
	    "steps", (long long)*steps);
	free(gw);
	free(lr.w);
	errno = ECANCELED;
	return -1;
}

int
logreg_evaluate(const struct model *m, const struct dataset *ds,
    double *accuracy, double *log_loss, char err[LOGREG_ERR_MAX])
{
	struct logreg	 lr;
	double		 p, loss = 0.0;
	size_t		 i, correct = 0;

	if (logreg_load(&lr, m, ds->features, err) == -1)
		return -1;
	for (i = 0; i < ds->rows; i++) {
		p = logreg_predict(&lr, ds->x + i * ds->features);
		if ((p >= 0.5) == (ds->y[i] == 1.0))
			correct++;
		p = fmin(fmax(p, LOGREG_PROB_EPS), 1.0 - LOGREG_PROB_EPS);
		loss -= ds->y[i] == 1.0 ? log(p) : log(1.0 - p);
	}
	free(lr.w);
	*accuracy = (double)correct / (double)ds->rows;
	*log_loss = loss / (double)ds->rows;
	return 0;
}
