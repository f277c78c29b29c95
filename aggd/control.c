/*
 * control - the requests admind sends on behalf of the operator, JSON
 * both ways (doc/layout.md, "Operator requests").
 *
 * Only admind reaches control.sock (its folder's permissions and, when
 * privileged, its uid say so), but what it sends is checked again here:
 * a request is one JSON object with exactly its keys, or nothing for a
 * request without any. A refused request changes nothing and is logged
 * once, here; a request that changes the training is logged when done.
 *
 * Starting after training has finished is refused: a new run number
 * (set_run_number) starts a new run folder from the current global
 * model, so the finished run's models and records are never written
 * over. For the same reason a configuration is deployed only into a run
 * that has not saved a round yet; it replaces the global model with its
 * ckpt_preload_path and the rounds start again from its start_round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "aggd.h"
#include "log.h"

/* Longest part of a request's string quoted back in a message. */
#define CONTROL_SHOWN		80
/* admind takes no larger reply from aggd (ADMIND_AGGD_MAX_PAYLOAD). */
#define CONTROL_REPLY_MAX	(1024 * 1024)

/* control_free - an ipc_free_fn for JSON text */
static void
control_free(void *data, void *hint)
{
	(void)hint;
	free(data);
}

/* control_clean - a printable, bounded copy of a request's string */
static void
control_clean(const char *in, char *out, size_t len)
{
	size_t	 i;

	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < len &&
	    i < CONTROL_SHOWN; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}

/* control_answer - an OK reply carrying doc, which it takes */
static void
control_answer(struct reply *rep, json_t *doc)
{
	char	*text;

	if (doc == NULL || (text = json_dumps(doc, JSON_COMPACT)) == NULL) {
		json_decref(doc);
		training_reply(rep, FL_INTERNAL, "cannot encode the reply");
		return;
	}
	json_decref(doc);
	if (strlen(text) > CONTROL_REPLY_MAX) {
		training_reply(rep, FL_RESOURCE_EXHAUSTED, "the reply would be "
		    "%zu bytes, more than admind takes (%d)", strlen(text),
		    CONTROL_REPLY_MAX);
		free(text);
		return;
	}
	rep->payload = text;
	rep->len = strlen(text);
	rep->free_fn = control_free;
	training_reply(rep, FL_OK, "%s", "");
}

/* control_run_reply - {"run", "round"} of the round now */
static void
control_run_reply(struct aggd *ag, struct reply *rep)
{
	control_answer(rep, json_pack("{s:I, s:I}", "run",
	    (json_int_t)ag->round.run, "round", (json_int_t)ag->round.number));
}

/* control_sites - the registered sites and their last contact */
static json_t *
control_sites(const struct registry *reg)
{
	const struct site	*site;
	struct tm		 tm;
	char			 when[32];
	json_t			*sites;
	size_t			 i;

	if ((sites = json_array()) == NULL)
		return NULL;
	for (i = 0; i < reg->nsites; i++) {
		site = &reg->sites[i];
		if (!site->registered)
			continue;
		gmtime_r(&site->last_contact_wall, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_array_append_new(sites, json_pack("{s:s, s:s}", "name",
		    site->name, "last_contact", when));
	}
	return sites;
}

/* control_status - the SERVER_STATUS document */
static void
control_status(struct aggd *ag, struct reply *rep)
{
	char	 note[AGGD_MSG_MAX];
	json_t	*doc;

	if ((doc = round_json(&ag->round)) == NULL) {
		training_reply(rep, FL_INTERNAL, "cannot encode the status");
		return;
	}
	json_object_set_new(doc, "sites", control_sites(&ag->reg));
	json_object_set_new(doc, "server_type",
	    json_string(train_config_server_type(&ag->cfg)));
	if (round_note(&ag->round, note, sizeof(note)))
		json_object_set_new(doc, "note", json_string(note));
	control_answer(rep, doc);
}

static void
control_start(struct aggd *ag, struct reply *rep)
{
	rep->status = round_start(&ag->round, aggd_now(), rep->message,
	    sizeof(rep->message));
	if (rep->status != FL_OK)
		return;
	log_info("training started by an admin: run %lld, round %lld",
	    (long long)ag->round.run, (long long)ag->round.number);
	control_run_reply(ag, rep);
}

static void
control_abort(struct aggd *ag, struct reply *rep)
{
	rep->status = round_abort(&ag->round, rep->message,
	    sizeof(rep->message));
	if (rep->status == FL_OK)
		control_run_reply(ag, rep);
}

/* control_run_number - {"run": N}, N >= 1, into *run */
static int
control_run_number(json_t *doc, int64_t *run, struct reply *rep)
{
	json_t	*v;

	if (json_unpack(doc, "{s:o !}", "run", &v) == -1 ||
	    !json_is_integer(v)) {
		training_reply(rep, FL_INVALID_ARGUMENT, "expected {\"run\": "
		    "N}");
		return -1;
	}
	if (json_integer_value(v) < 1) {
		training_reply(rep, FL_INVALID_ARGUMENT, "run number %lld: "
		    "must be 1 or more", (long long)json_integer_value(v));
		return -1;
	}
	*run = json_integer_value(v);
	return 0;
}

/* control_not_training - the request needs training to be stopped */
static int
control_not_training(struct aggd *ag, const char *what, struct reply *rep)
{
	if (ag->round.state != ROUND_TRAINING)
		return 0;
	training_reply(rep, FL_FAILED_PRECONDITION, "cannot %s while "
	    "training (run %lld, round %lld)", what,
	    (long long)ag->round.run, (long long)ag->round.number);
	return -1;
}

/*
 * control_set_run - a new run folder starting from the current global
 * model, recorded in the checkpoint. The current run number again is no
 * change; another run that exists is refused rather than written over.
 */
static void
control_set_run(struct aggd *ag, json_t *doc, struct reply *rep)
{
	int64_t	 run;

	if (control_run_number(doc, &run, rep) == -1 ||
	    control_not_training(ag, "change the run number", rep) == -1)
		return;
	if (run == ag->round.run) {
		control_answer(rep, json_pack("{s:I}", "run",
		    (json_int_t)run));
		return;
	}
	if (run_folder_exists(&ag->store, run)) {
		training_reply(rep, FL_FAILED_PRECONDITION, "run %lld exists: "
		    "delete it first or choose another number",
		    (long long)run);
		return;
	}
	if (model_store_begin_run(&ag->store, run, ag->cfg.start_round,
	    &ag->round.global) == -1) {
		training_reply(rep, FL_INTERNAL, "run %lld could not be "
		    "started on disk", (long long)run);
		return;
	}
	rep->status = round_set_run(&ag->round, run, rep->message,
	    sizeof(rep->message));
	if (rep->status == FL_OK)
		control_answer(rep, json_pack("{s:I}", "run",
		    (json_int_t)run));
}

static void
control_delete_run(struct aggd *ag, json_t *doc, struct reply *rep)
{
	int64_t	 run;

	if (control_run_number(doc, &run, rep) == -1 ||
	    control_not_training(ag, "delete a run", rep) == -1)
		return;
	if (run == ag->round.run) {
		training_reply(rep, FL_FAILED_PRECONDITION, "run %lld is the "
		    "current run", (long long)run);
		return;
	}
	rep->status = run_folder_delete(&ag->store, run, rep->message,
	    sizeof(rep->message));
	if (rep->status == FL_OK)
		control_answer(rep, json_pack("{s:I}", "run",
		    (json_int_t)run));
}

/* control_site - {"site": NAME} as a project site, or NULL */
static struct site *
control_site(struct aggd *ag, json_t *doc, const char *token_key,
    const char **token, struct reply *rep)
{
	char		 shown[CONTROL_SHOWN + 1];
	const char	*name;
	struct site	*site;
	int		 rv;

	if (token_key != NULL)
		rv = json_unpack(doc, "{s:s, s:s !}", "site", &name, token_key,
		    token);
	else
		rv = json_unpack(doc, "{s:s !}", "site", &name);
	if (rv == -1) {
		training_reply(rep, FL_INVALID_ARGUMENT, "expected {\"site\"%s"
		    "}", token_key != NULL ? ", \"token\"" : "");
		return NULL;
	}
	if ((site = registry_site(&ag->reg, name)) == NULL) {
		control_clean(name, shown, sizeof(shown));
		training_reply(rep, token_key != NULL ? FL_UNAUTHENTICATED :
		    FL_NOT_FOUND, "%s is not a site of project %s", shown,
		    ag->project);
	}
	return site;
}

static void
control_remove_client(struct aggd *ag, json_t *doc, struct reply *rep)
{
	struct site	*site;

	if ((site = control_site(ag, doc, NULL, NULL, rep)) == NULL)
		return;
	if (!site->registered) {
		training_reply(rep, FL_NOT_FOUND, "%s is not registered",
		    site->name);
		return;
	}
	registry_remove(&ag->reg, site);
	log_info("%s removed by an admin", site->name);
	notice_site(&ag->notice, "removed", site, "removed by an admin");
	control_answer(rep, json_pack("{s:s}", "site", site->name));
}

/* control_resolve_token - whose live token it is; a sign of life */
static void
control_resolve_token(struct aggd *ag, json_t *doc, struct reply *rep)
{
	const char	*token = NULL;
	struct site	*site;
	double		 now = aggd_now();

	if ((site = control_site(ag, doc, "token", &token, rep)) == NULL)
		return;
	if (registry_authenticate(&ag->reg, site, token, now, rep->message,
	    sizeof(rep->message)) != FL_OK) {
		rep->status = FL_UNAUTHENTICATED;
		return;
	}
	notice_contact(&ag->notice, site, now);
	control_answer(rep, json_pack("{s:s}", "site", site->name));
}

/* control_results - the current run's cross_val_results.json */
static void
control_results(struct aggd *ag, struct reply *rep)
{
	control_answer(rep, crossval_results(&ag->xv));
}

/* control_deploy_request - {"config": PATH} */
static void
control_deploy_request(struct aggd *ag, json_t *doc, struct reply *rep)
{
	const char	*config;

	if (json_unpack(doc, "{s:s !}", "config", &config) == -1) {
		training_reply(rep, FL_INVALID_ARGUMENT, "expected "
		    "{\"config\": PATH}");
		return;
	}
	if (control_not_training(ag, "deploy a configuration", rep) == -1)
		return;
	if (deploy_config(ag, config, rep) == 0)
		control_answer(rep, json_pack("{s:I}", "run",
		    (json_int_t)ag->round.run));
}

/* control_parse - the request's JSON object; no payload is {} */
static json_t *
control_parse(const void *payload, size_t len, struct reply *rep)
{
	json_error_t	 jerr;
	json_t		*doc;

	if (len == 0)
		return json_object();
	doc = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		training_reply(rep, FL_INVALID_ARGUMENT, "the request is not "
		    "a JSON object");
		return NULL;
	}
	return doc;
}

/* control_empty - requests without arguments carry none */
static int
control_empty(json_t *doc, struct reply *rep)
{
	if (json_object_size(doc) == 0)
		return 0;
	training_reply(rep, FL_INVALID_ARGUMENT, "expected {}");
	return -1;
}

static void
control_dispatch(struct aggd *ag, Flipc__Kind kind, json_t *doc,
    struct reply *rep)
{
	switch (kind) {
	case FLIPC__KIND__SET_RUN_NUMBER:
		control_set_run(ag, doc, rep);
		return;
	case FLIPC__KIND__DELETE_RUN:
		control_delete_run(ag, doc, rep);
		return;
	case FLIPC__KIND__REMOVE_CLIENT:
		control_remove_client(ag, doc, rep);
		return;
	case FLIPC__KIND__RESOLVE_TOKEN:
		control_resolve_token(ag, doc, rep);
		return;
	case FLIPC__KIND__DEPLOY_CONFIG:
		control_deploy_request(ag, doc, rep);
		return;
	default:
		break;
	}
	if (control_empty(doc, rep) == -1)
		return;
	switch (kind) {
	case FLIPC__KIND__SERVER_STATUS:
		control_status(ag, rep);
		break;
	case FLIPC__KIND__START_TRAINING:
		control_start(ag, rep);
		break;
	case FLIPC__KIND__ABORT_TRAINING:
		control_abort(ag, rep);
		break;
	case FLIPC__KIND__VALIDATION_RESULTS:
		control_results(ag, rep);
		break;
	default:
		training_reply(rep, FL_UNIMPLEMENTED, "kind %d is not an "
		    "operator request", kind);
		break;
	}
}

void
control_request(struct aggd *ag, const Flipc__Envelope *env,
    const void *payload, size_t len, struct reply *rep)
{
	const ProtobufCEnumValue	*kind;
	json_t				*doc;

	memset(rep, 0, sizeof(*rep));
	if ((doc = control_parse(payload, len, rep)) != NULL) {
		control_dispatch(ag, env->kind, doc, rep);
		json_decref(doc);
	}
	if (rep->status == FL_OK)
		return;
	kind = protobuf_c_enum_descriptor_get_value(&flipc__kind__descriptor,
	    env->kind);
	/* An unknown token is the answer to a site that must register. */
	if (env->kind == FLIPC__KIND__RESOLVE_TOKEN)
		log_debug("%s refused: %s", kind->name, rep->message);
	else
		log_warnx("%s refused (%d): %s", kind != NULL ? kind->name :
		    "operator request", rep->status, rep->message);
}
