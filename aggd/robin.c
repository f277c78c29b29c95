/*
 * robin - round-robin rounds, as Clara's RoundRobinFederatedServer ran
 * them: the model goes to one site at a time, and each site's result is
 * the model the next site receives.
 *
 * At the start of a round the registered sites are put in a shuffled
 * order: a pseudo-random permutation drawn from the seed (the training
 * configuration's round_robin_seed, else random at start-up), the run
 * and the round, so that a logged seed reproduces every order. Sites
 * that register later wait for the next round. Only the site whose turn
 * it is may fetch the model; its update ("w": its weights; "delta_w":
 * a difference from the model it got) makes the next model, in float64
 * rounded to each tensor's dtype as a FedAvg round of one site would. A
 * site that is gone when its turn comes, or that leaves while it holds
 * the model (quit, removed, silent past heart_beat_timeout), is skipped
 * and the next site gets the last good model. After the last turn the
 * last result is the round's global model, saved with the chain of
 * sites that made it.
 *
 * A round needs min_num_clients registered sites to begin; with fewer,
 * training stops with a note rather than waiting in a loop.
 */
#include <sys/random.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aggd.h"
#include "log.h"

/* splitmix64: a small, well-mixed generator; no secret depends on it. */
static uint64_t
robin_next(uint64_t *state)
{
	uint64_t	 z;

	z = (*state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * robin_order - shuffle ids in place: the same seed, run, round and ids
 * give the same order.
 */
void
robin_order(size_t *ids, size_t n, uint64_t seed, int64_t run, int64_t round)
{
	uint64_t	 state;
	size_t		 i, j, id;

	state = seed;
	state ^= robin_next(&state) ^ (uint64_t)run;
	state ^= robin_next(&state) ^ (uint64_t)round;
	for (i = n; i > 1; i--) {
		j = (size_t)(robin_next(&state) % i);
		id = ids[i - 1];
		ids[i - 1] = ids[j];
		ids[j] = id;
	}
}

/* robin_seed - the configured seed, else a random one */
uint64_t
robin_seed(const struct train_config *cfg)
{
	uint64_t	 seed = 0;

	if (cfg->has_round_robin_seed)
		return cfg->round_robin_seed;
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		log_warn("getrandom: the round-robin seed is 0");
	/* Kept below 2^63: a seed that is logged can be configured. */
	return seed >> 1;
}

/* robin_enough - min_num_clients sites are registered, or -1 and why */
int
robin_enough(const struct round *r, char *why, size_t len)
{
	size_t	 n = r->reg->nregistered;

	if (n >= (size_t)r->cfg->min_num_clients)
		return 0;
	snprintf(why, len, "round-robin needs %d sites, %zu %s registered: "
	    "training stopped before round %lld", r->cfg->min_num_clients, n,
	    n == 1 ? "is" : "are", (long long)r->number);
	return -1;
}

/* robin_names - "site-b, site-a" of n site ids */
static void
robin_names(const struct round *r, const size_t *ids, size_t n, char *buf,
    size_t len)
{
	size_t	 i, off = 0;
	int	 w;

	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++) {
		w = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
		    r->reg->sites[ids[i]].name);
		if (w < 0)
			return;
		off += (size_t)w;
	}
}

/* robin_begin - the turn order of the round; -1 and why with too few */
int
robin_begin(struct round *r, char *why, size_t len)
{
	struct robin	*rr = &r->rr;
	char		 names[1024];
	size_t		 i;

	if (robin_enough(r, why, len) == -1)
		return -1;
	robin_reset(rr);
	for (i = 0; i < r->reg->nsites; i++)
		if (r->reg->sites[i].registered)
			rr->order[rr->norder++] = i;
	robin_order(rr->order, rr->norder, rr->seed, r->run, r->number);
	robin_names(r, rr->order, rr->norder, names, sizeof(names));
	log_info("round-robin round %lld: order %s (seed %llu)",
	    (long long)r->number, names, (unsigned long long)rr->seed);
	return 0;
}

/* robin_reset - no order, no turn, no result */
void
robin_reset(struct robin *rr)
{
	model_free(&rr->chain);
	rr->norder = 0;
	rr->pos = 0;
	rr->nskipped = 0;
}

void
robin_free(struct robin *rr)
{
	model_free(&rr->chain);
	free(rr->order);
	free(rr->skipped);
	rr->order = rr->skipped = NULL;
	rr->norder = rr->pos = rr->nskipped = 0;
}

/* robin_holder - the site whose turn it is, or NULL after the last */
struct site *
robin_holder(const struct round *r)
{
	if (r->rr.pos >= r->rr.norder)
		return NULL;
	return &r->reg->sites[r->rr.order[r->rr.pos]];
}

/* robin_model - the last good model of the round */
const struct model *
robin_model(const struct round *r)
{
	return r->rr.chain.count > 0 ? &r->rr.chain : &r->global;
}

/* robin_in_order - site takes part in this round */
static int
robin_in_order(const struct round *r, const struct site *site)
{
	size_t	 i;

	for (i = 0; i < r->rr.norder; i++)
		if (r->rr.order[i] == site->id)
			return 1;
	return 0;
}

enum fl_status
robin_may_fetch(const struct round *r, const struct site *site, char *msg,
    size_t len)
{
	if (robin_holder(r) == site)
		return FL_OK;
	if (!robin_in_order(r, site))
		snprintf(msg, len, "No token: %s registered after round-robin "
		    "round %lld began: its turn comes in the next round",
		    site->name, (long long)r->number);
	else
		snprintf(msg, len, "No token: round-robin round %lld: it is "
		    "not %s's turn", (long long)r->number, site->name);
	return FL_RESOURCE_EXHAUSTED;
}

enum fl_status
robin_may_contribute(const struct round *r, const struct site *site,
    char *msg, size_t len)
{
	if (robin_holder(r) == site) {
		msg[0] = '\0';
		return FL_OK;
	}
	snprintf(msg, len, "Contrib: round-robin round %lld: it is not %s's "
	    "turn", (long long)r->number, site->name);
	return FL_FAILED_PRECONDITION;
}

/* robin_tensor - one tensor of the next model from base and the update's
 * (data NULL: excluded, keeps base's values) */
static void
robin_tensor(const struct tensor *base, const struct tensor *up,
    enum contrib_type type, struct tensor *out)
{
	size_t	 j;

	if (up->data == NULL || type == CONTRIB_W) {
		memcpy(out->data, up->data != NULL ? up->data : base->data,
		    base->count * dtype_size(base->dtype));
		return;
	}
	for (j = 0; j < base->count; j++)
		tensor_set(out, j, tensor_get(base, j) + tensor_get(up, j));
}

/* robin_refused - why next, not finite in a tensor's dtype, is refused */
static enum fl_status
robin_refused(const struct model *next, const struct site *site,
    char *msg, size_t len)
{
	const struct tensor	*t;
	size_t			 i, j;

	if (fedavg_finite(next, &i, &j))
		return FL_OK;
	t = &next->tensors[i];
	snprintf(msg, len, "%s: tensor %s: the model plus the update is not "
	    "finite in %s (element %zu)", site->name, t->name,
	    dtype_name(t->dtype), j);
	return FL_INVALID_ARGUMENT;
}

/*
 * robin_contribute - the holder's validated update makes the model the
 * next site gets; the turn passes. A result that is not finite is
 * refused like an invalid update: the turn stays and nothing changes,
 * as when memory runs out.
 */
enum fl_status
robin_contribute(struct round *r, const struct site *site,
    const struct update *u, char *msg, size_t len)
{
	const struct model	*base = robin_model(r);
	const struct tensor	*b;
	struct model		 next;
	struct tensor		 t;
	enum fl_status		 st;
	size_t			 i;

	memset(&next, 0, sizeof(next));
	for (i = 0; i < base->count; i++) {
		b = &base->tensors[i];
		if (tensor_alloc(&t, b->name, b->dtype, b->ndim,
		    b->shape) == -1)
			goto fail;
		robin_tensor(b, &u->tensors[i], u->type, &t);
		if (model_add(&next, &t) == -1)
			goto fail;
	}
	if ((st = robin_refused(&next, site, msg, len)) != FL_OK) {
		model_free(&next);
		return st;
	}
	model_free(&r->rr.chain);
	r->rr.chain = next;
	r->rr.pos++;
	/* The packed model of the last turn is no one's any more. */
	model_cache_clear(&r->cache);
	return FL_OK;
fail:
	log_warn("round-robin round %lld: next model", (long long)r->number);
	model_free(&next);
	snprintf(msg, len, "the server ran out of memory taking %s's update",
	    site->name);
	return FL_INTERNAL;
}

/*
 * robin_advance - skip the sites that are gone when their turn comes or
 * while they hold the model. Returns 1 once every turn is over.
 */
int
robin_advance(struct round *r)
{
	struct robin	*rr = &r->rr;
	struct site	*site;

	while ((site = robin_holder(r)) != NULL && !site->registered) {
		log_warnx("round-robin round %lld: %s is gone: skipped, the "
		    "next site gets the last good model",
		    (long long)r->number, site->name);
		rr->skipped[rr->nskipped++] = site->id;
		rr->pos++;
		model_cache_clear(&r->cache);
	}
	return rr->pos >= rr->norder;
}

/* robin_status - whose turn it is, for the operator */
void
robin_status(const struct round *r, char *msg, size_t len)
{
	const struct site	*site = robin_holder(r);

	if (site == NULL)
		snprintf(msg, len, "round-robin round %lld: every turn is "
		    "over", (long long)r->number);
	else
		snprintf(msg, len, "round-robin round %lld: %s's turn (%zu "
		    "of %zu)", (long long)r->number, site->name,
		    r->rr.pos + 1, r->rr.norder);
}

/* robin_list - names of n site ids as a JSON list */
static json_t *
robin_list(const struct round *r, const size_t *ids, size_t n)
{
	json_t	*list;
	size_t	 i;

	if ((list = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_array_append_new(list,
		    json_string(r->reg->sites[ids[i]].name)) == -1) {
			json_decref(list);
			return NULL;
		}
	return list;
}

/* robin_provenance - what a round-robin round adds to its record: the
 * turn order, the seed that drew it, and who was skipped */
json_t *
robin_provenance(const struct round *r)
{
	return json_pack("{s:s, s:o*, s:o*, s:I}", "server_type",
	    "round_robin", "order", robin_list(r, r->rr.order, r->rr.norder),
	    "skipped", robin_list(r, r->rr.skipped, r->rr.nskipped),
	    "seed", (json_int_t)r->rr.seed);
}
