/*
 * console - one admin command, from netd's transmission to its answer.
 *
 * The steps, in this order, each refusing with an error item:
 *	the transmission is read (frame.c), the line split into words and
 *	the command found (cmdline.c); the session is checked, unless the
 *	command is a login (session.c); the targets are read from the
 *	arguments and the right the command needs is checked at each of
 *	them (authz.c); only then do the other arguments count, and the
 *	command runs.
 * The audit trail sees every command. One that changes something (CMD_ACTS)
 * is recorded before it acts, and acts only if that record is on disk;
 * its outcome is recorded before the answer. Any other command, and
 * every refusal, is recorded once, when its answer is known; if that
 * record cannot be made, the answer is "audit trail unavailable"
 * instead. netd is answered only after the record is durable.
 *
 * A command that waits for aggd or for sites stays on the list of runs
 * with netd's routing id; the loop goes on meanwhile.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admind.h"
#include "log.h"
#include "revocation.h"
#include "status.h"

/* Seconds aggd has to answer a command's request. */
#define CONSOLE_AGGD_TIMEOUT	5.0
#define CONSOLE_ROLES_MAX	16
#define CONSOLE_UNAVAILABLE	"audit trail unavailable: the command was " \
	"not run"

static void	console_finish(struct command_run *);

/* console_peer - what netd verified of the admin's certificate */
static void
console_peer(struct run_peer *p, const Flipc__Envelope *env)
{
	const Flipc__Peer	*peer = env->peer;

	memset(p, 0, sizeof(*p));
	if (peer == NULL)
		return;
	snprintf(p->p_cn, sizeof(p->p_cn), "%s", peer->common_name);
	snprintf(p->p_fingerprint, sizeof(p->p_fingerprint), "%s",
	    peer->fingerprint);
	snprintf(p->p_address, sizeof(p->p_address), "%s", peer->address);
	p->p_kind = peer->kind;
}

/* console_roles - the user's roles from the policy, for the record */
static size_t
console_roles(const struct command_run *run,
    const char *roles[CONSOLE_ROLES_MAX])
{
	json_t	*list, *role;
	size_t	 i, n = 0;

	list = policy_user_roles(&run->r_ad->policy, run->r_user);
	json_array_foreach(list, i, role)
		if (n < CONSOLE_ROLES_MAX)
			roles[n++] = json_string_value(role);
	return n;
}

/* console_record - one audit record of run; 0 once it is on disk */
static int
console_record(struct command_run *run, enum audit_decision decision,
    const char *reason, enum audit_outcome outcome)
{
	struct audit_entry	 e;
	const char		*roles[CONSOLE_ROLES_MAX];
	const char		**sites = NULL;
	char			 event[AUDIT_EVENT_HEX + 1];
	size_t			 i;
	int			 rc;

	if (run->r_ntargets > 0 &&
	    (sites = calloc(run->r_ntargets, sizeof(*sites))) == NULL)
		return -1;
	for (i = 0; i < run->r_ntargets; i++)
		sites[i] = run->r_targets[i];
	memset(&e, 0, sizeof(e));
	e.ae_event_id = run->r_event[0] != '\0' ? run->r_event : NULL;
	e.ae_user = run->r_user[0] != '\0' ? run->r_user : run->r_args.name;
	e.ae_cn = run->r_peer.p_cn;
	e.ae_fingerprint = run->r_peer.p_fingerprint;
	e.ae_address = run->r_peer.p_address;
	e.ae_nroles = console_roles(run, roles);
	e.ae_roles = roles;
	e.ae_command = run->r_line;
	e.ae_sites = sites;
	e.ae_nsites = run->r_ntargets;
	e.ae_decision = decision;
	e.ae_reason = reason;
	e.ae_outcome = outcome;
	e.ae_result = run->r_result;
	rc = audit_record(run->r_ad->audit, &e, event);
	free(sites);
	if (rc == 0 && run->r_event[0] == '\0')
		memcpy(run->r_event, event, sizeof(event));
	return rc;
}

/* console_answer - the reply's bytes to netd, then the run is gone */
static void
console_answer(struct command_run *run)
{
	struct admind	*ad = run->r_ad;
	char		*bytes;
	size_t		 len = 0;

	if ((bytes = frame_reply_bytes(&run->r_reply, admind_wall(),
	    &len)) == NULL)
		request_answer(&ad->console, &run->r_netd, FL_INTERNAL,
		    "admind is out of memory", NULL, 0);
	else
		request_answer(&ad->console, &run->r_netd, FL_OK, NULL, bytes,
		    len);
	free(bytes);
}

static void
console_free(struct command_run *run)
{
	struct admind	*ad = run->r_ad;
	size_t		 i;

	relay_forget_run(ad, run);
	query_cancel(&ad->query, run);
	request_drop(&run->r_netd);
	for (i = 0; i < run->r_nwaits; i++)
		json_decref(run->r_waits[i].w_body);
	free(run->r_waits);
	free(run->r_targets);
	free(run->r_file_name);
	free(run->r_file_content);
	cmdline_free(&run->r_cl);
	frame_reply_free(&run->r_reply);
	if (run->r_line != NULL)
		explicit_bzero(run->r_line, strlen(run->r_line));
	free(run->r_line);
	explicit_bzero(run->r_token, sizeof(run->r_token));
	free(run);
}

/* console_done - answer, then forget the run */
static void
console_done(struct command_run *run)
{
	console_answer(run);
	TAILQ_REMOVE(&run->r_ad->runs, run, r_entry);
	console_free(run);
}

/*
 * console_refuse - a refusal: recorded, answered. The reply so far is
 * dropped: a refused command shows only why.
 */
static void
console_refuse(struct command_run *run, const char *why)
{
	const char	*cmd = run->r_cmd != NULL ? run->r_cmd->c_name :
			    "request";

	log_info("refused %s from %s (%s): %s", cmd,
	    run->r_user[0] != '\0' ? run->r_user : "no session",
	    run->r_peer.p_cn, why);
	frame_reply_free(&run->r_reply);
	frame_reply_init(&run->r_reply);
	snprintf(run->r_result, sizeof(run->r_result), "%s", why);
	if (console_record(run, AUDIT_REFUSED, why, AUDIT_ERROR) == -1)
		frame_error(&run->r_reply, "audit trail unavailable");
	else
		frame_error(&run->r_reply, why);
	console_done(run);
}

/* console_project_site - name is a site of the project, not the server */
static int
console_project_site(const struct admind *ad, const char *name)
{
	return strcmp(name, POLICY_SERVER) != 0 &&
	    policy_site_org(&ad->policy, name) != NULL;
}

/* console_target - add one name to the run's targets */
static void
console_target(struct command_run *run, const char *name)
{
	snprintf(run->r_targets[run->r_ntargets++], STATUS_NAME_MAX + 1,
	    "%s", name);
}

/* console_named - the sites named in the arguments, each a project's */
static int
console_named(struct command_run *run, char err[CMDLINE_ERR_MAX])
{
	size_t	 i;

	for (i = 0; i < run->r_args.nsites; i++) {
		if (!console_project_site(run->r_ad, run->r_args.sites[i])) {
			snprintf(err, CMDLINE_ERR_MAX, "unknown site %s: not "
			    "a site of this project", run->r_args.sites[i]);
			return -1;
		}
		console_target(run, run->r_args.sites[i]);
	}
	return 0;
}

/*
 * console_targets - the server and the sites the command acts on: the
 * sites named, or with "client" alone or "all", every site connected.
 */
static int
console_targets(struct command_run *run, char err[CMDLINE_ERR_MAX])
{
	const struct status	*st = &run->r_ad->status;
	const struct cmd_args	*a = &run->r_args;
	size_t			 i, n;

	if (run->r_cmd->c_right == AUTHZ_LOGIN)
		return 0;
	n = 1 + a->nsites + st->nsites;
	if ((run->r_targets = calloc(n, sizeof(*run->r_targets))) == NULL) {
		snprintf(err, CMDLINE_ERR_MAX, "out of memory");
		return -1;
	}
	if (a->target == TARGET_SERVER || a->target == TARGET_ALL ||
	    (a->target == 0 && a->nsites == 0))
		console_target(run, POLICY_SERVER);
	if (a->nsites > 0)
		return console_named(run, err);
	if (a->target == TARGET_CLIENT || a->target == TARGET_ALL)
		for (i = 0; i < st->nsites; i++)
			if (console_project_site(run->r_ad,
			    st->sites[i].ss_name))
				console_target(run, st->sites[i].ss_name);
	return 0;
}

/* console_authorize - the command's right at each of its targets */
static int
console_authorize(struct command_run *run, char err[CMDLINE_ERR_MAX])
{
	const struct admind	*ad = run->r_ad;
	enum authz_right	 right = run->r_cmd->c_right;
	size_t			 i;

	if (right == AUTHZ_LOGIN || run->r_ntargets == 0) {
		if (commands_may(ad, run->r_user, right))
			return 0;
		snprintf(err, CMDLINE_ERR_MAX, "not authorized: %s needs the "
		    "%s right", run->r_cmd->c_name, authz_right_word(right));
		return -1;
	}
	for (i = 0; i < run->r_ntargets; i++)
		if (!authz_allowed(&ad->policy, run->r_user, right,
		    run->r_targets[i])) {
			snprintf(err, CMDLINE_ERR_MAX, "not authorized: %s "
			    "needs the %s right at %s", run->r_cmd->c_name,
			    authz_right_word(right), run->r_targets[i]);
			return -1;
		}
	return 0;
}

/* console_session - the user of the request's token, checked */
static int
console_session(struct command_run *run, const char *token,
    char err[CMDLINE_ERR_MAX])
{
	const char	*user;
	char		 why[SESSION_ERR_MAX];

	user = session_check(&run->r_ad->sessions, token,
	    run->r_peer.p_fingerprint, admind_now(), why);
	if (user == NULL) {
		snprintf(err, CMDLINE_ERR_MAX, "%s", why);
		return -1;
	}
	snprintf(run->r_user, sizeof(run->r_user), "%s", user);
	snprintf(run->r_token, sizeof(run->r_token), "%s", token);
	return 0;
}

/*
 * console_prepare - every step before the audit record; -1 with why.
 * Arguments beyond the targets are looked at only once authorized.
 */
static int
console_prepare(struct command_run *run, struct frame_request *req,
    char err[CMDLINE_ERR_MAX])
{
	/* First the copy: the record of a refusal shows what was tried. */
	if ((run->r_line = strdup(req->command)) == NULL) {
		snprintf(err, CMDLINE_ERR_MAX, "out of memory");
		return -1;
	}
	if (run->r_peer.p_kind != FLIPC__PEER_KIND__PEER_ADMIN) {
		snprintf(err, CMDLINE_ERR_MAX, "not an admin certificate");
		return -1;
	}
	if (revocation_check(run->r_ad->workspace, run->r_peer.p_fingerprint,
	    err, CMDLINE_ERR_MAX) == -1)
		return -1;
	if (cmdline_split(req->command, &run->r_cl, err) == -1 ||
	    (run->r_cmd = cmdline_find(commands_table, commands_count,
	    run->r_cl.argv[0], err)) == NULL)
		return -1;
	if (req->file_name != NULL) {
		if (run->r_cmd->c_run != cmd_mmar_upload) {
			snprintf(err, CMDLINE_ERR_MAX, "a file item comes only "
			    "with upload_folder");
			return -1;
		}
		run->r_file_name = req->file_name;
		run->r_file_content = req->file_content;
		req->file_name = req->file_content = NULL;
	}
	if (!(run->r_cmd->c_flags & CMD_LOGIN) &&
	    console_session(run, req->token, err) == -1)
		return -1;
	if (cmdline_args(run->r_cmd, &run->r_cl, &run->r_args, err) == -1 ||
	    console_targets(run, err) == -1)
		return -1;
	if (!(run->r_cmd->c_flags & CMD_LOGIN) &&
	    console_authorize(run, err) == -1)
		return -1;
	return 0;
}

/* console_begin - the audit record a command needs before it runs */
static int
console_begin(struct command_run *run)
{
	if (run->r_cmd->c_flags & CMD_LOGIN)
		return 0;
	if (run->r_cmd->c_flags & CMD_ACTS) {
		if (console_record(run, AUDIT_ALLOWED, NULL,
		    AUDIT_PENDING) == -1)
			return -1;
		run->r_recorded = 1;
		return 0;
	}
	return audit_new_event_id(run->r_event);
}

/* console_continue - run what comes next once nothing is outstanding */
static void
console_continue(struct command_run *run)
{
	void	(*then)(struct command_run *);

	while (run->r_aggd == 0 && run->r_waiting == 0 &&
	    (then = run->r_then) != NULL) {
		run->r_then = NULL;
		then(run);
	}
	if (run->r_aggd == 0 && run->r_waiting == 0)
		console_finish(run);
}

void
console_command(struct admind *ad, struct ipc_msg *msg)
{
	struct command_run	*run;
	struct frame_request	 req;
	const void		*payload;
	size_t			 len;
	char			 err[CMDLINE_ERR_MAX];

	if ((run = calloc(1, sizeof(*run))) == NULL) {
		log_warn("console command");
		return;
	}
	run->r_ad = ad;
	request_keep(&run->r_netd, msg);
	console_peer(&run->r_peer, msg->env);
	frame_reply_init(&run->r_reply);
	TAILQ_INSERT_TAIL(&ad->runs, run, r_entry);

	payload = ipc_payload(msg, &len);
	if (frame_request_parse(payload, len, &req, err) == -1) {
		console_refuse(run, err);
		return;
	}
	if (console_prepare(run, &req, err) == -1) {
		frame_request_free(&req);
		console_refuse(run, err);
		return;
	}
	frame_request_free(&req);
	if (console_begin(run) == -1) {
		frame_error(&run->r_reply, CONSOLE_UNAVAILABLE);
		console_done(run);
		return;
	}
	run->r_cmd->c_run(run);
	console_continue(run);
}

/* console_finish - the outcome on record, then the answer */
static void
console_finish(struct command_run *run)
{
	enum audit_outcome	 outcome;
	int			 refused = run->r_cmd->c_flags & CMD_LOGIN &&
				    run->r_reply.errors > 0;

	outcome = run->r_reply.errors > 0 ? AUDIT_ERROR : AUDIT_OK;
	if (run->r_result[0] == '\0')
		snprintf(run->r_result, sizeof(run->r_result), "%s",
		    outcome == AUDIT_OK ? "done" : "failed");
	if (console_record(run, refused ? AUDIT_REFUSED : AUDIT_ALLOWED,
	    refused ? run->r_result : NULL, outcome) == 0) {
		console_done(run);
		return;
	}
	if (run->r_recorded)
		frame_error(&run->r_reply, "audit trail unavailable: the "
		    "outcome of this command was not recorded");
	else {
		if (run->r_cmd->c_flags & CMD_LOGIN)
			cmd_session_undo(run);
		frame_reply_free(&run->r_reply);
		frame_reply_init(&run->r_reply);
		frame_error(&run->r_reply, "audit trail unavailable");
	}
	console_done(run);
}

/* console_aggd_done - aggd's answer to the run's request */
static void
console_aggd_done(void *arg, int status, const char *message,
    const void *payload, size_t len)
{
	struct command_run	*run = arg;
	run_reply_fn		*fn = run->r_aggd_fn;
	json_t			*reply = NULL;

	run->r_aggd = 0;
	run->r_aggd_fn = NULL;
	if (status == FL_OK) {
		reply = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(reply)) {
			json_decref(reply);
			reply = NULL;
			status = FL_INTERNAL;
			message = "aggd's answer is not a JSON object";
		}
	}
	fn(run, status, message, reply);
	json_decref(reply);
	console_continue(run);
}

int
run_ask(struct command_run *run, Flipc__Kind kind, json_t *request,
    run_reply_fn *fn)
{
	char	 err[STATUS_ERR_MAX], *text;
	int	 rc;

	text = request != NULL ? json_dumps(request, JSON_COMPACT) : NULL;
	json_decref(request);
	if (text == NULL || run->r_aggd > 0) {
		free(text);
		run_fail(run, "admind cannot ask aggd");
		return -1;
	}
	rc = query_ask(&run->r_ad->query, kind, text, CONSOLE_AGGD_TIMEOUT,
	    console_aggd_done, run, err);
	free(text);
	if (rc == -1) {
		run_fail(run, "%s", err);
		return -1;
	}
	run->r_aggd = 1;
	run->r_aggd_fn = fn;
	return 0;
}

int
run_has_server(const struct command_run *run)
{
	return run->r_ntargets > 0 &&
	    strcmp(run->r_targets[0], POLICY_SERVER) == 0;
}

/* console_wait_for - a new wait for site; NULL when out of memory */
static struct site_wait *
console_wait_for(struct command_run *run, const char *site)
{
	struct site_wait	*waits, *w;

	waits = reallocarray(run->r_waits, run->r_nwaits + 1, sizeof(*w));
	if (waits == NULL)
		return NULL;
	run->r_waits = waits;
	w = &waits[run->r_nwaits++];
	memset(w, 0, sizeof(*w));
	snprintf(w->w_site, sizeof(w->w_site), "%s", site);
	return w;
}

void
run_to_sites(struct command_run *run, const char *topic, json_t *body)
{
	struct admind		*ad = run->r_ad;
	struct site_wait	*w;
	size_t			 i;

	for (i = run_has_server(run) ? 1 : 0; i < run->r_ntargets; i++) {
		if ((w = console_wait_for(run, run->r_targets[i])) == NULL) {
			run_fail(run, "admind is out of memory");
			break;
		}
		if (!status_has_site(&ad->status, w->w_site))
			w->w_state = WAIT_ABSENT;
		else if (relay_send(ad, run, run->r_nwaits - 1, w->w_site,
		    topic, body) == -1)
			w->w_state = WAIT_UNSENT;
		else
			run->r_waiting++;
	}
	if (run->r_waiting > 0)
		run->r_deadline = admind_now() + ad->site_timeout;
	json_decref(body);
}

void
run_add_answer(struct command_run *run, const char *site, json_t *body)
{
	struct site_wait	*w;

	if ((w = console_wait_for(run, site)) == NULL) {
		json_decref(body);
		run_fail(run, "admind is out of memory");
		return;
	}
	w->w_state = WAIT_OK;
	w->w_body = body;
}

void
run_site_answer(struct command_run *run, size_t wait, int ok, json_t *body)
{
	struct site_wait	*w;

	if (wait >= run->r_nwaits ||
	    (w = &run->r_waits[wait])->w_state != WAIT_PENDING) {
		json_decref(body);
		return;
	}
	w->w_state = ok ? WAIT_OK : WAIT_ERROR;
	w->w_body = body;
	if (--run->r_waiting == 0)
		console_continue(run);
}

/* console_cell - a reply value as table text */
static json_t *
console_cell(json_t *value)
{
	char	*text;
	json_t	*cell;

	if (value == NULL || json_is_null(value))
		return json_string("");
	if (json_is_string(value))
		return frame_text(json_string_value(value));
	if ((text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY)) ==
	    NULL)
		return json_string("");
	cell = frame_text(text);
	free(text);
	return cell;
}

static const char *const console_wait_words[] = {
	[WAIT_PENDING] = "no reply",
	[WAIT_OK] = "ok",
	[WAIT_ERROR] = "error",
	[WAIT_NO_REPLY] = "no reply",
	[WAIT_ABSENT] = "not connected",
	[WAIT_UNSENT] = "too many requests waiting"
};

/* console_wait_row - one site's row: its answer, or what happened */
static json_t *
console_wait_row(const struct site_wait *w, const char *const *columns)
{
	json_t		*row = json_array();
	const char	*error;
	char		 text[512];
	size_t		 i;

	json_array_append_new(row, json_string(w->w_site));
	for (i = 0; columns[i] != NULL; i++) {
		if (w->w_state == WAIT_OK)
			json_array_append_new(row, console_cell(
			    json_object_get(w->w_body, columns[i])));
		else if (i > 0)
			json_array_append_new(row, json_string(""));
		else if (w->w_state == WAIT_ERROR) {
			error = json_string_value(json_object_get(w->w_body,
			    "error"));
			snprintf(text, sizeof(text), "error: %s",
			    error != NULL ? error : "(no reason given)");
			json_array_append_new(row, frame_text(text));
		} else
			json_array_append_new(row, json_string(
			    console_wait_words[w->w_state]));
	}
	return row;
}

void
run_sites_table(struct command_run *run, const char *const *columns)
{
	json_t	*rows, *header;
	size_t	 i, len;
	char	 summary[AUDIT_REASON_MAX];

	if ((rows = json_array()) == NULL || (header = json_array()) == NULL) {
		json_decref(rows);
		run_fail(run, "admind is out of memory");
		return;
	}
	json_array_append_new(header, json_string("site"));
	for (i = 0; columns[i] != NULL; i++)
		json_array_append_new(header, json_string(columns[i]));
	json_array_append_new(rows, header);
	summary[0] = '\0';
	for (i = 0; i < run->r_nwaits; i++) {
		json_array_append_new(rows, console_wait_row(&run->r_waits[i],
		    columns));
		len = strlen(summary);
		snprintf(summary + len, sizeof(summary) - len, "%s%s: %s",
		    i > 0 ? ", " : "", run->r_waits[i].w_site,
		    console_wait_words[run->r_waits[i].w_state]);
	}
	frame_table(&run->r_reply, rows);
	if (run->r_result[0] == '\0')
		snprintf(run->r_result, sizeof(run->r_result), "%s", summary);
}

void
run_result(struct command_run *run, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(run->r_result, sizeof(run->r_result), fmt, ap);
	va_end(ap);
}

void
run_fail(struct command_run *run, const char *fmt, ...)
{
	va_list	 ap;
	char	 text[AUDIT_REASON_MAX];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	frame_error(&run->r_reply, text);
	snprintf(run->r_result, sizeof(run->r_result), "%s", text);
}

void
console_tick(struct admind *ad, double now)
{
	struct command_run	*run;
	size_t			 i;

again:
	TAILQ_FOREACH(run, &ad->runs, r_entry) {
		if (run->r_waiting == 0 || now < run->r_deadline)
			continue;
		for (i = 0; i < run->r_nwaits; i++)
			if (run->r_waits[i].w_state == WAIT_PENDING)
				run->r_waits[i].w_state = WAIT_NO_REPLY;
		run->r_waiting = 0;
		relay_forget_run(ad, run);
		console_continue(run);
		goto again;
	}
}

double
console_wait(const struct admind *ad, double now)
{
	const struct command_run	*run;
	double				 wait = -1;

	TAILQ_FOREACH(run, &ad->runs, r_entry)
		if (run->r_waiting > 0 && (wait < 0 ||
		    run->r_deadline - now < wait))
			wait = run->r_deadline > now ? run->r_deadline - now :
			    0;
	return wait;
}

void
console_close(struct admind *ad)
{
	struct command_run	*run;

	while ((run = TAILQ_FIRST(&ad->runs)) != NULL) {
		run->r_aggd = 0;
		run->r_waiting = 0;
		run->r_then = NULL;
		run_fail(run, "admind stopped before the command finished");
		console_finish(run);
	}
}
