/*
 * control - the requests admind sends on behalf of the operator.
 *
 * SERVER_STATUS answers with what check_status shows: the run, the round
 * and its state, the registered sites with their last contact, the sites
 * whose update is in, and why a round cannot close when it cannot. The
 * other operator requests are not served yet and say so.
 *
 * XXX netd and admind connect to the same socket and aggd cannot tell
 * which one sent a request; that is safe while the only request served
 * here reads status. Requests that change the training (start, abort)
 * need admind's own socket, or a check of the peer's uid, first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "aggd.h"
#include "log.h"

/* control_free - an ipc_free_fn for JSON text */
static void
control_free(void *data, void *hint)
{
	(void)hint;
	free(data);
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
static json_t *
control_status(struct aggd *ag)
{
	char	 why[AGGD_MSG_MAX];
	json_t	*doc;

	if ((doc = round_json(&ag->round)) == NULL)
		return NULL;
	json_object_set_new(doc, "sites", control_sites(&ag->reg));
	if (ag->round.closing)
		json_object_set_new(doc, "note", json_string("the round is "
		    "closed but its model could not be saved yet: retrying"));
	else if (round_stuck(&ag->round, why, sizeof(why)))
		json_object_set_new(doc, "note", json_string(why));
	return doc;
}

void
control_request(struct aggd *ag, const Flipc__Envelope *env,
    const void *payload, size_t len, struct reply *rep)
{
	const ProtobufCEnumValue	*kind;
	json_t				*doc;
	char				*text;

	(void)payload;
	(void)len;
	memset(rep, 0, sizeof(*rep));
	if (env->kind != FLIPC__KIND__SERVER_STATUS) {
		kind = protobuf_c_enum_descriptor_get_value(
		    &flipc__kind__descriptor, env->kind);
		training_reply(rep, FL_UNIMPLEMENTED, "%s is not implemented "
		    "by aggd yet", kind != NULL ? kind->name : "this request");
		log_warnx("%s", rep->message);
		return;
	}
	if ((doc = control_status(ag)) == NULL ||
	    (text = json_dumps(doc, JSON_COMPACT)) == NULL) {
		json_decref(doc);
		training_reply(rep, FL_INTERNAL, "cannot encode the status");
		return;
	}
	json_decref(doc);
	rep->payload = text;
	rep->len = strlen(text);
	rep->free_fn = control_free;
}
