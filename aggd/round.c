/*
 * round - the round state machine: idle, then training round after round,
 * then finished.
 *
 * In a round every registered site may fetch the global model once (a
 * site that registered again and has not contributed may fetch it again)
 * and contribute once, for this round only. Accepted updates go straight
 * into the running sum. The round closes when min_num_clients updates
 * are in and either every live registered site has sent one or
 * wait_after_min_clients seconds have passed since the minimum was
 * reached. Closing averages, saves the model with its provenance and the
 * checkpoint, and only then moves to the next round: a model that cannot
 * be saved keeps the round closed, its sum intact, and is tried again.
 * An average that is not finite in a tensor's dtype is refused: the
 * round closes on the global model it began with, and its provenance
 * record says "refused".
 *
 * Rounds are numbered from start_round; with num_rounds > 0 the last one
 * is num_rounds - 1.
 *
 * A round-robin server (robin.c) passes the model from site to site
 * instead: one site at a time may fetch it, and its result is the next
 * site's model. A validation-only server runs no round at all: started,
 * it serves its fixed global model for cross-site validation (crossval.c)
 * and finishes once every registered site has validated everything.
 *
 * Training stops without finishing when an operator aborts it or when a
 * round-robin round lacks sites; "stopped" and "note" say so, and the
 * rounds go on at the next start from the round that was open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aggd.h"
#include "log.h"

/* round_over - num_rounds are done; a validation-only server has none */
static int
round_over(const struct round *r)
{
	return r->cfg->server_type != SERVER_VALIDATION_ONLY &&
	    r->cfg->num_rounds > 0 && r->number >= r->cfg->num_rounds;
}

int
round_init(struct round *r, const char *project, struct registry *reg,
    const struct train_config *cfg, struct model_store *store,
    struct notice *notice, struct model *global, int64_t run,
    int64_t number)
{
	memset(r, 0, sizeof(*r));
	r->project = project;
	r->reg = reg;
	r->cfg = cfg;
	r->store = store;
	r->notice = notice;
	r->run = run;
	r->number = number;
	r->global = *global;
	memset(global, 0, sizeof(*global));
	r->min_reached = -1.0;
	r->cache.run = r->cache.round = -1;

	if ((r->sites = calloc(reg->nsites + 1, sizeof(*r->sites))) == NULL ||
	    (r->order = calloc(reg->nsites + 1, sizeof(*r->order))) == NULL ||
	    (r->rr.order = calloc(reg->nsites + 1,
	    sizeof(*r->rr.order))) == NULL ||
	    (r->rr.skipped = calloc(reg->nsites + 1,
	    sizeof(*r->rr.skipped))) == NULL ||
	    fedavg_init(&r->acc, &r->global, cfg) == -1) {
		round_free(r);
		return -1;
	}
	r->rr.seed = robin_seed(cfg);
	if (round_over(r))
		r->state = ROUND_FINISHED;
	return 0;
}

void
round_free(struct round *r)
{
	model_cache_clear(&r->cache);
	fedavg_free(&r->acc);
	model_free(&r->global);
	robin_free(&r->rr);
	free(r->sites);
	free(r->order);
	r->sites = NULL;
	r->order = NULL;
}

/* round_model - the model a site fetches now */
const struct model *
round_model(const struct round *r)
{
	if (r->cfg->server_type == SERVER_ROUND_ROBIN)
		return robin_model(r);
	return &r->global;
}

const char *
round_state_name(const struct round *r)
{
	switch (r->state) {
	case ROUND_IDLE:	return "idle";
	case ROUND_TRAINING:	return "training";
	default:		return "finished";
	}
}

void
round_meta(const struct round *r, struct model_meta *mm)
{
	mm->project = r->project;
	mm->run = r->run;
	mm->round = r->number;
	mm->num_rounds = r->cfg->num_rounds;
}

/* round_json - the fields of a round notice and of the status */
json_t *
round_json(const struct round *r)
{
	json_t	*names;
	size_t	 i;

	if ((names = json_array()) == NULL)
		return NULL;
	for (i = 0; i < r->ncontributed; i++)
		json_array_append_new(names,
		    json_string(r->reg->sites[r->order[i]].name));
	/* Any negative num_rounds means "never stop": say it one way. */
	return json_pack("{s:I, s:I, s:s, s:I, s:o}", "run",
	    (json_int_t)r->run, "round", (json_int_t)r->number, "state",
	    round_state_name(r), "num_rounds", (json_int_t)(r->cfg->num_rounds
	    < 0 ? -1 : r->cfg->num_rounds), "round_sites", names);
}

/* round_reset - nobody has fetched or contributed yet */
static void
round_reset(struct round *r)
{
	memset(r->sites, 0, r->reg->nsites * sizeof(*r->sites));
	r->ncontributed = 0;
	r->min_reached = -1.0;
	r->type = CONTRIB_NONE;
	r->closing = 0;
	r->stuck_warned = 0;
	fedavg_reset(&r->acc, &r->global);
	model_cache_clear(&r->cache);
	robin_reset(&r->rr);
}

/* round_stop - training stops without finishing; why is the note */
static void
round_stop(struct round *r, const char *event, const char *why)
{
	round_reset(r);
	r->state = ROUND_IDLE;
	r->stopped = 1;
	r->autostart = 0;
	snprintf(r->note, sizeof(r->note), "%s", why);
	log_warnx("run %lld: %s", (long long)r->run, why);
	notice_round(r->notice, event, r);
}

/* round_begin - the next round, or the end of training */
static void
round_begin(struct round *r)
{
	char	 why[AGGD_MSG_MAX];

	round_reset(r);
	if (round_over(r)) {
		r->state = ROUND_FINISHED;
		log_info("run %lld: training finished after round %lld",
		    (long long)r->run, (long long)r->number - 1);
		notice_round(r->notice, "finished", r);
		return;
	}
	if (r->cfg->server_type == SERVER_ROUND_ROBIN &&
	    robin_begin(r, why, sizeof(why)) == -1) {
		round_stop(r, "stopped", why);
		return;
	}
	/* -s starts training once; an abort or a stop is not undone. */
	r->autostart = 0;
	r->stopped = 0;
	r->note[0] = '\0';
	r->state = ROUND_TRAINING;
	if (r->cfg->server_type == SERVER_VALIDATION_ONLY)
		log_info("run %lld: validation started: round %lld's model is "
		    "served for cross-site validation", (long long)r->run,
		    (long long)r->number);
	else
		log_info("run %lld: round %lld started", (long long)r->run,
		    (long long)r->number);
	notice_round(r->notice, "started", r);
}

/* round_start - training begins at the current round */
enum fl_status
round_start(struct round *r, double now, char *msg, size_t len)
{
	const char	*what = r->cfg->server_type == SERVER_VALIDATION_ONLY ?
			    "validation" : "training";

	if (r->state == ROUND_FINISHED) {
		snprintf(msg, len, "%s of run %lld has finished: set a new run "
		    "number to start again", what, (long long)r->run);
		return FL_FAILED_PRECONDITION;
	}
	if (r->state == ROUND_TRAINING) {
		snprintf(msg, len, "training is already running: round %lld",
		    (long long)r->number);
		return FL_FAILED_PRECONDITION;
	}
	if (r->cfg->server_type == SERVER_ROUND_ROBIN &&
	    robin_enough(r, msg, len) == -1)
		return FL_FAILED_PRECONDITION;
	round_begin(r);
	msg[0] = '\0';
	return FL_OK;
}

/* round_abort - the operator stops training; the open round and its sum
 * are dropped, to be redone at the next start */
enum fl_status
round_abort(struct round *r, char *msg, size_t len)
{
	char	 why[AGGD_MSG_MAX];

	if (r->state != ROUND_TRAINING) {
		snprintf(msg, len, "training is not running");
		return FL_FAILED_PRECONDITION;
	}
	snprintf(why, sizeof(why), "training was aborted by an admin in "
	    "round %lld", (long long)r->number);
	round_stop(r, "aborted", why);
	msg[0] = '\0';
	return FL_OK;
}

/* round_set_run - the run whose folder the next rounds are saved in */
enum fl_status
round_set_run(struct round *r, int64_t run, char *msg, size_t len)
{
	if (run < 1) {
		snprintf(msg, len, "run number %lld: must be 1 or more",
		    (long long)run);
		return FL_INVALID_ARGUMENT;
	}
	if (r->state == ROUND_TRAINING) {
		snprintf(msg, len, "cannot change the run number while "
		    "training (run %lld, round %lld)", (long long)r->run,
		    (long long)r->number);
		return FL_FAILED_PRECONDITION;
	}
	r->run = run;
	r->number = r->cfg->start_round;
	r->state = round_over(r) ? ROUND_FINISHED : ROUND_IDLE;
	r->stopped = 0;
	r->note[0] = '\0';
	round_reset(r);
	log_info("run number set to %lld", (long long)run);
	msg[0] = '\0';
	return FL_OK;
}

/*
 * round_replace - a deployed configuration (already in r->cfg) with its
 * initial model and running sum: the run starts over from start_round.
 * Takes both; the caller checked that training is not running.
 */
void
round_replace(struct round *r, struct model *global, struct fedavg *acc)
{
	model_cache_clear(&r->cache);
	fedavg_free(&r->acc);
	model_free(&r->global);
	r->global = *global;
	r->acc = *acc;
	memset(global, 0, sizeof(*global));
	memset(acc, 0, sizeof(*acc));
	r->rr.seed = robin_seed(r->cfg);
	r->number = r->cfg->start_round;
	r->state = round_over(r) ? ROUND_FINISHED : ROUND_IDLE;
	r->stopped = 0;
	r->note[0] = '\0';
	round_reset(r);
}

/*
 * round_fetch_refused - GetModel on a validation-only server: it runs no
 * round, so a site is told that training is over (Clara's clients then
 * go on to cross-site validation), or to wait until validation starts.
 */
static enum fl_status
round_fetch_refused(const struct round *r, char *msg, size_t len)
{
	if (r->state == ROUND_IDLE) {
		snprintf(msg, len, "No token: validation %s", r->stopped ?
		    "is not running" : "has not started");
		return FL_RESOURCE_EXHAUSTED;
	}
	snprintf(msg, len, "this server runs no training rounds: it serves "
	    "round %lld's model for cross-site validation",
	    (long long)r->number);
	return FL_OUT_OF_RANGE;
}

/*
 * round_fetch - site's model for this round, at most max_len bytes, with
 * a reference taken for the send. "No token" is what Clara's clients
 * read as "wait and ask again".
 */
enum fl_status
round_fetch(struct round *r, struct site *site, size_t max_len,
    struct model_buf **out, char *msg, size_t len)
{
	struct round_site	*rs = &r->sites[site->id];
	struct model_meta	 mm;
	struct model_buf	*mb;

	if (r->cfg->server_type == SERVER_VALIDATION_ONLY)
		return round_fetch_refused(r, msg, len);
	if (r->state == ROUND_IDLE) {
		snprintf(msg, len, "No token: training %s", r->stopped ?
		    "is not running" : "has not started");
		return FL_RESOURCE_EXHAUSTED;
	}
	if (r->state == ROUND_FINISHED) {
		snprintf(msg, len, "training has finished after round %lld",
		    (long long)r->number - 1);
		return FL_OUT_OF_RANGE;
	}
	if (r->closing) {
		snprintf(msg, len, "No token: round %lld is closed, its model "
		    "is being saved", (long long)r->number);
		return FL_RESOURCE_EXHAUSTED;
	}
	if (rs->contributed) {
		snprintf(msg, len, "No token: %s already contributed to round "
		    "%lld", site->name, (long long)r->number);
		return FL_RESOURCE_EXHAUSTED;
	}
	if (rs->fetched && !site->may_refetch) {
		snprintf(msg, len, "No token: %s already has round %lld's "
		    "model", site->name, (long long)r->number);
		return FL_RESOURCE_EXHAUSTED;
	}
	if (r->cfg->server_type == SERVER_ROUND_ROBIN &&
	    robin_may_fetch(r, site, msg, len) != FL_OK)
		return FL_RESOURCE_EXHAUSTED;

	round_meta(r, &mm);
	if ((mb = model_cache_get(&r->cache, round_model(r), r->cfg, &mm)) ==
	    NULL) {
		snprintf(msg, len, "the server could not pack the model");
		return FL_INTERNAL;
	}
	if (mb->len > max_len) {
		snprintf(msg, len, "the model is %zu bytes, over the message "
		    "limit of %zu", mb->len, max_len);
		return FL_RESOURCE_EXHAUSTED;
	}
	rs->fetched = 1;
	site->may_refetch = 0;
	model_cache_hold(mb);
	*out = mb;
	msg[0] = '\0';
	return FL_OK;
}

/* round_meta_matches - the round and run an update says it is for */
static enum fl_status
round_meta_matches(struct round *r, const Fedlearn__MetaData *meta,
    char *msg, size_t len)
{
	if (meta == NULL)
		return FL_OK;
	if (meta->current_round < r->number) {
		snprintf(msg, len, "Contrib: round %lld is over, the current "
		    "round is %lld", (long long)meta->current_round,
		    (long long)r->number);
		return FL_FAILED_PRECONDITION;
	}
	if (meta->current_round > r->number) {
		snprintf(msg, len, "Contrib: round %lld has not started, the "
		    "current round is %lld", (long long)meta->current_round,
		    (long long)r->number);
		return FL_FAILED_PRECONDITION;
	}
	if (meta->run_number != 0 && meta->run_number != r->run) {
		snprintf(msg, len, "Contrib: run %lld is not the current run "
		    "%lld", (long long)meta->run_number, (long long)r->run);
		return FL_FAILED_PRECONDITION;
	}
	return FL_OK;
}

/* round_may_contribute - an update from site may be considered now */
enum fl_status
round_may_contribute(struct round *r, struct site *site,
    const Fedlearn__MetaData *meta, char *msg, size_t len)
{
	struct round_site	*rs = &r->sites[site->id];
	enum fl_status		 st;

	if (r->cfg->server_type == SERVER_VALIDATION_ONLY) {
		snprintf(msg, len, "Contrib: this server runs no training "
		    "rounds (validation only)");
		return FL_FAILED_PRECONDITION;
	}
	if (r->state != ROUND_TRAINING) {
		snprintf(msg, len, "Contrib: %s", r->state == ROUND_FINISHED ?
		    "training has finished" : r->stopped ?
		    "training is not running" : "training has not started");
		return FL_FAILED_PRECONDITION;
	}
	if ((st = round_meta_matches(r, meta, msg, len)) != FL_OK)
		return st;
	if (r->closing) {
		snprintf(msg, len, "Contrib: round %lld is closed",
		    (long long)r->number);
		return FL_FAILED_PRECONDITION;
	}
	if (rs->contributed) {
		snprintf(msg, len, "Contrib: %s already contributed to round "
		    "%lld", site->name, (long long)r->number);
		return FL_FAILED_PRECONDITION;
	}
	if (!rs->fetched) {
		snprintf(msg, len, "Contrib: %s has not fetched round %lld's "
		    "model", site->name, (long long)r->number);
		return FL_FAILED_PRECONDITION;
	}
	if (r->cfg->server_type == SERVER_ROUND_ROBIN)
		return robin_may_contribute(r, site, msg, len);
	msg[0] = '\0';
	return FL_OK;
}

/*
 * round_contribute - a validated update into the round's sum, or on a
 * round-robin server into the model the next site gets. The round
 * closes at the next round_tick, which the caller runs once the request
 * and its copies of the update are freed. An update that would make the
 * sum or the chained model overflow is refused (FL_INVALID_ARGUMENT),
 * and memory running out is FL_INTERNAL; either way, with why in msg,
 * nothing changed.
 */
enum fl_status
round_contribute(struct round *r, struct site *site, const struct update *u,
    const char *sha256, double now, char *msg, size_t len)
{
	struct round_site	*rs = &r->sites[site->id];
	enum fl_status		 st;
	double			 agw, weight;

	weight = fedavg_weight(r->cfg, site->name, u->n_iter,
	    &site->weight_warned, &agw);
	if (r->cfg->server_type == SERVER_ROUND_ROBIN) {
		if ((st = robin_contribute(r, site, u, msg, len)) != FL_OK)
			return st;
	} else if (fedavg_add(&r->acc, &r->global, u, weight, site->name, msg,
	    len) == -1)
		return FL_INVALID_ARGUMENT;

	rs->contributed = 1;
	rs->prov.site = site->name;
	rs->prov.n_iter = u->n_iter;
	rs->prov.aggregation_weight = agw;
	rs->prov.weight = weight;
	snprintf(rs->prov.sha256, sizeof(rs->prov.sha256), "%s", sha256);
	r->order[r->ncontributed++] = site->id;
	r->type = u->type;
	if (r->ncontributed >= (size_t)r->cfg->min_num_clients &&
	    r->min_reached < 0.0)
		r->min_reached = now;

	log_info("round %lld: update from %s accepted (%s, n_iter %lld, "
	    "weight %g), %zu in", (long long)r->number, site->name,
	    contribution_type_name(u->type), (long long)u->n_iter, weight,
	    r->ncontributed);
	notice_round(r->notice, "contribution", r);
	msg[0] = '\0';
	return FL_OK;
}

/* round_waiting - registered sites whose update is not in */
static size_t
round_waiting(const struct round *r)
{
	size_t	 i, n = 0;

	for (i = 0; i < r->reg->nsites; i++)
		if (r->reg->sites[i].registered && !r->sites[i].contributed)
			n++;
	return n;
}

/* round_ready - enough updates, and no one left worth waiting for */
static int
round_ready(const struct round *r, double now)
{
	if (r->ncontributed < (size_t)r->cfg->min_num_clients)
		return 0;
	if (round_waiting(r) == 0)
		return 1;
	return now - r->min_reached >= r->cfg->wait_after_min_clients;
}

/*
 * round_stuck - the round cannot reach min_num_clients with the sites
 * registered now: 1 with the reason in msg, else 0.
 */
int
round_stuck(const struct round *r, char *msg, size_t len)
{
	size_t	 waiting, min = (size_t)r->cfg->min_num_clients;

	if (r->state != ROUND_TRAINING || r->closing ||
	    r->cfg->server_type != SERVER_FEDERATED ||
	    r->ncontributed >= min)
		return 0;
	if ((waiting = round_waiting(r)) + r->ncontributed >= min)
		return 0;
	snprintf(msg, len, "round %lld cannot reach min_num_clients (%zu): "
	    "updates in: %zu, registered sites yet to send one: %zu",
	    (long long)r->number, min, r->ncontributed, waiting);
	return 1;
}

/* round_site_names - "site-a, site-b" of the round's updates */
static void
round_site_names(const struct round *r, char *buf, size_t len)
{
	size_t	 i, off = 0;
	int	 n;

	buf[0] = '\0';
	for (i = 0; i < r->ncontributed && off < len; i++) {
		n = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
		    r->reg->sites[r->order[i]].name);
		if (n < 0)
			return;
		off += (size_t)n;
	}
}

/* round_extra - what the provenance record adds for this server type,
 * and why the round's result was refused if it was */
static json_t *
round_extra(const struct round *r, const char *refused)
{
	json_t	*extra;

	if (r->cfg->server_type == SERVER_ROUND_ROBIN)
		extra = robin_provenance(r);
	else
		extra = json_object();
	if (extra != NULL && refused[0] != '\0' && json_object_set_new(extra,
	    "refused", json_string(refused)) == -1) {
		json_decref(extra);
		return NULL;
	}
	return extra;
}

/* round_save - the new model, its provenance and the checkpoint */
static int
round_save(struct round *r, const struct model *next, const char *refused)
{
	struct provenance_site	*ps;
	json_t			*extra;
	size_t			 i;
	int			 rv = -1;

	if ((ps = calloc(r->ncontributed + 1, sizeof(*ps))) == NULL)
		return -1;
	for (i = 0; i < r->ncontributed; i++)
		ps[i] = r->sites[r->order[i]].prov;
	if ((extra = round_extra(r, refused)) != NULL)
		rv = model_store_save(r->store, r->run, r->number, r->type,
		    next, ps, r->ncontributed, extra);
	json_decref(extra);
	free(ps);
	return rv;
}

/*
 * round_refuse - when the average is not finite in some tensor's dtype
 * (a float32 old + average, a float16 past 65504), why in refused,
 * logged, and next freed, so that the round closes on the model it
 * began with.
 */
static void
round_refuse(const struct round *r, struct model *next, char *refused,
    size_t len)
{
	const struct tensor	*t;
	size_t			 i, j;

	if (fedavg_finite(next, &i, &j))
		return;
	t = &next->tensors[i];
	snprintf(refused, len, "not finite: tensor %s (%s), element %zu",
	    t->name, dtype_name(t->dtype), j);
	log_warnx("run %lld: round %lld: the new global model is refused, "
	    "%s: the global model stays as it was", (long long)r->run,
	    (long long)r->number, refused);
	model_free(next);
}

/* round_result - the round's new global model: the average, or the
 * round-robin chain's last result, taken over; or, with why in refused,
 * nothing */
static int
round_result(struct round *r, struct model *next, char *refused,
    size_t len)
{
	refused[0] = '\0';
	if (r->cfg->server_type != SERVER_ROUND_ROBIN) {
		if (fedavg_finalize(&r->acc, &r->global, r->type, next) == -1)
			return -1;
		round_refuse(r, next, refused, len);
		return 0;
	}
	*next = r->rr.chain;
	memset(&r->rr.chain, 0, sizeof(r->rr.chain));
	return 0;
}

/* round_result_back - a round-robin result that could not be saved goes
 * back to the chain, for the next try */
static void
round_result_back(struct round *r, struct model *next)
{
	if (r->cfg->server_type == SERVER_ROUND_ROBIN) {
		r->rr.chain = *next;
		memset(next, 0, sizeof(*next));
	}
	model_free(next);
}

/* round_closed - the log line of a round that closed */
static void
round_closed(const struct round *r, const char *refused)
{
	char	 names[1024];

	round_site_names(r, names, sizeof(names));
	if (refused[0] != '\0')
		log_info("run %lld: round %lld closed without changing the "
		    "global model: the average of its %zu update%s (%s) was "
		    "refused",
		    (long long)r->run, (long long)r->number, r->ncontributed,
		    r->ncontributed == 1 ? "" : "s", names);
	else
		log_info("run %lld: round %lld closed: %zu update%s aggregated "
		    "(%s)", (long long)r->run, (long long)r->number,
		    r->ncontributed, r->ncontributed == 1 ? "" : "s", names);
}

/*
 * round_close - average, save, and move on; or try again later. A
 * result that is not finite closes the round all the same, on the
 * model it began with, and its provenance record says why.
 */
static void
round_close(struct round *r, double now)
{
	struct model	 next;
	char		 refused[AGGD_MSG_MAX];

	/* No more fetches this round: the packed model can go before the
	 * new one is made. */
	model_cache_clear(&r->cache);
	r->closing = 1;
	memset(&next, 0, sizeof(next));
	if (round_result(r, &next, refused, sizeof(refused)) == -1 ||
	    round_save(r, refused[0] != '\0' ? &r->global : &next,
	    refused) == -1) {
		round_result_back(r, &next);
		r->retry_at = now + AGGD_SAVE_RETRY;
		log_warnx("round %lld: the new global model could not be "
		    "saved; trying again in %g s", (long long)r->number,
		    AGGD_SAVE_RETRY);
		return;
	}

	if (refused[0] == '\0') {
		model_free(&r->global);
		r->global = next;
	}
	round_closed(r, refused);
	notice_round(r->notice, "closed", r);
	r->number++;
	round_begin(r);
}

/* round_expire - sites silent for longer than heart_beat_timeout */
static void
round_expire(struct round *r, double now)
{
	struct site	*site;
	char		 reason[64];

	while ((site = registry_expired(r->reg, now)) != NULL) {
		snprintf(reason, sizeof(reason), "no contact for %g s",
		    r->reg->timeout);
		log_info("%s removed: %s", site->name, reason);
		notice_site(r->notice, "removed", site, reason);
		registry_remove(r->reg, site);
	}
}

/* round_validated - a validation-only server's work is done */
static void
round_validated(struct round *r)
{
	r->state = ROUND_FINISHED;
	log_info("run %lld: validation finished: every registered site "
	    "validated every model", (long long)r->run);
	notice_round(r->notice, "finished", r);
}

/* round_robin_tick - skip the sites that left; close after the last */
static void
round_robin_tick(struct round *r, double now)
{
	char	 why[AGGD_MSG_MAX];

	if (!robin_advance(r))
		return;
	if (r->ncontributed > 0) {
		round_close(r, now);
		return;
	}
	snprintf(why, sizeof(why), "round-robin round %lld: every site left "
	    "before sending its result", (long long)r->number);
	round_stop(r, "stopped", why);
}

/* round_tick - what time changes: dead sites, the start, the close */
void
round_tick(struct round *r, double now)
{
	char	 why[AGGD_MSG_MAX];

	round_expire(r, now);
	if (r->state == ROUND_IDLE && r->autostart &&
	    r->reg->nregistered >= (size_t)r->cfg->min_num_clients)
		round_begin(r);
	if (r->state != ROUND_TRAINING)
		return;
	if (r->closing) {
		if (now >= r->retry_at)
			round_close(r, now);
		return;
	}
	if (r->cfg->server_type == SERVER_VALIDATION_ONLY) {
		if (r->xv != NULL && crossval_complete(r->xv))
			round_validated(r);
		return;
	}
	if (r->cfg->server_type == SERVER_ROUND_ROBIN) {
		round_robin_tick(r, now);
		return;
	}
	if (round_stuck(r, why, sizeof(why))) {
		if (!r->stuck_warned)
			log_warnx("%s", why);
		r->stuck_warned = 1;
	} else
		r->stuck_warned = 0;
	if (round_ready(r, now))
		round_close(r, now);
}

/*
 * round_note - what an operator should know about the round beyond its
 * numbers: 1 with the note in msg, or 0.
 */
int
round_note(const struct round *r, char *msg, size_t len)
{
	if (r->state == ROUND_TRAINING && r->closing)
		snprintf(msg, len, "the round is closed but its model could "
		    "not be saved yet: retrying");
	else if (r->state == ROUND_IDLE && r->stopped)
		snprintf(msg, len, "%s", r->note);
	else if (r->state == ROUND_TRAINING &&
	    r->cfg->server_type == SERVER_ROUND_ROBIN)
		robin_status(r, msg, len);
	else if (r->state == ROUND_TRAINING &&
	    r->cfg->server_type == SERVER_VALIDATION_ONLY)
		snprintf(msg, len, "validation only: round %lld's model is "
		    "served for cross-site validation", (long long)r->number);
	else
		return round_stuck(r, msg, len);
	return 1;
}
