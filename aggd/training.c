/*
 * training - the FederatedTraining requests that netd passes on.
 *
 * The payload is the gRPC request exactly as the site sent it; netd
 * vouches for the peer's certificate (kind and CN) and for nothing else,
 * so everything in the request is checked here again. Each request is
 * decoded with protobuf-c, authenticated (the certificate must be one of
 * the project's sites, the token that site's live token), handed to the
 * registry, the round or cross-site validation, and answered with a gRPC
 * status and, on OK, the serialized reply.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggd.h"
#include "log.h"
#include "revocation.h"
#include "unpack.h"

/* Longest part of a peer's string quoted back in a message. */
#define TRAINING_SHOWN		80

void
training_reply(struct reply *rep, int status, const char *fmt, ...)
{
	va_list	 ap;

	rep->status = status;
	va_start(ap, fmt);
	vsnprintf(rep->message, sizeof(rep->message), fmt, ap);
	va_end(ap);
}

void
training_reply_free(struct reply *rep)
{
	if (rep->payload != NULL && rep->free_fn != NULL)
		rep->free_fn(rep->payload, rep->hint);
	rep->payload = NULL;
	rep->free_fn = NULL;
}

/* training_free - an ipc_free_fn for replies packed with malloc */
static void
training_free(void *data, void *hint)
{
	(void)hint;
	free(data);
}

/* training_clean - a printable, bounded copy of a peer's string */
static void
training_clean(const char *in, char *out, size_t len)
{
	size_t	 i;

	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < len &&
	    i < TRAINING_SHOWN; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}

/* training_revoked - a revoked site leaves the registry and its round */
static void
training_revoked(struct aggd *ag, struct site *site, struct reply *rep)
{
	rep->status = FL_UNAUTHENTICATED;
	if (!site->registered)
		return;
	registry_remove(&ag->reg, site);
	log_info("%s removed: %s", site->name, REVOCATION_REFUSAL);
	notice_site(&ag->notice, "removed", site, REVOCATION_REFUSAL);
}

/* training_peer - the request comes from a site certificate of one of
 * the project's sites, not revoked */
static struct site *
training_peer(struct aggd *ag, const Flipc__Envelope *env,
    struct reply *rep)
{
	char		 cn[TRAINING_SHOWN + 1];
	struct site	*site;

	if (env->peer == NULL ||
	    env->peer->kind != FLIPC__PEER_KIND__PEER_SITE) {
		training_reply(rep, FL_UNAUTHENTICATED, "not a site "
		    "certificate");
		return NULL;
	}
	if ((site = registry_site(&ag->reg, env->peer->common_name)) == NULL) {
		training_clean(env->peer->common_name, cn, sizeof(cn));
		training_reply(rep, FL_UNAUTHENTICATED, "%s is not a site of "
		    "project %s", cn, ag->project);
		return NULL;
	}
	if (revocation_check(ag->store.workspace, env->peer->fingerprint,
	    rep->message, sizeof(rep->message)) == -1) {
		training_revoked(ag, site, rep);
		return NULL;
	}
	return site;
}

/* training_name - a client_name the request carries, if any, must be
 * the certificate's CN */
static int
training_name(const struct site *site, const char *name, struct reply *rep)
{
	char	 shown[TRAINING_SHOWN + 1];

	if (name == NULL || name[0] == '\0' || strcmp(name, site->name) == 0)
		return 0;
	training_clean(name, shown, sizeof(shown));
	training_reply(rep, FL_UNAUTHENTICATED, "client name %s differs from "
	    "the certificate's %s", shown, site->name);
	return -1;
}

/* training_auth - the token in the request, else in the gRPC metadata,
 * is site's live token; a sign of life */
static int
training_auth(struct aggd *ag, struct site *site, const char *token,
    const Flipc__Envelope *env, double now, struct reply *rep)
{
	enum fl_status	 st;

	if (token == NULL || token[0] == '\0')
		token = env->metadata_token;
	st = registry_authenticate(&ag->reg, site, token, now, rep->message,
	    sizeof(rep->message));
	if (st != FL_OK) {
		rep->status = st;
		return -1;
	}
	notice_contact(&ag->notice, site, now);
	return 0;
}

/* training_summary - an OK reply carrying a FederatedSummary */
static void
training_summary(struct aggd *ag, struct reply *rep, const char *token,
    const char *comment)
{
	Fedlearn__FederatedSummary	 sum =
					    FEDLEARN__FEDERATED_SUMMARY__INIT;
	Fedlearn__MetaData		 meta = FEDLEARN__META_DATA__INIT;
	Fedlearn__Project		 project = FEDLEARN__PROJECT__INIT;
	size_t				 len;

	project.name = (char *)ag->project;
	meta.project = &project;
	meta.current_round = ag->round.number;
	meta.num_rounds = ag->cfg.num_rounds;
	meta.run_number = ag->round.run;
	sum.meta = &meta;
	sum.comment = (char *)comment;
	if (token != NULL)
		sum.token = (char *)token;

	len = fedlearn__federated_summary__get_packed_size(&sum);
	if ((rep->payload = malloc(len == 0 ? 1 : len)) == NULL) {
		training_reply(rep, FL_INTERNAL, "out of memory");
		return;
	}
	fedlearn__federated_summary__pack(&sum, rep->payload);
	rep->len = len;
	rep->free_fn = training_free;
	training_reply(rep, FL_OK, "%s", "");
}

/* training_project - a project name the login carries must be ours */
static int
training_project(struct aggd *ag, const Fedlearn__MetaData *meta,
    struct reply *rep)
{
	char	 shown[TRAINING_SHOWN + 1];

	if (meta == NULL || meta->project == NULL ||
	    meta->project->name == NULL || meta->project->name[0] == '\0' ||
	    strcmp(meta->project->name, ag->project) == 0)
		return 0;
	training_clean(meta->project->name, shown, sizeof(shown));
	training_reply(rep, FL_INVALID_ARGUMENT, "project %s is not this "
	    "server's project %s", shown, ag->project);
	return -1;
}

/*
 * training_unpack - a site's request as desc, or NULL after replying
 * INVALID_ARGUMENT: malformed, or too costly to decode (unpack.h).
 * Free it with protobuf_c_message_free_unpacked or its own free, NULL.
 */
static void *
training_unpack(const ProtobufCMessageDescriptor *desc, const void *payload,
    size_t len, struct reply *rep)
{
	ProtobufCMessage	*m;
	int			 over;

	if ((m = unpack_message(desc, len, payload, &over)) == NULL)
		training_reply(rep, FL_INVALID_ARGUMENT, "malformed %s%s",
		    desc->short_name, over ? ": too many fields for its size" :
		    "");
	return m;
}

/* training_login - the login's name and project are this site's */
static int
training_login(struct aggd *ag, struct site *site,
    const Fedlearn__ClientLogin *login, struct reply *rep)
{
	if (login->client_name == NULL || login->client_name[0] == '\0') {
		training_reply(rep, FL_UNAUTHENTICATED, "no client name");
		return -1;
	}
	if (training_name(site, login->client_name, rep) == -1 ||
	    training_project(ag, login->meta, rep) == -1)
		return -1;
	return 0;
}

static void
training_register(struct aggd *ag, struct site *site, const void *payload,
    size_t len, double now, struct reply *rep)
{
	Fedlearn__ClientLogin	*login;
	int			 again = site->registered, ok;

	if ((login = training_unpack(&fedlearn__client_login__descriptor,
	    payload, len, rep)) == NULL)
		return;
	ok = training_login(ag, site, login, rep) == 0;
	fedlearn__client_login__free_unpacked(login, NULL);
	if (!ok)
		return;
	rep->status = registry_register(&ag->reg, site, now, rep->message,
	    sizeof(rep->message));
	if (rep->status != FL_OK)
		return;

	if (ag->round.xv != NULL)
		crossval_registered(ag->round.xv, site);
	log_info("%s registered%s", site->name, again ? " again: its old "
	    "token is revoked" : "");
	notice_site(&ag->notice, "registered", site, again ?
	    "registered again" : NULL);
	site->last_notice = now;
	training_summary(ag, rep, site->token, "registered");
}

/*
 * training_client_state - a ClientState request from a site that is who
 * its certificate says and holds a live token: 0, else -1 with the reply
 * already made.
 */
static int
training_client_state(struct aggd *ag, struct site *site,
    const Flipc__Envelope *env, const void *payload, size_t len, double now,
    struct reply *rep)
{
	Fedlearn__ClientState	*cs;
	int			 ok;

	if ((cs = training_unpack(&fedlearn__client_state__descriptor,
	    payload, len, rep)) == NULL)
		return -1;
	ok = training_name(site, cs->client_name, rep) == 0 &&
	    training_auth(ag, site, cs->token, env, now, rep) == 0;
	fedlearn__client_state__free_unpacked(cs, NULL);
	return ok ? 0 : -1;
}

static void
training_quit(struct aggd *ag, struct site *site, const Flipc__Envelope *env,
    const void *payload, size_t len, double now, struct reply *rep)
{
	if (training_client_state(ag, site, env, payload, len, now,
	    rep) == -1)
		return;

	registry_remove(&ag->reg, site);
	log_info("%s quit", site->name);
	notice_site(&ag->notice, "quit", site, "the site quit");
	training_summary(ag, rep, NULL, "goodbye");
}

static void
training_heartbeat(struct aggd *ag, struct site *site,
    const Flipc__Envelope *env, const void *payload, size_t len, double now,
    struct reply *rep)
{
	Fedlearn__Token	*tok;
	int		 ok;

	if ((tok = training_unpack(&fedlearn__token__descriptor, payload,
	    len, rep)) == NULL)
		return;
	ok = training_name(site, tok->client_name, rep) == 0 &&
	    training_auth(ag, site, tok->token, env, now, rep) == 0;
	fedlearn__token__free_unpacked(tok, NULL);
	if (ok)
		training_summary(ag, rep, NULL, "alive");
}

static void
training_get_model(struct aggd *ag, struct site *site,
    const Flipc__Envelope *env, const void *payload, size_t len, double now,
    struct reply *rep)
{
	struct model_buf	*mb = NULL;

	if (training_client_state(ag, site, env, payload, len, now,
	    rep) == -1)
		return;

	rep->status = round_fetch(&ag->round, site, ag->max_payload, &mb,
	    rep->message, sizeof(rep->message));
	if (rep->status != FL_OK)
		return;
	rep->payload = mb->data;
	rep->len = mb->len;
	rep->free_fn = model_cache_release;
	rep->hint = mb;
	log_info("round %lld: model sent to %s", (long long)ag->round.number,
	    site->name);
}

/* training_update - decode, validate and count one site's update */
static void
training_update(struct aggd *ag, struct site *site,
    Fedlearn__Contribution *c, const void *payload, size_t len, double now,
    struct reply *rep)
{
	char		 sha[DIGEST_HEX_LEN + 1], comment[128];
	struct round	*r = &ag->round;
	struct update	 u;

	if (contribution_digest(payload, len, sha) == -1) {
		training_reply(rep, FL_INVALID_ARGUMENT, "%s: the update "
		    "carries its model data more than once", site->name);
		return;
	}
	if (contribution_decode(c, site->name, round_model(r), &ag->cfg,
	    r->type, ag->max_payload, &u, rep->message,
	    sizeof(rep->message)) == -1) {
		rep->status = FL_INVALID_ARGUMENT;
		return;
	}
	snprintf(comment, sizeof(comment), "update accepted for round %lld",
	    (long long)r->number);
	rep->status = round_contribute(r, site, &u, sha, now, rep->message,
	    sizeof(rep->message));
	if (rep->status == FL_OK)
		training_summary(ag, rep, NULL, comment);
	contribution_free(&u);
}

static void
training_submit_update(struct aggd *ag, struct site *site,
    const Flipc__Envelope *env, const void *payload, size_t len, double now,
    struct reply *rep)
{
	Fedlearn__Contribution	*c;
	Fedlearn__ClientState	*cs;

	if ((c = training_unpack(&fedlearn__contribution__descriptor,
	    payload, len, rep)) == NULL)
		return;
	cs = c->client;
	if (training_name(site, cs != NULL ? cs->client_name : NULL, rep) ==
	    0 && training_auth(ag, site, cs != NULL ? cs->token : NULL, env,
	    now, rep) == 0) {
		rep->status = round_may_contribute(&ag->round, site,
		    cs != NULL ? cs->meta : NULL, rep->message,
		    sizeof(rep->message));
		if (rep->status == FL_OK)
			training_update(ag, site, c, payload, len, now, rep);
	}
	fedlearn__contribution__free_unpacked(c, NULL);
}

static void
training_best_model(struct aggd *ag, struct site *site,
    const Flipc__Envelope *env, const void *payload, size_t len, double now,
    struct reply *rep)
{
	Fedlearn__LocalModel	*lm;
	Fedlearn__ClientState	*cs;

	if ((lm = training_unpack(&fedlearn__local_model__descriptor,
	    payload, len, rep)) == NULL)
		return;
	cs = lm->client;
	if (training_name(site, cs != NULL ? cs->client_name : NULL, rep) ==
	    0 && training_auth(ag, site, cs != NULL ? cs->token : NULL, env,
	    now, rep) == 0) {
		rep->status = crossval_submit_model(&ag->xv, site, lm,
		    rep->message, sizeof(rep->message));
		if (rep->status == FL_OK)
			training_summary(ag, rep, NULL, "best local model "
			    "accepted");
	}
	fedlearn__local_model__free_unpacked(lm, NULL);
}

static void
training_validation_model(struct aggd *ag, struct site *site,
    const Flipc__Envelope *env, const void *payload, size_t len, double now,
    struct reply *rep)
{
	struct model_buf	*mb = NULL;

	if (training_client_state(ag, site, env, payload, len, now,
	    rep) == -1)
		return;

	rep->status = crossval_next(&ag->xv, site, ag->max_payload, &mb,
	    rep->message, sizeof(rep->message));
	if (rep->status != FL_OK)
		return;
	rep->payload = mb->data;
	rep->len = mb->len;
	rep->free_fn = model_cache_release;
	rep->hint = mb;
}

static void
training_validation_results(struct aggd *ag, struct site *site,
    const Flipc__Envelope *env, const void *payload, size_t len, double now,
    struct reply *rep)
{
	Fedlearn__ValidationResults	*vr;
	Fedlearn__ClientState		*cs;

	if ((vr = training_unpack(&fedlearn__validation_results__descriptor,
	    payload, len, rep)) == NULL)
		return;
	cs = vr->client;
	if (training_name(site, cs != NULL ? cs->client_name : NULL, rep) ==
	    0 && training_auth(ag, site, cs != NULL ? cs->token : NULL, env,
	    now, rep) == 0) {
		rep->status = crossval_submit_results(&ag->xv, site, vr,
		    rep->message, sizeof(rep->message));
		if (rep->status == FL_OK)
			training_summary(ag, rep, NULL, "results accepted");
	}
	fedlearn__validation_results__free_unpacked(vr, NULL);
}

/* training_log - a refused request, once; "No token" is the routine
 * answer to a site polling between rounds */
static void
training_log(const Flipc__Envelope *env, const struct reply *rep)
{
	const ProtobufCEnumValue	*kind;
	char				 cn[TRAINING_SHOWN + 1];

	if (rep->status == FL_OK)
		return;
	kind = protobuf_c_enum_descriptor_get_value(&flipc__kind__descriptor,
	    env->kind);
	training_clean(env->peer != NULL ? env->peer->common_name : "?", cn,
	    sizeof(cn));
	if (strncmp(rep->message, "No token", 8) == 0)
		log_debug("%s from %s: %s", kind != NULL ? kind->name : "?",
		    cn, rep->message);
	else
		log_warnx("%s from %s refused (%d): %s", kind != NULL ?
		    kind->name : "?", cn, rep->status, rep->message);
}

void
training_request(struct aggd *ag, const Flipc__Envelope *env,
    const void *payload, size_t len, double now, struct reply *rep)
{
	struct site	*site;

	memset(rep, 0, sizeof(*rep));
	if ((site = training_peer(ag, env, rep)) == NULL)
		goto done;

	switch (env->kind) {
	case FLIPC__KIND__REGISTER:
		training_register(ag, site, payload, len, now, rep);
		break;
	case FLIPC__KIND__QUIT:
		training_quit(ag, site, env, payload, len, now, rep);
		break;
	case FLIPC__KIND__HEARTBEAT:
		training_heartbeat(ag, site, env, payload, len, now, rep);
		break;
	case FLIPC__KIND__GET_MODEL:
		training_get_model(ag, site, env, payload, len, now, rep);
		break;
	case FLIPC__KIND__SUBMIT_UPDATE:
		training_submit_update(ag, site, env, payload, len, now, rep);
		break;
	case FLIPC__KIND__SUBMIT_BEST_LOCAL_MODEL:
		training_best_model(ag, site, env, payload, len, now, rep);
		break;
	case FLIPC__KIND__GET_VALIDATION_MODELS:
		training_validation_model(ag, site, env, payload, len, now,
		    rep);
		break;
	case FLIPC__KIND__SUBMIT_VALIDATION_RESULTS:
		training_validation_results(ag, site, env, payload, len, now,
		    rep);
		break;
	default:
		training_reply(rep, FL_UNIMPLEMENTED, "kind %d is not a "
		    "training request", env->kind);
		break;
	}
done:
	training_log(env, rep);
}
