/*
 * cmd_training - the training scope: run numbers, start and abort,
 * check_status, shutdown and restart, the sites' reply timeout, and
 * removing a site.
 *
 * The server's part of a command is a request to aggd, which decides
 * (admind refuses early only what the view already shows is refused:
 * changing runs while training); the sites' part is a request queued for
 * each site, answered or not within set_timeout. admind cannot stop or
 * restart the server's own daemons: their supervisor does, and the
 * answer says how.
 */
#include <stdio.h>
#include <string.h>

#include "admind.h"
#include "certinfo.h"
#include "log.h"
#include "status.h"

#define TRAINING_STOP_HINT	"stop the server with \"flserverctl stop " \
	"WORKSPACE\" or \"systemctl stop flserver.target\""
#define TRAINING_RESTART_HINT	"restart the server with \"flserverctl " \
	"stop\" and \"start\", or \"systemctl restart flserver.target\""

static const char *const training_status_columns[] = {
	"status", NULL
};
static const char *const training_check_columns[] = {
	"status", "run", "round", NULL
};

/* training_sites_table - the sites' answers, if any site was asked */
static void
training_sites_table(struct command_run *run)
{
	if (run->r_nwaits > 0)
		run_sites_table(run, training_status_columns);
	else if (!run_has_server(run))
		run_fail(run, "no site is connected");
}

/* training_busy - the view shows training: runs cannot change now */
static int
training_busy(struct command_run *run)
{
	const struct status	*st = &run->r_ad->status;

	if (!st->known || st->state != STATUS_TRAINING)
		return 0;
	run_fail(run, "%s is refused while training: abort first",
	    run->r_cmd->c_name);
	return 1;
}

static void
training_run_set(struct command_run *run, int status, const char *message,
    json_t *reply)
{
	if (status != FL_OK) {
		run_fail(run, "set_run_number: %s", message);
		return;
	}
	frame_success(&run->r_reply, "run number set");
	run_result(run, "run %lld", run->r_args.number);
}

void
cmd_training_set_run(struct command_run *run)
{
	if (training_busy(run))
		return;
	run_ask(run, FLIPC__KIND__SET_RUN_NUMBER, json_pack("{s:I}", "run",
	    (json_int_t)run->r_args.number), training_run_set);
}

static void
training_run_deleted(struct command_run *run, int status,
    const char *message, json_t *reply)
{
	if (status != FL_OK) {
		run_fail(run, "delete_run_number: %s", message);
		return;
	}
	frame_success(&run->r_reply, "run deleted");
	run_result(run, "run %lld deleted", run->r_args.number);
}

void
cmd_training_delete_run(struct command_run *run)
{
	const struct status	*st = &run->r_ad->status;

	if (training_busy(run))
		return;
	if (st->known && st->run == run->r_args.number) {
		run_fail(run, "run %lld is the current run: it cannot be "
		    "deleted", run->r_args.number);
		return;
	}
	run_ask(run, FLIPC__KIND__DELETE_RUN, json_pack("{s:I}", "run",
	    (json_int_t)run->r_args.number), training_run_deleted);
}

/* training_server_answer - aggd's answer to start or abort */
static void
training_server_answer(struct command_run *run, int status,
    const char *message, json_t *reply)
{
	char	 text[128];

	if (status != FL_OK) {
		run_fail(run, "server: %s", message);
		return;
	}
	snprintf(text, sizeof(text), "server: training %s, run %lld, round "
	    "%lld", strcmp(run->r_cmd->c_name, "start") == 0 ? "started" :
	    "aborted", (long long)json_integer_value(json_object_get(reply,
	    "run")), (long long)json_integer_value(json_object_get(reply,
	    "round")));
	frame_success(&run->r_reply, text);
	run_result(run, "%s", text);
}

/* training_both - the server's part through aggd, the sites' by relay */
static void
training_both(struct command_run *run, Flipc__Kind kind, const char *topic)
{
	if (run_has_server(run))
		run_ask(run, kind, json_object(), training_server_answer);
	run_to_sites(run, topic, json_object());
	run->r_then = training_sites_table;
}

void
cmd_training_start(struct command_run *run)
{
	training_both(run, FLIPC__KIND__START_TRAINING, "train.start");
}

void
cmd_training_abort(struct command_run *run)
{
	training_both(run, FLIPC__KIND__ABORT_TRAINING, "train.abort");
}

/* training_cell - a value aggd sent, as table text */
static json_t *
training_cell(json_t *value)
{
	char	 text[32];

	if (json_is_string(value))
		return frame_text(json_string_value(value));
	if (json_is_integer(value)) {
		snprintf(text, sizeof(text), "%lld",
		    (long long)json_integer_value(value));
		return json_string(text);
	}
	return json_string("");
}

/* training_site_note - what remove_client left on a site */
static const char *
training_site_note(const struct command_run *run, const char *site)
{
	const struct relay_site	*rs = relay_site_find(run->r_ad, site);

	if (rs == NULL || !rs->rs_removed)
		return "";
	return rs->rs_returned ? "re-registered after removal" : "removed";
}

/* training_sites - registered sites with last contact, then removed */
static json_t *
training_sites(const struct command_run *run, json_t *reply)
{
	const struct relay *rl = &run->r_ad->relay;
	json_t		*rows, *site;
	const char	*name;
	size_t		 i;

	rows = json_pack("[[s,s,s]]", "site", "last contact", "note");
	json_array_foreach(json_object_get(reply, "sites"), i, site) {
		name = json_string_value(json_object_get(site, "name"));
		if (name == NULL)
			continue;
		json_array_append_new(rows, json_pack("[o,o,s]",
		    frame_text(name), training_cell(json_object_get(site,
		    "last_contact")), training_site_note(run, name)));
	}
	for (i = 0; i < rl->nsites; i++)
		if (rl->sites[i]->rs_removed && !rl->sites[i]->rs_returned)
			json_array_append_new(rows, json_pack("[s,s,s]",
			    rl->sites[i]->rs_name, "", "removed"));
	return rows;
}

/* training_cert_line - the server certificate's end, warned ahead */
static void
training_cert_line(struct command_run *run)
{
	time_t	 not_after = run->r_ad->cert_not_after, now = time(NULL);
	char	 when[CERTINFO_TIME_LEN + 1], line[160];

	if (not_after == 0)
		return;
	certinfo_time(not_after, when);
	snprintf(line, sizeof(line), "server certificate expires %s "
	    "(%ld days)%s", when, certinfo_days_left(not_after, now),
	    certinfo_expiring(not_after, now) ? ": renew it soon" : "");
	frame_string(&run->r_reply, line);
}

static void
training_server_status(struct command_run *run, int status,
    const char *message, json_t *reply)
{
	json_t	*note;

	if (status != FL_OK) {
		run_fail(run, "server: %s", message);
		return;
	}
	frame_table(&run->r_reply, json_pack("[[s,s,s,s],[o,o,o,o]]",
	    "run", "round", "state", "num_rounds",
	    training_cell(json_object_get(reply, "run")),
	    training_cell(json_object_get(reply, "round")),
	    training_cell(json_object_get(reply, "state")),
	    training_cell(json_object_get(reply, "num_rounds"))));
	frame_table(&run->r_reply, training_sites(run, reply));
	if (json_is_string(note = json_object_get(reply, "note")))
		frame_string(&run->r_reply, json_string_value(note));
	training_cert_line(run);
	run_result(run, "run %lld, round %lld, %s",
	    (long long)json_integer_value(json_object_get(reply, "run")),
	    (long long)json_integer_value(json_object_get(reply, "round")),
	    json_string_value(json_object_get(reply, "state")) != NULL ?
	    json_string_value(json_object_get(reply, "state")) : "?");
}

/* training_check_table - the sites' own status */
static void
training_check_table(struct command_run *run)
{
	if (run->r_nwaits > 0)
		run_sites_table(run, training_check_columns);
	else
		run_fail(run, "no site is connected");
}

void
cmd_training_status(struct command_run *run)
{
	if (run->r_args.target == TARGET_SERVER) {
		run_ask(run, FLIPC__KIND__SERVER_STATUS, json_object(),
		    training_server_status);
		return;
	}
	run_to_sites(run, "train.check_status", json_object());
	run->r_then = training_check_table;
}

/* training_stop_server - what shutdown server can do: say how */
static void
training_stop_server(struct command_run *run)
{
	if (run->r_nwaits > 0)
		run_sites_table(run, training_status_columns);
	run_fail(run, "admind does not stop the server's daemons: %s",
	    TRAINING_STOP_HINT);
}

void
cmd_training_shutdown(struct command_run *run)
{
	size_t	 connected = run->r_ad->status.nsites;

	if (run->r_args.target == TARGET_SERVER) {
		if (connected > 0) {
			run_fail(run, "the server does not shut down while "
			    "%zu site%s connected: shutdown client first",
			    connected, connected == 1 ? " is" : "s are");
			return;
		}
		training_stop_server(run);
		return;
	}
	run_to_sites(run, "train.shutdown", json_object());
	run->r_then = run->r_args.target == TARGET_ALL ?
	    training_stop_server : training_sites_table;
}

/* training_restart_server - as for shutdown: the supervisor's job */
static void
training_restart_server(struct command_run *run)
{
	if (run->r_nwaits > 0)
		run_sites_table(run, training_status_columns);
	run_fail(run, "admind does not restart the server's daemons: %s",
	    TRAINING_RESTART_HINT);
}

void
cmd_training_restart(struct command_run *run)
{
	if (run->r_args.target == TARGET_SERVER) {
		training_restart_server(run);
		return;
	}
	run_to_sites(run, "train.restart", json_object());
	run->r_then = run->r_args.target == TARGET_ALL ?
	    training_restart_server : training_sites_table;
}

/* XXX one timeout for every admin, as long as admind runs; Clara kept it
 * per console session. */
void
cmd_training_set_timeout(struct command_run *run)
{
	char	 text[64];

	run->r_ad->site_timeout = (int)run->r_args.number;
	snprintf(text, sizeof(text), "sites now have %lld s to answer",
	    run->r_args.number);
	frame_success(&run->r_reply, text);
	run_result(run, "%s", text);
	log_info("%s set the sites' reply timeout to %lld s", run->r_user,
	    run->r_args.number);
}

static void
training_removed(struct command_run *run, int status, const char *message,
    json_t *reply)
{
	const char	*site = run->r_args.name;

	if (status != FL_OK) {
		run_fail(run, "remove_client %s: %s", site, message);
		return;
	}
	relay_mark_removed(run->r_ad, site);
	frame_success(&run->r_reply, "site removed: its token is revoked");
	run_result(run, "%s removed", site);
	log_info("%s removed site %s", run->r_user, site);
}

/* training_remove - once the site was told to stop, aggd forgets it */
static void
training_remove(struct command_run *run)
{
	if (run->r_nwaits > 0)
		run_sites_table(run, training_status_columns);
	run->r_result[0] = '\0';
	run_ask(run, FLIPC__KIND__REMOVE_CLIENT, json_pack("{s:s}", "site",
	    run->r_args.name), training_removed);
}

void
cmd_training_remove_client(struct command_run *run)
{
	run_to_sites(run, "train.shutdown", json_object());
	run->r_then = training_remove;
}
