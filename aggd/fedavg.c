/*
 * fedavg - the weighted average of the accepted updates of a round.
 *
 * Each update is added to a float64 running sum the moment it is
 * accepted, and then freed: memory holds one sum per element of the
 * global model whatever the number of sites. The weight of a site is its
 * n_iter times its aggregation weight (1.0 when the configuration does
 * not name it). The result is sum / sum of weights, computed in float64
 * as numpy would and rounded once to each tensor's dtype. Tensors that
 * exclude_vars matches are not summed and keep the server's values.
 *
 * Nothing here may make a global model that is not finite: an update
 * that would overflow the sum is refused before it is added, and
 * fedavg_finite lets the caller refuse a result that overflowed its
 * dtype (old + average for delta_w, or a float16 past 65504).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggd.h"
#include "log.h"

int
fedavg_init(struct fedavg *acc, const struct model *global,
    const struct train_config *cfg)
{
	const struct tensor	*t;
	size_t			 i;

	memset(acc, 0, sizeof(*acc));
	if ((acc->sums = calloc(global->count == 0 ? 1 : global->count,
	    sizeof(*acc->sums))) == NULL)
		return -1;
	acc->count = global->count;
	for (i = 0; i < global->count; i++) {
		t = &global->tensors[i];
		if (train_config_excluded(cfg, t->name))
			continue;
		if ((acc->sums[i] = calloc(t->count == 0 ? 1 : t->count,
		    sizeof(double))) == NULL) {
			fedavg_free(acc);
			return -1;
		}
	}
	return 0;
}

/* fedavg_reset - back to no update, for the next round */
void
fedavg_reset(struct fedavg *acc, const struct model *global)
{
	size_t	 i;

	for (i = 0; i < acc->count; i++)
		if (acc->sums[i] != NULL)
			memset(acc->sums[i], 0,
			    global->tensors[i].count * sizeof(double));
	acc->sumw = 0.0;
	acc->nupdates = 0;
}

void
fedavg_free(struct fedavg *acc)
{
	size_t	 i;

	if (acc->sums != NULL)
		for (i = 0; i < acc->count; i++)
			free(acc->sums[i]);
	free(acc->sums);
	memset(acc, 0, sizeof(*acc));
}

/*
 * fedavg_weight - n_iter x the site's aggregation weight. A site the
 * map does not name weighs 1.0; that is said once per site, since a
 * missing name is more often a typo than a choice.
 */
double
fedavg_weight(const struct train_config *cfg, const char *site,
    int64_t n_iter, int *warned, double *aggregation_weight)
{
	double	 w;
	int	 named = 0;

	w = train_config_weight(cfg, site, &named);
	if (!named && cfg->nweights > 0 && !*warned) {
		log_warnx("%s has no aggregation weight in the configuration: "
		    "using 1.0", site);
		*warned = 1;
	}
	if (aggregation_weight != NULL)
		*aggregation_weight = w;
	return (double)n_iter * w;
}

/*
 * fedavg_fits - every element of the sum stays finite with weight x
 * update added: the very sums fedavg_add would store, computed and
 * dropped, so that the check is exact. -1 and why in err if not.
 */
static int
fedavg_fits(const struct fedavg *acc, const struct model *global,
    const struct update *u, double weight, const char *site, char *err,
    size_t len)
{
	const double	*sum;
	size_t		 i, j;

	if (!isfinite(weight) || !isfinite(acc->sumw + weight)) {
		snprintf(err, len, "%s: the sum of the weights would overflow",
		    site);
		return -1;
	}
	for (i = 0; i < acc->count; i++) {
		if ((sum = acc->sums[i]) == NULL)
			continue;
		for (j = 0; j < global->tensors[i].count; j++)
			if (!isfinite(sum[j] + weight *
			    tensor_get(&u->tensors[i], j))) {
				snprintf(err, len, "%s: tensor %s: the "
				    "weighted sum would overflow", site,
				    global->tensors[i].name);
				return -1;
			}
	}
	return 0;
}

/*
 * fedavg_add - add weight x update, or refuse it whole (-1 and why in
 * err) when the sum would overflow: a refused update leaves the sum as
 * it was and does not count.
 */
int
fedavg_add(struct fedavg *acc, const struct model *global,
    const struct update *u, double weight, const char *site, char *err,
    size_t len)
{
	const struct tensor	*t;
	double			*sum;
	size_t			 i, j;

	if (fedavg_fits(acc, global, u, weight, site, err, len) == -1)
		return -1;
	for (i = 0; i < acc->count; i++) {
		if ((sum = acc->sums[i]) == NULL)
			continue;
		t = &u->tensors[i];
		for (j = 0; j < global->tensors[i].count; j++)
			sum[j] += weight * tensor_get(t, j);
	}
	acc->sumw += weight;
	acc->nupdates++;
	return 0;
}

/* fedavg_tensor - one tensor of the new global model */
static void
fedavg_tensor(const struct fedavg *acc, size_t i, const struct tensor *old,
    enum contrib_type type, struct tensor *out)
{
	const double	*sum = acc->sums[i];
	double		 mean;
	size_t		 j;

	if (sum == NULL || acc->sumw == 0.0) {
		memcpy(out->data, old->data,
		    old->count * dtype_size(old->dtype));
		return;
	}
	for (j = 0; j < old->count; j++) {
		mean = sum[j] / acc->sumw;
		if (type == CONTRIB_DELTA_W)
			mean += tensor_get(old, j);
		tensor_set(out, j, mean);
	}
}

/*
 * fedavg_finalize - the new global model into out, leaving the sum as it
 * is, so that a round whose model cannot be saved can close later.
 */
int
fedavg_finalize(const struct fedavg *acc, const struct model *global,
    enum contrib_type type, struct model *out)
{
	const struct tensor	*old;
	struct tensor		 t;
	size_t			 i;

	memset(out, 0, sizeof(*out));
	if (acc->sumw == 0.0 && acc->nupdates > 0)
		log_warnx("the weights of the round's updates sum to 0: "
		    "the global model stays as it was");
	for (i = 0; i < global->count; i++) {
		old = &global->tensors[i];
		if (tensor_alloc(&t, old->name, old->dtype, old->ndim,
		    old->shape) == -1)
			goto fail;
		fedavg_tensor(acc, i, old, type, &t);
		if (model_add(out, &t) == -1)
			goto fail;
	}
	return 0;
fail:
	log_warn("new global model");
	model_free(out);
	return -1;
}

/*
 * fedavg_finite - every element of every floating-point tensor of m is
 * finite, as stored in the tensor's dtype: a float16 or float32 that
 * overflowed when rounded is infinite there. 1, or 0 with the first
 * tensor and element that is not.
 */
int
fedavg_finite(const struct model *m, size_t *tensor, size_t *element)
{
	const struct tensor	*t;
	size_t			 i, j;

	for (i = 0; i < m->count; i++) {
		t = &m->tensors[i];
		if (!dtype_is_float(t->dtype))
			continue;
		for (j = 0; j < t->count; j++)
			if (!isfinite(tensor_get(t, j))) {
				*tensor = i;
				*element = j;
				return 0;
			}
	}
	return 1;
}
