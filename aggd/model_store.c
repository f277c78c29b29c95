/*
 * model_store - the global model, provenance records and the checkpoint
 * on disk, under the workspace:
 *
 *   run_N/models/FL_global_model.npz	the model after the last round
 *   run_N/models/round_K.npz		after round K (keep_round_models)
 *   run_N/models/initial_model.npz	the model a run starts from
 *   run_N/provenance/round_K.json	which updates made round K's model
 *   state/aggd.json			{"run", "round", "global_model",
 *					 "config" when one was deployed}
 *
 * Every file is written to a temporary name, fsync'd and renamed, so a
 * crash or a full disk leaves the previous version in place. The
 * checkpoint is written last: it names the round to run next, and it
 * moves only once that round's model and provenance are on disk.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "aggd.h"
#include "atomicfile.h"
#include "log.h"
#include "npz.h"

#define STORE_GLOBAL_MODEL	"FL_global_model.npz"
#define STORE_INITIAL_MODEL	"initial_model.npz"
#define STORE_CHECKPOINT	"state/aggd.json"

int
model_store_init(struct model_store *store, const char *workspace,
    int keep_round_models)
{
	memset(store, 0, sizeof(*store));
	if ((store->workspace = strdup(workspace)) == NULL)
		return -1;
	store->keep_round_models = keep_round_models;
	return 0;
}

void
model_store_free(struct model_store *store)
{
	free(store->workspace);
	free(store->config);
	memset(store, 0, sizeof(*store));
}

/* model_store_path - WORKSPACE/rel into buf, refusing truncation */
int
model_store_path(const struct model_store *store, char *buf, size_t len,
    const char *fmt, ...)
{
	char	 rel[PATH_MAX];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rel))
		return -1;
	n = snprintf(buf, len, "%s/%s", store->workspace, rel);
	if (n < 0 || (size_t)n >= len) {
		log_warnx("path under %s is too long", store->workspace);
		return -1;
	}
	return 0;
}

/* model_store_mkdir - one folder, fine if it is there */
int
model_store_mkdir(const char *path)
{
	if (mkdir(path, 0750) == -1 && errno != EEXIST) {
		log_warn("mkdir %s", path);
		return -1;
	}
	return 0;
}

/* model_store_dirs - run_N/models, run_N/provenance and state */
static int
model_store_dirs(const struct model_store *store, int64_t run)
{
	char	 path[PATH_MAX];

	if (model_store_path(store, path, sizeof(path), "run_%lld",
	    (long long)run) == -1 || model_store_mkdir(path) == -1)
		return -1;
	if (model_store_path(store, path, sizeof(path), "run_%lld/models",
	    (long long)run) == -1 || model_store_mkdir(path) == -1)
		return -1;
	if (model_store_path(store, path, sizeof(path), "run_%lld/provenance",
	    (long long)run) == -1 || model_store_mkdir(path) == -1)
		return -1;
	if (model_store_path(store, path, sizeof(path), "state") == -1 ||
	    model_store_mkdir(path) == -1)
		return -1;
	return 0;
}

/* model_store_write_json - doc to path: temporary, fsync, rename */
int
model_store_write_json(const char *path, const json_t *doc)
{
	char	*text, *line;
	size_t	 len;
	int	 rv;

	if ((text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS)) ==
	    NULL) {
		log_warnx("%s: cannot encode JSON", path);
		return -1;
	}
	len = strlen(text);
	if ((line = realloc(text, len + 2)) == NULL) {
		log_warn("%s", path);
		free(text);
		return -1;
	}
	text = line;
	memcpy(text + len, "\n", 2);
	rv = atomicfile_replace(path, text, len + 1);
	free(text);
	if (rv == -1)
		log_warn("write %s", path);
	return rv;
}

/* model_store_file_sha256 - the SHA-256 of a file, read in pieces */
static int
model_store_file_sha256(const char *path, char out[DIGEST_HEX_LEN + 1])
{
	unsigned char		 buf[65536], md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	EVP_MD_CTX		*ctx;
	ssize_t			 n;
	int			 fd, rv = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("open %s", path);
		return -1;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto done;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto done;
	if (n == -1) {
		log_warn("read %s", path);
		goto done;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen * 2 !=
	    DIGEST_HEX_LEN)
		goto done;
	digest_hex(md, mdlen, out);
	rv = 0;
done:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rv;
}

/* model_store_npz - save m as run_N/models/name */
static int
model_store_npz(const struct model_store *store, int64_t run,
    const char *name, const struct model *m, char *path, size_t len)
{
	char	 err[NPZ_ERR_MAX];

	if (model_store_path(store, path, len, "run_%lld/models/%s",
	    (long long)run, name) == -1)
		return -1;
	if (npz_save(path, m, err) == -1) {
		log_warnx("saving %s: %s", path, err);
		return -1;
	}
	return 0;
}

/* model_store_provenance_sites - the updates of a round as JSON */
static json_t *
model_store_provenance_sites(const struct provenance_site *ps, size_t n)
{
	json_t	*sites, *s;
	size_t	 i;

	if ((sites = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		s = json_pack("{s:s, s:I, s:f, s:f, s:s}", "site", ps[i].site,
		    "n_iter", (json_int_t)ps[i].n_iter, "aggregation_weight",
		    ps[i].aggregation_weight, "weight", ps[i].weight, "sha256",
		    ps[i].sha256);
		if (s == NULL || json_array_append_new(sites, s) == -1) {
			json_decref(sites);
			return NULL;
		}
	}
	return sites;
}

/* model_store_provenance - run_N/provenance/round_K.json */
static int
model_store_provenance(const struct model_store *store, int64_t run,
    int64_t round, enum contrib_type type, const char *model,
    const char *model_sha256, const struct provenance_site *ps, size_t n,
    json_t *extra)
{
	char	 path[PATH_MAX];
	json_t	*doc, *sites;
	int	 rv;

	if (model_store_path(store, path, sizeof(path),
	    "run_%lld/provenance/round_%lld.json", (long long)run,
	    (long long)round) == -1)
		return -1;
	if ((sites = model_store_provenance_sites(ps, n)) == NULL)
		return -1;
	doc = json_pack("{s:I, s:I, s:s, s:o, s:s, s:s}", "run",
	    (json_int_t)run, "round", (json_int_t)round, "type",
	    contribution_type_name(type), "sites", sites, "model", model,
	    "model_sha256", model_sha256);
	if (doc == NULL || (extra != NULL && json_object_update(doc,
	    extra) == -1)) {
		json_decref(doc);
		return -1;
	}
	rv = model_store_write_json(path, doc);
	json_decref(doc);
	return rv;
}

/* model_store_checkpoint - state/aggd.json: the round to run next, from
 * run_N/models/name, and the deployed configuration if there is one */
static int
model_store_checkpoint(const struct model_store *store, int64_t run,
    int64_t next_round, const char *name)
{
	char	 path[PATH_MAX], model[PATH_MAX];
	json_t	*doc;
	int	 rv;

	if (model_store_path(store, path, sizeof(path), STORE_CHECKPOINT) ==
	    -1)
		return -1;
	snprintf(model, sizeof(model), "run_%lld/models/%s", (long long)run,
	    name);
	doc = json_pack("{s:I, s:I, s:s}", "run", (json_int_t)run, "round",
	    (json_int_t)next_round, "global_model", model);
	if (doc != NULL && store->config != NULL &&
	    json_object_set_new(doc, "config", json_string(store->config)) ==
	    -1) {
		json_decref(doc);
		doc = NULL;
	}
	if (doc == NULL)
		return -1;
	rv = model_store_write_json(path, doc);
	json_decref(doc);
	return rv;
}

/*
 * model_store_save - round's model m, with its provenance, then the
 * checkpoint. Returns 0, or -1 (logged) with the checkpoint unmoved, so
 * the caller can try the whole again.
 */
int
model_store_save(struct model_store *store, int64_t run, int64_t round,
    enum contrib_type type, const struct model *m,
    const struct provenance_site *ps, size_t n, json_t *extra)
{
	char	 path[PATH_MAX], name[64], sha[DIGEST_HEX_LEN + 1];

	if (model_store_dirs(store, run) == -1)
		return -1;
	snprintf(name, sizeof(name), STORE_GLOBAL_MODEL);
	if (store->keep_round_models) {
		snprintf(name, sizeof(name), "round_%lld.npz",
		    (long long)round);
		if (model_store_npz(store, run, name, m, path,
		    sizeof(path)) == -1)
			return -1;
		if (model_store_file_sha256(path, sha) == -1)
			return -1;
	}
	if (model_store_npz(store, run, STORE_GLOBAL_MODEL, m, path,
	    sizeof(path)) == -1)
		return -1;
	if (!store->keep_round_models &&
	    model_store_file_sha256(path, sha) == -1)
		return -1;

	if (model_store_provenance(store, run, round, type, name, sha, ps,
	    n, extra) == -1)
		return -1;
	return model_store_checkpoint(store, run, round + 1,
	    STORE_GLOBAL_MODEL);
}

/*
 * model_store_begin_run - m as run's initial model, and the checkpoint
 * naming it: a new run number, or a deployed configuration, survives a
 * restart. Returns 0, or -1 (logged).
 */
int
model_store_begin_run(struct model_store *store, int64_t run, int64_t round,
    const struct model *m)
{
	char	 path[PATH_MAX];

	if (model_store_dirs(store, run) == -1 ||
	    model_store_npz(store, run, STORE_INITIAL_MODEL, m, path,
	    sizeof(path)) == -1)
		return -1;
	return model_store_checkpoint(store, run, round, STORE_INITIAL_MODEL);
}

/* model_store_checkpoint_read - run, round and model path from
 * state/aggd.json; 0 when there is none or it is unusable (logged) */
static int
model_store_checkpoint_read(const struct model_store *store, int64_t *run,
    int64_t *round, char *model, size_t len)
{
	char		 path[PATH_MAX];
	json_error_t	 jerr;
	json_t		*doc;
	json_int_t	 r, k;
	const char	*rel, *config = NULL;

	if (model_store_path(store, path, sizeof(path), STORE_CHECKPOINT) ==
	    -1)
		return 0;
	if (access(path, F_OK) == -1)
		return 0;
	if ((doc = json_load_file(path, 0, &jerr)) == NULL) {
		log_warnx("checkpoint %s: %s (line %d)", path, jerr.text,
		    jerr.line);
		return 0;
	}
	if (json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:I, s:I, s:s, s?:s}",
	    "run", &r, "round", &k, "global_model", &rel, "config",
	    &config) == -1 || r < 1 || k < 0 ||
	    rel[0] == '/' || strstr(rel, "..") != NULL ||
	    model_store_path(store, model, len, "%s", rel) == -1) {
		log_warnx("checkpoint %s is not {\"run\", \"round\", "
		    "\"global_model\"} with a model inside the workspace",
		    path);
		json_decref(doc);
		return 0;
	}
	*run = r;
	*round = k;
	json_decref(doc);
	return 1;
}

/*
 * model_store_deployed - the configuration the checkpoint names, the one
 * an operator deployed last, into config. Returns 1, or 0 when there is
 * none.
 */
int
model_store_deployed(const char *workspace, char *config, size_t len)
{
	struct model_store	 store;
	json_error_t		 jerr;
	json_t			*doc;
	const char		*path;
	char			 file[PATH_MAX];
	int			 found = 0;

	memset(&store, 0, sizeof(store));
	store.workspace = (char *)workspace;
	if (model_store_path(&store, file, sizeof(file), STORE_CHECKPOINT) ==
	    -1 || access(file, F_OK) == -1)
		return 0;
	if ((doc = json_load_file(file, 0, &jerr)) == NULL)
		return 0;
	if (json_unpack(doc, "{s:s}", "config", &path) == 0 &&
	    (size_t)snprintf(config, len, "%s", path) < len)
		found = 1;
	json_decref(doc);
	return found;
}

/*
 * model_store_resume - the run, round to redo and global model of the
 * checkpoint. Returns 1 if they were read and the model loads, else 0.
 */
int
model_store_resume(struct model_store *store, size_t max_bytes,
    int64_t *run, int64_t *round, struct model *m)
{
	char	 model[PATH_MAX], err[NPZ_ERR_MAX];

	if (!model_store_checkpoint_read(store, run, round, model,
	    sizeof(model)))
		return 0;
	memset(m, 0, sizeof(*m));
	if (npz_load(model, max_bytes, m, err) == -1) {
		log_warnx("checkpoint names %s, which does not load: %s",
		    model, err);
		model_free(m);
		return 0;
	}
	return 1;
}
