/*
 * relay - the admin console's requests to sites, over the training
 * port's AdminCommunicating channel.
 *
 * A command queues a request per site; each site polls Retrieve about
 * twice a second and gets what is queued for it; it answers each with
 * SendReply (or SendResult), naming the request in header _refMsgId.
 * Every poll and answer carries the site's token, which aggd alone can
 * vouch for: admind asks it (RESOLVE_TOKEN, with the site's name from
 * its certificate) and keeps netd's request waiting meanwhile, without
 * blocking. A token of another site, or a dead one, is refused.
 *
 * A request lives as long as the command that made it: once the command
 * has its answers or its deadline, requests still queued are dropped and
 * late answers are ignored. Each request carries the command's audit
 * event id. remove_client leaves a mark on the site, so that a removed
 * site that registers again is logged and shown, never silent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.pb-c.h"
#include "admind.h"
#include "log.h"
#include "status.h"
#include "unpack.h"

/* Requests waiting for one site at most. */
#define RELAY_QUEUE_MAX		64
/* Requests handed to a site in one Retrieve. */
#define RELAY_BATCH		16
/* Seconds aggd has to vouch for a token. */
#define RELAY_AGGD_TIMEOUT	5.0
#define RELAY_TOPIC_MAX		32

struct relay_msg {
	TAILQ_ENTRY(relay_msg)	 m_entry;
	int64_t			 m_id;
	char			 m_site[STATUS_NAME_MAX + 1];
	char			 m_topic[RELAY_TOPIC_MAX];
	char			*m_body;
	char			 m_event[AUDIT_EVENT_HEX + 1];
	struct command_run	*m_run;
	size_t			 m_wait;
};

/* A site's poll or answer, waiting for aggd to vouch for its token. */
struct relay_call {
	TAILQ_ENTRY(relay_call)	 c_entry;
	struct admind		*c_ad;
	struct netd_request	 c_netd;
	Flipc__Kind		 c_kind;
	char			 c_site[STATUS_NAME_MAX + 1];
	Admin__Reply		*c_reply;	/* SendReply, SendResult */
};

void
relay_init(struct relay *rl)
{
	memset(rl, 0, sizeof(*rl));
	TAILQ_INIT(&rl->sent);
	TAILQ_INIT(&rl->calls);
	/* Ids from the clock: a restarted admind does not reuse them. */
	rl->next_id = (int64_t)time(NULL) * 1000;
}

static void
relay_msg_free(struct relay_msg *m)
{
	free(m->m_body);
	free(m);
}

static void
relay_call_free(struct relay_call *c)
{
	request_drop(&c->c_netd);
	if (c->c_reply != NULL)
		admin__reply__free_unpacked(c->c_reply, NULL);
	free(c);
}

void
relay_free(struct relay *rl)
{
	struct relay_msg	*m;
	struct relay_call	*c;
	size_t			 i;

	for (i = 0; i < rl->nsites; i++) {
		while ((m = TAILQ_FIRST(&rl->sites[i]->rs_queue)) != NULL) {
			TAILQ_REMOVE(&rl->sites[i]->rs_queue, m, m_entry);
			relay_msg_free(m);
		}
		free(rl->sites[i]);
	}
	free(rl->sites);
	while ((m = TAILQ_FIRST(&rl->sent)) != NULL) {
		TAILQ_REMOVE(&rl->sent, m, m_entry);
		relay_msg_free(m);
	}
	while ((c = TAILQ_FIRST(&rl->calls)) != NULL) {
		TAILQ_REMOVE(&rl->calls, c, c_entry);
		relay_call_free(c);
	}
	memset(rl, 0, sizeof(*rl));
}

const struct relay_site *
relay_site_find(const struct admind *ad, const char *site)
{
	size_t	 i;

	for (i = 0; i < ad->relay.nsites; i++)
		if (strcmp(ad->relay.sites[i]->rs_name, site) == 0)
			return ad->relay.sites[i];
	return NULL;
}

/* relay_site - the site's entry, made at first use */
static struct relay_site *
relay_site(struct admind *ad, const char *site)
{
	struct relay		*rl = &ad->relay;
	struct relay_site	*rs, **grown;

	if ((rs = (struct relay_site *)relay_site_find(ad, site)) != NULL)
		return rs;
	if (rl->nsites >= STATUS_SITES_MAX)
		return NULL;
	if ((grown = reallocarray(rl->sites, rl->nsites + 1,
	    sizeof(*grown))) == NULL)
		return NULL;
	rl->sites = grown;
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return NULL;
	snprintf(rs->rs_name, sizeof(rs->rs_name), "%s", site);
	TAILQ_INIT(&rs->rs_queue);
	rl->sites[rl->nsites++] = rs;
	return rs;
}

int
relay_send(struct admind *ad, struct command_run *run, size_t wait,
    const char *site, const char *topic, json_t *body)
{
	struct relay_site	*rs;
	struct relay_msg	*m;

	if ((rs = relay_site(ad, site)) == NULL ||
	    rs->rs_queued >= RELAY_QUEUE_MAX) {
		log_warnx("site %s: not sending %s, %d requests wait already",
		    site, topic, RELAY_QUEUE_MAX);
		return -1;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->m_body = json_dumps(body, JSON_COMPACT)) == NULL) {
		free(m);
		log_warn("site %s: %s", site, topic);
		return -1;
	}
	m->m_id = ++ad->relay.next_id;
	snprintf(m->m_site, sizeof(m->m_site), "%s", site);
	snprintf(m->m_topic, sizeof(m->m_topic), "%s", topic);
	memcpy(m->m_event, run->r_event, sizeof(m->m_event));
	m->m_run = run;
	m->m_wait = wait;
	TAILQ_INSERT_TAIL(&rs->rs_queue, m, m_entry);
	rs->rs_queued++;
	log_debug("site %s: queued %s (request %lld, event %s)", site, topic,
	    (long long)m->m_id, m->m_event);
	return 0;
}

/* relay_drop_run - the messages of run in one list */
static size_t
relay_drop_run(struct relay_msgs *list, struct command_run *run)
{
	struct relay_msg	*m, *next;
	size_t			 n = 0;

	for (m = TAILQ_FIRST(list); m != NULL; m = next) {
		next = TAILQ_NEXT(m, m_entry);
		if (m->m_run != run)
			continue;
		TAILQ_REMOVE(list, m, m_entry);
		relay_msg_free(m);
		n++;
	}
	return n;
}

void
relay_forget_run(struct admind *ad, struct command_run *run)
{
	struct relay	*rl = &ad->relay;
	size_t		 i;

	for (i = 0; i < rl->nsites; i++)
		rl->sites[i]->rs_queued -= relay_drop_run(
		    &rl->sites[i]->rs_queue, run);
	relay_drop_run(&rl->sent, run);
}

/* relay_answer - answer netd's request and forget the call */
static void
relay_answer(struct relay_call *c, int status, const char *message,
    const void *payload, size_t len)
{
	if (status != FL_OK)
		log_debug("%s from site %s: status %d, %s",
		    c->c_kind == FLIPC__KIND__ADMIN_RETRIEVE ? "Retrieve" :
		    "SendReply", c->c_site, status, message);
	request_answer(&c->c_ad->console, &c->c_netd, status, message,
	    payload, len);
	TAILQ_REMOVE(&c->c_ad->relay.calls, c, c_entry);
	relay_call_free(c);
}

/* relay_message - one queued request as an admin.Message */
static void
relay_message(Admin__Message *am, Admin__Message__HeadersEntry *h,
    Admin__Message__HeadersEntry **hp, char *msgid, size_t idlen,
    struct relay_msg *m)
{
	admin__message__init(am);
	am->id = m->m_id;
	am->topic = m->m_topic;
	am->body_type = "json";
	am->body.data = (uint8_t *)m->m_body;
	am->body.len = strlen(m->m_body);
	snprintf(msgid, idlen, "%lld", (long long)m->m_id);
	admin__message__headers_entry__init(&h[0]);
	h[0].key = "_eventId";
	h[0].value = m->m_event;
	admin__message__headers_entry__init(&h[1]);
	h[1].key = "_msgId";
	h[1].value = msgid;
	hp[0] = &h[0];
	hp[1] = &h[1];
	am->n_headers = 2;
	am->headers = hp;
}

/* relay_deliver - hand the site what is queued for it */
static void
relay_deliver(struct relay_call *c)
{
	Admin__Messages			 out = ADMIN__MESSAGES__INIT;
	Admin__Message			 am[RELAY_BATCH], *amp[RELAY_BATCH];
	Admin__Message__HeadersEntry	 h[RELAY_BATCH][2], *hp[RELAY_BATCH][2];
	struct relay_msg		*batch[RELAY_BATCH], *m;
	struct relay_site		*rs;
	char				 ids[RELAY_BATCH][24];
	uint8_t				*buf = NULL;
	size_t				 n = 0, len = 0, i;

	rs = relay_site(c->c_ad, c->c_site);
	while (rs != NULL && n < RELAY_BATCH &&
	    (m = TAILQ_FIRST(&rs->rs_queue)) != NULL) {
		relay_message(&am[n], h[n], hp[n], ids[n], sizeof(ids[n]), m);
		amp[n] = &am[n];
		batch[n++] = m;
		TAILQ_REMOVE(&rs->rs_queue, m, m_entry);
		rs->rs_queued--;
	}
	out.n_message = n;
	out.message = amp;
	len = admin__messages__get_packed_size(&out);
	if (len > 0 && (buf = malloc(len)) == NULL) {
		log_warn("site %s: Retrieve", c->c_site);
		len = 0;
	} else if (len > 0)
		admin__messages__pack(&out, buf);
	for (i = 0; i < n; i++) {
		log_info("site %s: sent %s (request %lld, event %s)",
		    c->c_site, batch[i]->m_topic, (long long)batch[i]->m_id,
		    batch[i]->m_event);
		TAILQ_INSERT_TAIL(&c->c_ad->relay.sent, batch[i], m_entry);
	}
	relay_answer(c, FL_OK, NULL, buf, len);
	free(buf);
}

/* relay_header - the value of a reply header, or NULL */
static const char *
relay_header(const Admin__Message *am, const char *key)
{
	size_t	 i;

	for (i = 0; i < am->n_headers; i++)
		if (am->headers[i] != NULL && am->headers[i]->key != NULL &&
		    strcmp(am->headers[i]->key, key) == 0)
			return am->headers[i]->value;
	return NULL;
}

/* relay_ref - header _refMsgId as a request id, or -1 */
static int64_t
relay_ref(const Admin__Message *am)
{
	const char	*ref = relay_header(am, "_refMsgId");
	char		*end;
	long long	 id;

	if (ref == NULL || ref[0] == '\0')
		return -1;
	errno = 0;
	id = strtoll(ref, &end, 10);
	if (errno != 0 || *end != '\0' || id <= 0)
		return -1;
	return id;
}

/* relay_body - the reply's body as a JSON object, or an error body */
static json_t *
relay_body(const Admin__Message *am)
{
	json_t	*body;

	body = json_loadb((const char *)am->body.data, am->body.len,
	    JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(body))
		return body;
	json_decref(body);
	return json_pack("{s:s}", "error", "the site's reply is not a JSON "
	    "object");
}

/* relay_accept - a site's answer to one of its requests */
static void
relay_accept(struct relay_call *c)
{
	struct admind		*ad = c->c_ad;
	const Admin__Message	*am = c->c_reply->message;
	struct relay_msg	*m;
	struct command_run	*run;
	json_t			*body;
	const char		*code;
	size_t			 wait;
	int64_t			 ref;
	int			 ok;

	if (am == NULL || (ref = relay_ref(am)) == -1) {
		relay_answer(c, FL_INVALID_ARGUMENT, "a reply names its "
		    "request in header _refMsgId", NULL, 0);
		return;
	}
	code = relay_header(am, "_rtnCode");
	ok = code != NULL && strcmp(code, "_ok") == 0;
	TAILQ_FOREACH(m, &ad->relay.sent, m_entry)
		if (m->m_id == ref && strcmp(m->m_site, c->c_site) == 0)
			break;
	if (m == NULL) {
		log_debug("site %s answered request %lld, which no command "
		    "waits for", c->c_site, (long long)ref);
		relay_answer(c, FL_OK, NULL, NULL, 0);
		return;
	}
	log_info("site %s: answered %s (request %lld): %s", c->c_site,
	    m->m_topic, (long long)ref, ok ? "ok" : "error");
	run = m->m_run;
	wait = m->m_wait;
	TAILQ_REMOVE(&ad->relay.sent, m, m_entry);
	relay_msg_free(m);
	/* The body first: answering netd frees the call and its reply. */
	body = relay_body(am);
	relay_answer(c, FL_OK, NULL, NULL, 0);
	run_site_answer(run, wait, ok, body);
}

/* relay_resolved - aggd vouched for the token, or did not */
static void
relay_resolved(void *arg, int status, const char *message,
    const void *payload, size_t len)
{
	struct relay_call	*c = arg;
	json_t			*answer;
	const char		*site;
	int			 same;

	if (status != FL_OK) {
		relay_answer(c, status, message, NULL, 0);
		return;
	}
	answer = json_loadb(payload, len, 0, NULL);
	site = json_string_value(json_object_get(answer, "site"));
	same = site != NULL && strcmp(site, c->c_site) == 0;
	json_decref(answer);
	if (!same) {
		log_warnx("site %s used a token that is not its own",
		    c->c_site);
		relay_answer(c, FL_UNAUTHENTICATED, "the token is not this "
		    "site's", NULL, 0);
		return;
	}
	if (c->c_kind == FLIPC__KIND__ADMIN_RETRIEVE)
		relay_deliver(c);
	else
		relay_accept(c);
}

/* relay_copy_token - the token, if it is one: printable, not too long */
static void
relay_copy_token(const char *token, char out[FRAME_TOKEN_MAX + 1])
{
	size_t	 len = strlen(token), i;

	out[0] = '\0';
	if (len > FRAME_TOKEN_MAX)
		return;
	for (i = 0; i < len; i++)
		if (token[i] <= 0x20 || token[i] >= 0x7f)
			return;
	memcpy(out, token, len + 1);
}

/*
 * relay_parse - the site's message, and the token it carries: in
 * client_name, as Clara's sites sent it, else in x-custom-token.
 */
static int
relay_parse(struct relay_call *c, struct ipc_msg *msg,
    char token[FRAME_TOKEN_MAX + 1])
{
	const char	*metadata = msg->env->metadata_token;
	const void	*payload;
	Admin__Client	*client;
	size_t		 len;

	payload = ipc_payload(msg, &len);
	if (c->c_kind == FLIPC__KIND__ADMIN_RETRIEVE) {
		if ((client = (Admin__Client *)unpack_message(
		    &admin__client__descriptor, len, payload, NULL)) == NULL)
			return -1;
		relay_copy_token(client->client_name[0] != '\0' ?
		    client->client_name : metadata, token);
		admin__client__free_unpacked(client, NULL);
		return 0;
	}
	if ((c->c_reply = (Admin__Reply *)unpack_message(
	    &admin__reply__descriptor, len, payload, NULL)) == NULL)
		return -1;
	relay_copy_token(c->c_reply->client_name[0] != '\0' ?
	    c->c_reply->client_name : metadata, token);
	return 0;
}

/* relay_check_site - the peer is a site of the project */
static int
relay_check_site(struct relay_call *c, const Flipc__Peer *peer)
{
	if (peer == NULL || peer->kind != FLIPC__PEER_KIND__PEER_SITE ||
	    !cmdline_site_name(peer->common_name)) {
		relay_answer(c, FL_PERMISSION_DENIED, "only a site's "
		    "certificate reaches the admin relay", NULL, 0);
		return -1;
	}
	snprintf(c->c_site, sizeof(c->c_site), "%s", peer->common_name);
	if (strcmp(c->c_site, POLICY_SERVER) == 0 ||
	    policy_site_org(&c->c_ad->policy, c->c_site) == NULL) {
		relay_answer(c, FL_PERMISSION_DENIED, "not a site of this "
		    "project", NULL, 0);
		return -1;
	}
	return 0;
}

/* relay_resolve - ask aggd whose token this is */
static void
relay_resolve(struct relay_call *c, char token[FRAME_TOKEN_MAX + 1])
{
	char	 err[STATUS_ERR_MAX], *text;
	json_t	*req;
	int	 rc = -1;

	req = json_pack("{s:s, s:s}", "token", token, "site", c->c_site);
	explicit_bzero(token, FRAME_TOKEN_MAX + 1);
	if ((text = json_dumps(req, JSON_COMPACT)) == NULL)
		snprintf(err, sizeof(err), "admind is out of memory");
	else {
		rc = query_ask(&c->c_ad->query, FLIPC__KIND__RESOLVE_TOKEN,
		    text, RELAY_AGGD_TIMEOUT, relay_resolved, c, err);
		explicit_bzero(text, strlen(text));
		free(text);
	}
	json_decref(req);
	if (rc == -1)
		relay_answer(c, FL_UNAVAILABLE, err, NULL, 0);
}

void
relay_request(struct admind *ad, struct ipc_msg *msg)
{
	struct relay_call	*c;
	char			 token[FRAME_TOKEN_MAX + 1];

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("admin relay");
		return;
	}
	c->c_ad = ad;
	c->c_kind = msg->env->kind;
	request_keep(&c->c_netd, msg);
	TAILQ_INSERT_TAIL(&ad->relay.calls, c, c_entry);
	if (relay_check_site(c, msg->env->peer) == -1)
		return;
	if (relay_parse(c, msg, token) == -1) {
		relay_answer(c, FL_INVALID_ARGUMENT, c->c_kind ==
		    FLIPC__KIND__ADMIN_RETRIEVE ? "not an admin.Client" :
		    "not an admin.Reply", NULL, 0);
		return;
	}
	if (token[0] == '\0') {
		relay_answer(c, FL_UNAUTHENTICATED, "no usable token: "
		    "register first", NULL, 0);
		return;
	}
	relay_resolve(c, token);
}

void
relay_site_notice(struct admind *ad, const void *payload, size_t len)
{
	struct relay_site	*rs;
	const char		*event, *site;
	json_t			*notice;

	if ((notice = json_loadb(payload, len, 0, NULL)) == NULL)
		return;
	event = json_string_value(json_object_get(notice, "event"));
	site = json_string_value(json_object_get(notice, "site"));
	if (event != NULL && site != NULL &&
	    strcmp(event, "registered") == 0 &&
	    (rs = (struct relay_site *)relay_site_find(ad, site)) != NULL &&
	    rs->rs_removed && !rs->rs_returned) {
		rs->rs_returned = 1;
		log_warnx("site %s registered again after it was removed",
		    site);
	}
	json_decref(notice);
}

/*
 * XXX the marks live in memory: a restarted admind forgets which sites
 * were removed. aggd has revoked the token either way; only the note in
 * check_status is lost.
 */
void
relay_mark_removed(struct admind *ad, const char *site)
{
	struct relay_site	*rs;

	if ((rs = relay_site(ad, site)) == NULL)
		return;
	rs->rs_removed = 1;
	rs->rs_returned = 0;
}
