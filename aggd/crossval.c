/*
 * crossval - cross-site validation: each site validates the others'
 * best local models and the server's global model on its own data, and
 * the metrics are gathered into one matrix.
 *
 * It runs once training has finished, on a server whose training
 * configuration says "cross_site_validation": true, and is what a
 * validation-only server does once started. A site first submits its
 * best local model, if it has one (a site that asks for models to
 * validate before submitting one is taken to have none); the model is
 * checked like an update (the global model's names, shapes and dtypes,
 * every value finite) and saved, decoded and written again, never as the
 * bytes the site sent, as run_N/cross_site/SITE.npz. Its metrics, if
 * any, are the site's own validation of it. A site then asks again and
 * again for a model it has not been given yet, one at a time: the
 * server's ("server") first, then the other sites' in the project's
 * order; it is told "No token" while none is there but more may come,
 * and more_available false with no model once it has been given every
 * model there is and no site is left that may still submit one. Its
 * metrics for each model it was given go into
 * run_N/cross_val_results.json, {validating site: {owner: {metric:
 * value}}}, written whole and atomically.
 *
 * Which sites submitted a model and which results are in are read back
 * from the run folder, so a restarted aggd knows them; which models were
 * given out is kept in memory only, and a site that registers again is
 * given the models it has not validated again.
 */
#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "aggd.h"
#include "log.h"
#include "npz.h"

#define CROSSVAL_RESULTS	"cross_val_results.json"
#define CROSSVAL_FOLDER		"cross_site"
#define CROSSVAL_SERVER		"server"
/* Metrics per model, and the length of a metric's name. */
#define CROSSVAL_METRICS_MAX	64
#define CROSSVAL_NAME_MAX	64
/* Longest part of a peer's string quoted back in a message. */
#define CROSSVAL_SHOWN		64

/* One entry of a site's map of metrics, whichever message carried it. */
struct crossval_metric {
	const char	*name;
	double		 value;
};

/* crossval_at - index of (validator v, owner o) in served and done */
static size_t
crossval_at(const struct crossval *xv, size_t v, size_t o)
{
	return v * (xv->nsites + 1) + o;
}

static const char *
crossval_owner_name(const struct crossval *xv, size_t o)
{
	return o == 0 ? CROSSVAL_SERVER : xv->round->reg->sites[o - 1].name;
}

/* crossval_clean - a printable, bounded copy of a peer's string */
static void
crossval_clean(const char *in, char *out, size_t len)
{
	size_t	 i;

	for (i = 0; in != NULL && in[i] != '\0' && i + 1 < len &&
	    i < CROSSVAL_SHOWN; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}

int
crossval_init(struct crossval *xv, struct round *r, size_t max_bytes)
{
	size_t	 n = r->reg->nsites, cells = n * (n + 1) + 1;

	memset(xv, 0, sizeof(*xv));
	xv->round = r;
	xv->nsites = n;
	xv->max_bytes = max_bytes;
	xv->run = -1;
	if ((xv->has_model = calloc(n + 1, 1)) == NULL ||
	    (xv->asked = calloc(n + 1, 1)) == NULL ||
	    (xv->served = calloc(cells, 1)) == NULL ||
	    (xv->done = calloc(cells, 1)) == NULL ||
	    (xv->results = json_object()) == NULL) {
		crossval_free(xv);
		return -1;
	}
	r->xv = xv;
	return 0;
}

void
crossval_free(struct crossval *xv)
{
	if (xv->round != NULL && xv->round->xv == xv)
		xv->round->xv = NULL;
	free(xv->has_model);
	free(xv->asked);
	free(xv->served);
	free(xv->done);
	json_decref(xv->results);
	memset(xv, 0, sizeof(*xv));
}

/* crossval_site_file - run_N/cross_site/SITE.npz of site i; -1 for a
 * name unfit for a file name */
static int
crossval_site_file(const struct crossval *xv, size_t i, char *path,
    size_t len)
{
	const char	*name = xv->round->reg->sites[i].name;

	if (name[0] == '.' || strchr(name, '/') != NULL) {
		log_warnx("site name %s cannot name a file", name);
		return -1;
	}
	return model_store_path(xv->round->store, path, len,
	    "run_%lld/%s/%s.npz", (long long)xv->run, CROSSVAL_FOLDER, name);
}

/* crossval_owner - owner index of name: 0 for the server, 1 + i for
 * project site i, or -1 */
static long
crossval_owner(const struct crossval *xv, const char *name)
{
	struct site	*site;

	if (name == NULL)
		return -1;
	if (strcmp(name, CROSSVAL_SERVER) == 0)
		return 0;
	if ((site = registry_site(xv->round->reg, name)) == NULL)
		return -1;
	return (long)site->id + 1;
}

/* crossval_load_results - run_N/cross_val_results.json into memory, and
 * which results are in; a file that is not the matrix is warned about
 * and replaced at the next result */
static void
crossval_load_results(struct crossval *xv)
{
	char		 path[PATH_MAX];
	json_error_t	 jerr;
	json_t		*doc, *row, *cell;
	const char	*v, *o;
	long		 vi, oi;

	if (model_store_path(xv->round->store, path, sizeof(path),
	    "run_%lld/%s", (long long)xv->run, CROSSVAL_RESULTS) == -1 ||
	    access(path, F_OK) == -1)
		return;
	if ((doc = json_load_file(path, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL || !json_is_object(doc)) {
		log_warnx("%s is not a results matrix: it will be replaced",
		    path);
		json_decref(doc);
		return;
	}
	json_object_foreach(doc, v, row) {
		if ((vi = crossval_owner(xv, v)) < 1 || !json_is_object(row))
			continue;
		json_object_foreach(row, o, cell)
			if ((oi = crossval_owner(xv, o)) >= 0) {
				xv->done[crossval_at(xv, vi - 1, oi)] = 1;
				xv->served[crossval_at(xv, vi - 1, oi)] = 1;
				if (oi != vi)
					xv->asked[vi - 1] = 1;
			}
	}
	json_decref(xv->results);
	xv->results = doc;
}

/* crossval_sync - the state of the round's current run */
static void
crossval_sync(struct crossval *xv)
{
	char	 path[PATH_MAX];
	size_t	 i, cells = xv->nsites * (xv->nsites + 1);

	if (xv->run == xv->round->run)
		return;
	xv->run = xv->round->run;
	memset(xv->has_model, 0, xv->nsites);
	memset(xv->asked, 0, xv->nsites);
	memset(xv->served, 0, cells);
	memset(xv->done, 0, cells);
	json_object_clear(xv->results);
	for (i = 0; i < xv->nsites; i++)
		xv->has_model[i] = crossval_site_file(xv, i, path,
		    sizeof(path)) == 0 && access(path, F_OK) == 0;
	crossval_load_results(xv);
}

static int
crossval_enabled(const struct crossval *xv)
{
	const struct train_config	*cfg = xv->round->cfg;

	return cfg->cross_site_validation ||
	    cfg->server_type == SERVER_VALIDATION_ONLY;
}

/* crossval_open - models and results are taken now */
static int
crossval_open(const struct crossval *xv)
{
	const struct round	*r = xv->round;

	if (r->cfg->server_type == SERVER_VALIDATION_ONLY)
		return r->state != ROUND_IDLE;
	return r->state == ROUND_FINISHED;
}

/* crossval_check - enabled and open; else the status and why */
static enum fl_status
crossval_check(struct crossval *xv, enum fl_status closed, char *msg,
    size_t len)
{
	const struct round	*r = xv->round;

	if (!crossval_enabled(xv)) {
		snprintf(msg, len, "cross-site validation is not enabled on "
		    "this server (cross_site_validation is false)");
		return FL_FAILED_PRECONDITION;
	}
	crossval_sync(xv);
	if (crossval_open(xv))
		return FL_OK;
	if (r->cfg->server_type == SERVER_VALIDATION_ONLY)
		snprintf(msg, len, "%svalidation %s",
		    closed == FL_RESOURCE_EXHAUSTED ? "No token: " : "",
		    r->stopped ? "is not running" : "has not started");
	else
		snprintf(msg, len, "%scross-site validation starts when "
		    "training has finished",
		    closed == FL_RESOURCE_EXHAUSTED ? "No token: " : "");
	return closed;
}

/* crossval_pick - the first owner whose model validator v may validate
 * and was not given yet, or -1 */
static long
crossval_pick(const struct crossval *xv, size_t v)
{
	size_t	 o;

	for (o = 0; o <= xv->nsites; o++) {
		if (o == v + 1 || xv->served[crossval_at(xv, v, o)])
			continue;
		if (o == 0 || xv->has_model[o - 1])
			return (long)o;
	}
	return -1;
}

/* crossval_pending - registered sites other than v that may still
 * submit a best local model: none in, and they have not asked for
 * models to validate */
static size_t
crossval_pending(const struct crossval *xv, size_t v)
{
	const struct registry	*reg = xv->round->reg;
	size_t			 i, n = 0;

	for (i = 0; i < xv->nsites; i++)
		if (i != v && reg->sites[i].registered &&
		    !xv->has_model[i] && !xv->asked[i])
			n++;
	return n;
}

/* crossval_none - the answer when v has been given every model */
static struct model_buf *
crossval_none(const struct model_meta *mm)
{
	Fedlearn__ValidationModel	 vm = FEDLEARN__VALIDATION_MODEL__INIT;
	Fedlearn__MetaData		 meta = FEDLEARN__META_DATA__INIT;
	Fedlearn__Project		 project = FEDLEARN__PROJECT__INIT;
	struct model_buf		*mb;

	project.name = (char *)mm->project;
	meta.project = &project;
	meta.current_round = mm->round;
	meta.num_rounds = mm->num_rounds;
	meta.run_number = mm->run;
	vm.meta = &meta;
	vm.more_available = 0;
	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return NULL;
	mb->len = fedlearn__validation_model__get_packed_size(&vm);
	if ((mb->data = malloc(mb->len)) == NULL) {
		free(mb);
		return NULL;
	}
	fedlearn__validation_model__pack(&vm, mb->data);
	atomic_init(&mb->refs, 1);
	return mb;
}

/* crossval_pack - owner o's model for validator v, packed */
static struct model_buf *
crossval_pack(struct crossval *xv, size_t v, size_t o,
    const struct model_meta *mm)
{
	char			 path[PATH_MAX], err[NPZ_ERR_MAX];
	struct model		 m;
	struct model_buf	*mb;
	int			 more;

	xv->served[crossval_at(xv, v, o)] = 1;
	more = crossval_pick(xv, v) != -1 || crossval_pending(xv, v) > 0;
	if (o == 0)
		return model_cache_validation(&xv->round->global, mm,
		    CROSSVAL_SERVER, more);
	memset(&m, 0, sizeof(m));
	if (crossval_site_file(xv, o - 1, path, sizeof(path)) == -1 ||
	    npz_load(path, xv->max_bytes, &m, err) == -1) {
		log_warnx("best local model of %s: %s",
		    crossval_owner_name(xv, o), err);
		return NULL;
	}
	mb = model_cache_validation(&m, mm, crossval_owner_name(xv, o), more);
	model_free(&m);
	return mb;
}

/*
 * crossval_next - the next model site has to validate, packed as a
 * ValidationModel with a reference for the send.
 */
enum fl_status
crossval_next(struct crossval *xv, struct site *site, size_t max_len,
    struct model_buf **out, char *msg, size_t len)
{
	struct model_meta	 mm;
	enum fl_status		 st;
	size_t			 v = site->id, pending;
	long			 o;

	if ((st = crossval_check(xv, FL_RESOURCE_EXHAUSTED, msg, len)) !=
	    FL_OK)
		return st;
	xv->asked[v] = 1;
	round_meta(xv->round, &mm);
	o = crossval_pick(xv, v);
	if (o == -1 && (pending = crossval_pending(xv, v)) > 0) {
		snprintf(msg, len, "No token: waiting for the best local "
		    "model of %zu more site%s", pending, pending == 1 ? "" :
		    "s");
		return FL_RESOURCE_EXHAUSTED;
	}
	*out = o == -1 ? crossval_none(&mm) : crossval_pack(xv, v, o, &mm);
	if (*out == NULL) {
		if (o != -1)
			xv->served[crossval_at(xv, v, o)] = 0;
		snprintf(msg, len, "the server could not read or pack the "
		    "model to validate");
		return FL_INTERNAL;
	}
	if (o != -1 && (*out)->len > max_len) {
		xv->served[crossval_at(xv, v, o)] = 0;
		snprintf(msg, len, "the model is %zu bytes, over the message "
		    "limit of %zu", (*out)->len, max_len);
		model_cache_release((*out)->data, *out);
		*out = NULL;
		return FL_RESOURCE_EXHAUSTED;
	}
	if (o != -1)
		log_info("cross-site validation: %s's model sent to %s",
		    crossval_owner_name(xv, o), site->name);
	msg[0] = '\0';
	return FL_OK;
}

/* crossval_metric_name - 1 to 64 of [A-Za-z0-9_.-] */
static int
crossval_metric_name(const char *name)
{
	static const char	 allowed[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t			 n;

	if (name == NULL || (n = strlen(name)) == 0 || n > CROSSVAL_NAME_MAX)
		return 0;
	return strspn(name, allowed) == n;
}

/*
 * crossval_metrics - a site's metrics as a JSON object, or NULL with why
 * in msg: names of [A-Za-z0-9_.-], finite values, each once.
 */
static json_t *
crossval_metrics(const struct crossval_metric *m, size_t n,
    const char *site, char *msg, size_t len)
{
	char	 shown[CROSSVAL_SHOWN + 1];
	json_t	*obj;
	size_t	 i;

	if ((obj = json_object()) == NULL) {
		snprintf(msg, len, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		crossval_clean(m[i].name, shown, sizeof(shown));
		if (!crossval_metric_name(m[i].name))
			snprintf(msg, len, "%s: metric name \"%s\" is not 1 to "
			    "%d of A-Z a-z 0-9 _ . -", site, shown,
			    CROSSVAL_NAME_MAX);
		else if (!isfinite(m[i].value))
			snprintf(msg, len, "%s: metric %s is not a finite "
			    "number", site, shown);
		else if (json_object_get(obj, m[i].name) != NULL)
			snprintf(msg, len, "%s: metric %s is given twice",
			    site, shown);
		else if (json_object_set_new(obj, m[i].name,
		    json_real(m[i].value)) == 0)
			continue;
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* crossval_local_metrics - a LocalModel's metrics, possibly none */
static json_t *
crossval_local_metrics(const Fedlearn__LocalModel *lm, const char *site,
    char *msg, size_t len)
{
	struct crossval_metric	 m[CROSSVAL_METRICS_MAX];
	size_t			 i;

	if (lm->n_metrics > CROSSVAL_METRICS_MAX) {
		snprintf(msg, len, "%s: %zu metrics, more than %d", site,
		    lm->n_metrics, CROSSVAL_METRICS_MAX);
		return NULL;
	}
	for (i = 0; i < lm->n_metrics; i++) {
		m[i].name = lm->metrics[i]->key;
		m[i].value = lm->metrics[i]->value;
	}
	return crossval_metrics(m, lm->n_metrics, site, msg, len);
}

/* crossval_result_metrics - ValidationResults' metrics, one at least */
static json_t *
crossval_result_metrics(const Fedlearn__ValidationResults *vr,
    const char *site, char *msg, size_t len)
{
	struct crossval_metric	 m[CROSSVAL_METRICS_MAX];
	size_t			 i;

	if (vr->n_metrics == 0 || vr->n_metrics > CROSSVAL_METRICS_MAX) {
		snprintf(msg, len, "%s: %zu metrics: expected 1 to %d", site,
		    vr->n_metrics, CROSSVAL_METRICS_MAX);
		return NULL;
	}
	for (i = 0; i < vr->n_metrics; i++) {
		m[i].name = vr->metrics[i]->key;
		m[i].value = vr->metrics[i]->value;
	}
	return crossval_metrics(m, vr->n_metrics, site, msg, len);
}

/* crossval_write - the results matrix to the run folder */
static int
crossval_write(struct crossval *xv)
{
	char	 path[PATH_MAX];

	if (model_store_path(xv->round->store, path, sizeof(path), "run_%lld",
	    (long long)xv->run) == -1 || model_store_mkdir(path) == -1 ||
	    model_store_path(xv->round->store, path, sizeof(path),
	    "run_%lld/%s", (long long)xv->run, CROSSVAL_RESULTS) == -1)
		return -1;
	return model_store_write_json(path, xv->results);
}

/* crossval_record - validator v's metrics on owner o's model, on disk;
 * on failure the matrix is as it was */
static int
crossval_record(struct crossval *xv, size_t v, size_t o, json_t *metrics)
{
	const char	*vname = crossval_owner_name(xv, v + 1);
	json_t		*row;
	int		 added = 0;

	if ((row = json_object_get(xv->results, vname)) == NULL) {
		if ((row = json_object()) == NULL ||
		    json_object_set_new(xv->results, vname, row) == -1) {
			json_decref(metrics);
			return -1;
		}
		added = 1;
	}
	if (json_object_set_new(row, crossval_owner_name(xv, o),
	    metrics) == 0 && crossval_write(xv) == 0) {
		xv->done[crossval_at(xv, v, o)] = 1;
		return 0;
	}
	json_object_del(row, crossval_owner_name(xv, o));
	if (added)
		json_object_del(xv->results, vname);
	return -1;
}

/* crossval_save_model - the decoded update as site v's best local model */
static int
crossval_save_model(struct crossval *xv, size_t v, struct update *u)
{
	const struct model	*global = &xv->round->global;
	char			 path[PATH_MAX], err[NPZ_ERR_MAX];
	struct model		 m;
	size_t			 i;
	int			 rv = -1;

	memset(&m, 0, sizeof(m));
	if (model_store_path(xv->round->store, path, sizeof(path),
	    "run_%lld", (long long)xv->run) == -1 ||
	    model_store_mkdir(path) == -1 ||
	    model_store_path(xv->round->store, path, sizeof(path),
	    "run_%lld/%s", (long long)xv->run, CROSSVAL_FOLDER) == -1 ||
	    model_store_mkdir(path) == -1 ||
	    crossval_site_file(xv, v, path, sizeof(path)) == -1)
		return -1;
	/* The tensors move into the model with the global model's names. */
	for (i = 0; i < u->count; i++) {
		free(u->tensors[i].name);
		if ((u->tensors[i].name = strdup(global->tensors[i].name)) ==
		    NULL || model_add(&m, &u->tensors[i]) == -1)
			goto done;
		memset(&u->tensors[i], 0, sizeof(u->tensors[i]));
	}
	if ((rv = npz_save(path, &m, err)) == -1)
		log_warnx("saving %s: %s", path, err);
done:
	model_free(&m);
	return rv;
}

/* crossval_local - decode and save site v's model; -1 with why in msg,
 * and the status in *st */
static int
crossval_local(struct crossval *xv, size_t v, const struct site *site,
    const Fedlearn__ModelData *data, enum fl_status *st, char *msg,
    size_t len)
{
	struct train_config	 every;
	struct update		 u;
	int			 rv;

	/* A model to validate is whole: exclude_vars leaves nothing out. */
	memset(&every, 0, sizeof(every));
	if (contribution_decode_data(data, site->name, &xv->round->global,
	    &every, xv->max_bytes, &u, msg, len) == -1) {
		*st = FL_INVALID_ARGUMENT;
		return -1;
	}
	rv = crossval_save_model(xv, v, &u);
	contribution_free(&u);
	if (rv == -1) {
		snprintf(msg, len, "%s's best local model could not be saved",
		    site->name);
		*st = FL_INTERNAL;
	}
	return rv;
}

/*
 * crossval_submit_model - site's best local model, and its own metrics
 * on it if it sends any.
 */
enum fl_status
crossval_submit_model(struct crossval *xv, struct site *site,
    const Fedlearn__LocalModel *lm, char *msg, size_t len)
{
	char		 path[PATH_MAX];
	enum fl_status	 st;
	json_t		*metrics;
	size_t		 v = site->id;

	if ((st = crossval_check(xv, FL_FAILED_PRECONDITION, msg, len)) !=
	    FL_OK)
		return st;
	if (xv->has_model[v]) {
		snprintf(msg, len, "%s's best local model is already in",
		    site->name);
		return FL_FAILED_PRECONDITION;
	}
	if ((metrics = crossval_local_metrics(lm, site->name, msg,
	    len)) == NULL)
		return FL_INVALID_ARGUMENT;
	if (crossval_local(xv, v, site, lm->data, &st, msg, len) == -1) {
		json_decref(metrics);
		return st;
	}
	if (json_object_size(metrics) == 0)
		json_decref(metrics);
	else if (crossval_record(xv, v, v + 1, metrics) == -1) {
		if (crossval_site_file(xv, v, path, sizeof(path)) == 0)
			unlink(path);
		snprintf(msg, len, "%s's metrics could not be saved",
		    site->name);
		return FL_INTERNAL;
	}
	xv->has_model[v] = 1;
	log_info("cross-site validation: best local model of %s accepted",
	    site->name);
	msg[0] = '\0';
	return FL_OK;
}

/* crossval_result_owner - the owner site may send results for now, or
 * -1 with why */
static long
crossval_result_owner(struct crossval *xv, const struct site *site,
    const char *owner, enum fl_status *st, char *msg, size_t len)
{
	char	 shown[CROSSVAL_SHOWN + 1];
	long	 o;

	*st = FL_FAILED_PRECONDITION;
	crossval_clean(owner, shown, sizeof(shown));
	if ((o = crossval_owner(xv, owner)) == -1) {
		*st = FL_INVALID_ARGUMENT;
		snprintf(msg, len, "owner \"%s\" is neither \"server\" nor a "
		    "site of the project", shown);
	} else if ((size_t)o == site->id + 1)
		snprintf(msg, len, "%s's metrics on its own model come with "
		    "its best local model", site->name);
	else if (!xv->served[crossval_at(xv, site->id, o)])
		snprintf(msg, len, "%s was not given %s's model to validate",
		    site->name, shown);
	else if (xv->done[crossval_at(xv, site->id, o)])
		snprintf(msg, len, "%s's results for %s's model are already "
		    "in", site->name, shown);
	else
		return o;
	return -1;
}

/* crossval_submit_results - site's metrics on one owner's model */
enum fl_status
crossval_submit_results(struct crossval *xv, struct site *site,
    const Fedlearn__ValidationResults *vr, char *msg, size_t len)
{
	enum fl_status	 st;
	json_t		*metrics;
	long		 o;

	if ((st = crossval_check(xv, FL_FAILED_PRECONDITION, msg, len)) !=
	    FL_OK)
		return st;
	if ((o = crossval_result_owner(xv, site, vr->owner, &st, msg,
	    len)) == -1)
		return st;
	if ((metrics = crossval_result_metrics(vr, site->name, msg,
	    len)) == NULL)
		return FL_INVALID_ARGUMENT;
	if (crossval_record(xv, site->id, (size_t)o, metrics) == -1) {
		snprintf(msg, len, "the results could not be saved");
		return FL_INTERNAL;
	}
	log_info("cross-site validation: %s validated %s's model",
	    site->name, crossval_owner_name(xv, (size_t)o));
	msg[0] = '\0';
	return FL_OK;
}

/* crossval_registered - site registered again: what it was given and
 * did not validate, it is given again */
void
crossval_registered(struct crossval *xv, const struct site *site)
{
	size_t	 o, at;

	crossval_sync(xv);
	for (o = 0; o <= xv->nsites; o++) {
		at = crossval_at(xv, site->id, o);
		if (!xv->done[at])
			xv->served[at] = 0;
	}
	xv->asked[site->id] = 0;
}

/*
 * crossval_complete - every registered site (min_num_clients of them at
 * least) has validated every model there is, and no site is left that
 * may still submit one.
 */
int
crossval_complete(struct crossval *xv)
{
	const struct registry	*reg = xv->round->reg;
	size_t			 v, o;

	crossval_sync(xv);
	if (reg->nregistered == 0 ||
	    reg->nregistered < (size_t)xv->round->cfg->min_num_clients)
		return 0;
	for (v = 0; v < xv->nsites; v++) {
		if (!reg->sites[v].registered)
			continue;
		if (crossval_pick(xv, v) != -1 || crossval_pending(xv, v) > 0)
			return 0;
		for (o = 0; o <= xv->nsites; o++)
			if (xv->served[crossval_at(xv, v, o)] &&
			    !xv->done[crossval_at(xv, v, o)])
				return 0;
	}
	return 1;
}

/* crossval_results - the current run's matrix, a new reference */
json_t *
crossval_results(struct crossval *xv)
{
	crossval_sync(xv);
	return json_incref(xv->results);
}
