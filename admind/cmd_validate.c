/*
 * cmd_validate - validate: the run's cross-site validation results, as
 * aggd keeps them (run_N/cross_val_results.json: for each site that
 * validated, for each model owner, the metrics it measured).
 *
 * "validate all" shows every pair; "validate SITE OWNER" the metrics of
 * OWNER's model on SITE's data. aggd has them or it does not; admind
 * reads no file for this.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admind.h"
#include "status.h"

/* validate_none - there are no results for the current run */
static void
validate_none(struct command_run *run)
{
	const struct status	*st = &run->r_ad->status;

	if (st->known)
		run_fail(run, "no cross-site validation results for run %lld",
		    (long long)st->run);
	else
		run_fail(run, "no cross-site validation results for the "
		    "current run");
}

/* validate_metrics - a result's metrics as one line of text */
static json_t *
validate_metrics(json_t *metrics)
{
	json_t	*cell;
	char	*text;

	if ((text = json_dumps(metrics, JSON_COMPACT | JSON_SORT_KEYS |
	    JSON_ENCODE_ANY)) == NULL)
		return json_string("");
	cell = frame_text(text);
	free(text);
	return cell;
}

/* validate_all - one row per (site, model owner) */
static void
validate_all(struct command_run *run, json_t *results)
{
	json_t		*rows, *owners, *metrics;
	const char	*site, *owner;
	size_t		 n = 0;

	rows = json_pack("[[s,s,s]]", "site", "model owner", "metrics");
	json_object_foreach(results, site, owners) {
		if (!json_is_object(owners))
			continue;
		json_object_foreach(owners, owner, metrics) {
			json_array_append_new(rows, json_pack("[o,o,o]",
			    frame_text(site), frame_text(owner),
			    validate_metrics(metrics)));
			n++;
		}
	}
	if (n == 0) {
		json_decref(rows);
		validate_none(run);
		return;
	}
	frame_table(&run->r_reply, rows);
	run_result(run, "%zu results", n);
}

/* validate_pair - OWNER's model on SITE's data */
static void
validate_pair(struct command_run *run, json_t *results)
{
	const char	*site = run->r_args.name, *owner = run->r_args.second;
	json_t		*metrics;

	metrics = json_object_get(json_object_get(results, site), owner);
	if (metrics == NULL) {
		run_fail(run, "no result of %s's model at %s", owner, site);
		return;
	}
	if (json_is_object(metrics))
		frame_dict(&run->r_reply, json_incref(metrics));
	else
		frame_dict(&run->r_reply, json_pack("{s:O}", "result",
		    metrics));
	run_result(run, "%s's model at %s", owner, site);
}

static void
validate_results(struct command_run *run, int status, const char *message,
    json_t *reply)
{
	if (status == FL_NOT_FOUND || status == FL_UNIMPLEMENTED ||
	    (status == FL_OK && json_object_size(reply) == 0)) {
		validate_none(run);
		return;
	}
	if (status != FL_OK) {
		run_fail(run, "validate: %s", message);
		return;
	}
	if (run->r_args.target == TARGET_ALL)
		validate_all(run, reply);
	else
		validate_pair(run, reply);
}

void
cmd_validate_run(struct command_run *run)
{
	run_ask(run, FLIPC__KIND__VALIDATION_RESULTS, json_object(),
	    validate_results);
}
