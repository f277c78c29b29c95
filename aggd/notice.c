/*
 * notice - telling admind what happens to sites and rounds.
 *
 * Notices are JSON on the DEALER link to admind (doc/layout.md has their
 * fields). They never wait: when admind is absent or slow and the link's
 * small queue is full, a notice is dropped, and admind catches up from
 * the next one or from SERVER_STATUS. aggd's work must not depend on
 * admind being up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "aggd.h"
#include "log.h"

/* notice_time - a UTC time as "2024-05-01T12:00:00Z" */
static void
notice_time(time_t t, char *buf, size_t len)
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* notice_writable - the link can take a message now */
static int
notice_writable(struct notice *n)
{
	zmq_pollitem_t	 item;

	memset(&item, 0, sizeof(item));
	item.socket = n->link->sock;
	item.events = ZMQ_POLLOUT;
	if (zmq_poll(&item, 1, 0) <= 0)
		return 0;
	return (item.revents & ZMQ_POLLOUT) != 0;
}

/* notice_send - one notice of kind, or none if admind cannot take it */
static void
notice_send(struct notice *n, Flipc__Kind kind, json_t *doc)
{
	Flipc__Envelope	 env = FLIPC__ENVELOPE__INIT;
	char		*text;

	if (n->link == NULL || doc == NULL) {
		json_decref(doc);
		return;
	}
	if (!notice_writable(n)) {
		if (!n->dropping)
			log_warnx("admind is not taking notices: dropping "
			    "them until it does");
		n->dropping = 1;
		json_decref(doc);
		return;
	}
	if (n->dropping)
		log_info("admind takes notices again");
	n->dropping = 0;

	if ((text = json_dumps(doc, JSON_COMPACT)) != NULL) {
		env.request_id = ++n->next_id;
		env.kind = kind;
		ipc_send(n->link, NULL, &env, text, strlen(text), NULL, NULL);
		free(text);
	}
	json_decref(doc);
}

/* notice_site - event is "registered", "contact", "removed" or "quit" */
void
notice_site(struct notice *n, const char *event, const struct site *site,
    const char *reason)
{
	char	 when[32];

	notice_time(site->last_contact_wall, when, sizeof(when));
	notice_send(n, FLIPC__KIND__NOTICE_SITE, json_pack("{s:s, s:s, s:s, "
	    "s:s}", "event", event, "site", site->name, "time", when,
	    "reason", reason != NULL ? reason : ""));
}

/* notice_contact - a sign of life, at most once a second per site */
void
notice_contact(struct notice *n, struct site *site, double now)
{
	if (site->last_notice > 0.0 &&
	    now - site->last_notice < AGGD_CONTACT_NOTICE)
		return;
	site->last_notice = now;
	notice_site(n, "contact", site, NULL);
}

/* notice_round - event is "started", "contribution", "closed" or
 * "finished"; the rest is the round's state */
void
notice_round(struct notice *n, const char *event, const struct round *r)
{
	json_t	*doc;

	if (n->link == NULL)
		return;
	if ((doc = round_json(r)) != NULL &&
	    json_object_set_new(doc, "event", json_string(event)) == -1) {
		json_decref(doc);
		doc = NULL;
	}
	notice_send(n, FLIPC__KIND__NOTICE_ROUND, doc);
}
