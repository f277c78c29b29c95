/*
 * bestmodel - the site's best local model, for cross-site validation.
 *
 * After each round's local training the site offers the model it
 * trained; it is evaluated on the site's own table and kept when its
 * log-loss there is lower than that of every model kept before (on a tie
 * the earlier round's stays). Log-loss rather than accuracy: on a small
 * table many rounds reach the same accuracy, and log-loss still tells
 * them apart. Nothing here talks to the server.
 */
#ifndef FL_BESTMODEL_H
#define FL_BESTMODEL_H

#include <stdint.h>

#include "dataset.h"
#include "logreg.h"
#include "tensor.h"

struct bestmodel {
	struct model	 model;
	int64_t		 round;		/* the round it was trained in */
	double		 accuracy;	/* on the site's own table */
	double		 log_loss;
	int		 kept;		/* 0 until a model was offered */
};

void	bestmodel_init(struct bestmodel *);
/*
 * Offer a trained model; it is taken either way (kept, or freed).
 * Returns 1 when it is now the best, 0 when an earlier one stays, -1 when
 * it cannot be evaluated on the table (err says why; it is freed).
 */
int	bestmodel_offer(struct bestmodel *, struct model *local,
	    const struct dataset *, int64_t round, char err[LOGREG_ERR_MAX]);
void	bestmodel_free(struct bestmodel *);

#endif
