/*
 * bestmodel - keep the local model with the lowest log-loss on the
 * site's own table.
 */
#include <string.h>

#include "bestmodel.h"

void
bestmodel_init(struct bestmodel *b)
{
	memset(b, 0, sizeof(*b));
}

int
bestmodel_offer(struct bestmodel *b, struct model *local,
    const struct dataset *ds, int64_t round, char err[LOGREG_ERR_MAX])
{
	double	 accuracy, log_loss;

	if (logreg_evaluate(local, ds, &accuracy, &log_loss, err) == -1) {
		model_free(local);
		return -1;
	}
	if (b->kept && !(log_loss < b->log_loss)) {
		model_free(local);
		return 0;
	}
	model_free(&b->model);
	b->model = *local;
	memset(local, 0, sizeof(*local));
	b->round = round;
	b->accuracy = accuracy;
	b->log_loss = log_loss;
	b->kept = 1;
	return 1;
}

void
bestmodel_free(struct bestmodel *b)
{
	model_free(&b->model);
	memset(b, 0, sizeof(*b));
}
