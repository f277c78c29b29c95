/*
 * crosssite - submit the best local model, then validate model after
 * model. The metrics are named "accuracy" and "log_loss", the names the
 * server's matrix keeps them under.
 */
#include <string.h>

#include "crosssite.h"
#include "log.h"
#include "logreg.h"
#include "status.h"

#define CROSSSITE_NMETRICS	2

void
crosssite_init(struct crosssite *xs)
{
	memset(xs, 0, sizeof(*xs));
}

static void
crosssite_metrics(struct session_metric m[CROSSSITE_NMETRICS],
    double accuracy, double log_loss)
{
	m[0].name = "accuracy";
	m[0].value = accuracy;
	m[1].name = "log_loss";
	m[1].value = log_loss;
}

/* crosssite_refused - a status with no answer of ours */
static enum crosssite_next
crosssite_refused(struct session *s, const char *rpc, int rc)
{
	if (rc == -1)
		log_warnx("%s", s->message);
	else
		log_warnx("%s: %s: %s", rpc, session_code_name(rc), s->message);
	return CROSSSITE_FAILED;
}

static enum crosssite_next
crosssite_reauth(struct crosssite *xs, const char *rpc)
{
	xs->rpc = rpc;
	return CROSSSITE_REAUTH;
}

/*
 * crosssite_offer - SubmitBestLocalModel. A refusal of the model itself
 * (it lacks variables that exclude_vars kept on the server) still lets
 * us validate the others' models; a server without cross-site
 * validation says so again when asked for models, which ends the phase.
 */
static enum crosssite_next
crosssite_offer(struct crosssite *xs, struct session *s,
    const struct dataset *ds, const struct bestmodel *best)
{
	struct session_metric	 m[CROSSSITE_NMETRICS];
	const char		*rpc = "SubmitBestLocalModel";
	int			 rc;

	if (!best->kept) {
		log_info("cross-site validation: no local model of ours to "
		    "submit");
		xs->offered = 1;
		return CROSSSITE_AGAIN;
	}
	crosssite_metrics(m, best->accuracy, best->log_loss);
	switch ((rc = session_submit_best(s, &best->model, m,
	    CROSSSITE_NMETRICS))) {
	case FL_OK:
		log_info("cross-site validation: best local model submitted: "
		    "round %lld's, log-loss %.4f, accuracy %.4f on our %zu "
		    "rows", (long long)best->round, best->log_loss,
		    best->accuracy, ds->rows);
		break;
	case FL_INVALID_ARGUMENT:
		log_warnx("cross-site validation: our best local model was "
		    "refused: %s", s->message);
		break;
	case FL_FAILED_PRECONDITION:
		log_info("cross-site validation: our best local model was "
		    "not taken: %s", s->message);
		break;
	case FL_UNIMPLEMENTED:
		log_info("cross-site validation: the server has none (%s); "
		    "quitting", s->message);
		return CROSSSITE_DONE;
	case FL_UNAUTHENTICATED:
		return crosssite_reauth(xs, rpc);
	default:
		return crosssite_refused(s, rpc, rc);
	}
	xs->offered = 1;
	return CROSSSITE_AGAIN;
}

/* crosssite_report - our metrics on owner's model, to the server */
static enum crosssite_next
crosssite_report(struct crosssite *xs, struct session *s,
    const struct dataset *ds, const char *owner, double accuracy,
    double log_loss)
{
	struct session_metric	 m[CROSSSITE_NMETRICS];
	const char		*rpc = "SubmitCrossSiteValidationResults";
	int			 rc;

	crosssite_metrics(m, accuracy, log_loss);
	switch ((rc = session_submit_results(s, owner, m,
	    CROSSSITE_NMETRICS))) {
	case FL_OK:
		xs->validated++;
		log_info("cross-site validation: %s's model: accuracy %.4f, "
		    "log-loss %.4f on our %zu rows", owner, accuracy,
		    log_loss, ds->rows);
		return CROSSSITE_AGAIN;
	case FL_FAILED_PRECONDITION:
		log_warnx("cross-site validation: our results for %s's model "
		    "were not taken: %s", owner, s->message);
		return CROSSSITE_AGAIN;
	case FL_UNAUTHENTICATED:
		return crosssite_reauth(xs, rpc);
	}
	return crosssite_refused(s, rpc, rc);
}

/* crosssite_validate - owner's model on our table, and the report */
static enum crosssite_next
crosssite_validate(struct crosssite *xs, struct session *s,
    const struct dataset *ds, const struct model *m, const char *owner)
{
	char	 err[LOGREG_ERR_MAX];
	double	 accuracy, log_loss;

	if (logreg_evaluate(m, ds, &accuracy, &log_loss, err) == -1) {
		xs->skipped++;
		log_warnx("cross-site validation: %s's model cannot be "
		    "validated on our table: %s", owner, err);
		return CROSSSITE_AGAIN;
	}
	return crosssite_report(xs, s, ds, owner, accuracy, log_loss);
}

/* crosssite_ask - GetValidationModels, and what its answer calls for */
static enum crosssite_next
crosssite_ask(struct crosssite *xs, struct session *s,
    const struct dataset *ds, int poll)
{
	const char		*rpc = "GetValidationModels";
	char			 owner[SESSION_OWNER_MAX + 1];
	struct model		 m;
	enum crosssite_next	 next;
	int			 more, rc;

	switch ((rc = session_validation_model(s, &m, owner, &more))) {
	case FL_OK:
		if (owner[0] == '\0') {
			log_info("cross-site validation finished: %d models "
			    "validated%s", xs->validated, xs->skipped > 0 ?
			    ", some could not be" : "");
			return CROSSSITE_DONE;
		}
		next = crosssite_validate(xs, s, ds, &m, owner);
		model_free(&m);
		return next;
	case FL_RESOURCE_EXHAUSTED:
		if (strncmp(s->message, "No token", 8) != 0)
			break;
		log_debug("cross-site validation: no model for us yet: %s",
		    s->message);
		session_sleep(s, poll);
		return CROSSSITE_AGAIN;
	case FL_FAILED_PRECONDITION:
	case FL_UNIMPLEMENTED:
	case FL_OUT_OF_RANGE:
		log_info("cross-site validation: the server has none (%s); "
		    "quitting", s->message);
		return CROSSSITE_DONE;
	case FL_UNAUTHENTICATED:
		return crosssite_reauth(xs, rpc);
	}
	return crosssite_refused(s, rpc, rc);
}

enum crosssite_next
crosssite_step(struct crosssite *xs, struct session *s,
    const struct dataset *ds, const struct bestmodel *best, int poll)
{
	if (!xs->offered)
		return crosssite_offer(xs, s, ds, best);
	return crosssite_ask(xs, s, ds, poll);
}
