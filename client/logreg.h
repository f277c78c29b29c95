/*
 * logreg - the reference site's model: logistic regression, trained by
 * mini-batch gradient descent on a dataset.
 *
 * A model holds "w", float shape (features,), and "b", float shape (1,).
 * Training visits the rows in file order, B rows per step, with no
 * randomness: the same model, table and settings give the same result
 * bit for bit, which is what lets a federated run be compared with a
 * central one. Arithmetic is in double; results are stored back in the
 * tensors' own dtype. Other tensors of the model are left alone.
 */
#ifndef FL_LOGREG_H
#define FL_LOGREG_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "tensor.h"

#define LOGREG_ERR_MAX		256
#define LOGREG_PROB_EPS		1e-15

struct logreg_settings {
	int	 epochs;	/* passes over the table */
	double	 lr;		/* learning rate */
	size_t	 batch;		/* rows per step */
};

/* Train m in place; *steps is the number of mini-batch steps taken. */
int	logreg_train(struct model *m, const struct dataset *,
	    const struct logreg_settings *, int64_t *steps,
	    char err[LOGREG_ERR_MAX]);
/*
 * The same, looking at cancel before each step: once it is set, training
 * fails with errno ECANCELED and m is left as it was.
 */
int	logreg_train_until(struct model *m, const struct dataset *,
	    const struct logreg_settings *, const atomic_int *cancel,
	    int64_t *steps, char err[LOGREG_ERR_MAX]);
/* Accuracy (threshold 0.5) and mean log-loss of m on the table. */
int	logreg_evaluate(const struct model *m, const struct dataset *,
	    double *accuracy, double *log_loss, char err[LOGREG_ERR_MAX]);
/* 1 / (1 + exp(-z)) without overflow for any z. */
double	logreg_sigmoid(double z);

#endif
