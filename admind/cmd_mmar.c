/*
 * cmd_mmar - MMARs: upload_folder into the workspace's transfer/, and
 * deploy from there to the server and to sites.
 *
 * An upload is unpacked by mmar_unpack into a fresh staging folder
 * beside its destination, validated, and only then renamed into place:
 * a refused upload leaves nothing. An MMAR already in transfer/ is not
 * replaced: a deploy may be reading it, and an operator who means to
 * replace it removes it first (or uploads under another name).
 *
 * A deploy validates the MMAR again (a file may have changed since),
 * checks every target before anything is sent or written, then copies
 * it into transfer/.deployed/run_N/NAME (N the current run) and hands
 * aggd that copy's configuration, and sends it to the sites packed as
 * at upload. The copy stays as deployed whatever becomes of the upload;
 * it is in admind's part of the workspace because run_N/ is aggd's,
 * which admind may not write (doc/layout.md). It is made by packing and
 * unpacking again, so that it passes the same checks as the upload did.
 * An MMAR's name never starts with ".": .deployed and the staging
 * folders cannot be named.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admind.h"
#include "digest.h"
#include "log.h"
#include "mmar.h"
#include "status.h"

#define MMAR_TRANSFER		"transfer"
#define MMAR_DEPLOYED		"transfer/.deployed"
#define MMAR_NAME_CHARS		"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"abcdefghijklmnopqrstuvwxyz0123456789._-"
#define MMAR_SERVER_CONFIG	"config/config_fed_server.json"

static const char *const mmar_columns[] = { "mmar", NULL };

/* mmar_name_ok - an MMAR's name: [A-Za-z0-9._-], no "..", not "." */
static int
mmar_name_ok(struct command_run *run, const char *name)
{
	size_t	 len = strlen(name);

	if (len > 0 && len <= NAME_MAX && name[0] != '.' &&
	    strstr(name, "..") == NULL &&
	    strspn(name, MMAR_NAME_CHARS) == len)
		return 1;
	run_fail(run, "%s: %.64s is not an MMAR name: letters, digits, "
	    "\".\", \"_\" and \"-\", not starting with \".\", without "
	    "\"..\"", run->r_cmd->c_name, name);
	return 0;
}

/* mmar_path - WORKSPACE/a, or WORKSPACE/a/b; -1 if too long */
static int
mmar_path(const struct command_run *run, char path[PATH_MAX],
    const char *a, const char *b)
{
	int	 n;

	n = snprintf(path, PATH_MAX, "%s/%s%s%s", run->r_ad->workspace, a,
	    b != NULL ? "/" : "", b != NULL ? b : "");
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* mmar_staging - a fresh name for a staging folder in dir */
static int
mmar_staging(const char *dir, char path[PATH_MAX])
{
	unsigned char	 r[8];
	int		 n;

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return -1;
	n = snprintf(path, PATH_MAX, "%s/.staging-%02x%02x%02x%02x%02x%02x"
	    "%02x%02x", dir, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* mmar_mkdir - a folder that may exist already */
static int
mmar_mkdir(const char *path)
{
	struct stat	 st;

	if (mkdir(path, 0750) == 0)
		return 0;
	if (errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (errno == EEXIST)
		errno = ENOTDIR;
	return -1;
}

/*
 * mmar_install - archive unpacked into dir/.staging-X, validated, then
 * renamed to dir/name (replacing it only if replace). 0, or -1 with why
 * in err and nothing left.
 */
static int
mmar_install(const void *archive, size_t len, const char *dir,
    const char *name, int replace, int *byoc, char *err, size_t errlen)
{
	struct stat	 st;
	char		 staging[PATH_MAX], dest[PATH_MAX];

	if (mmar_mkdir(dir) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (snprintf(dest, sizeof(dest), "%s/%s", dir, name) >=
	    (int)sizeof(dest) || mmar_staging(dir, staging) == -1) {
		snprintf(err, errlen, "no staging folder name in %s", dir);
		return -1;
	}
	if (!replace && lstat(dest, &st) == 0) {
		snprintf(err, errlen, "%s exists already: upload under another "
		    "name", name);
		return -1;
	}
	if (mmar_unpack(archive, len, staging, NULL, err, errlen) == -1)
		return -1;
	if (mmar_validate(staging, err, errlen, byoc) == -1)
		goto fail;
	if (replace && lstat(dest, &st) == 0 && mmar_remove(dest) == -1) {
		snprintf(err, errlen, "the earlier %s: %s", name,
		    strerror(errno));
		goto fail;
	}
	if (rename(staging, dest) == -1) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		goto fail;
	}
	return 0;
 fail:
	if (mmar_remove(staging) == -1)
		log_warn("staging folder %s", staging);
	return -1;
}

void
cmd_mmar_upload(struct command_run *run)
{
	const char	*name = run->r_args.name;
	char		 dir[PATH_MAX], err[MMAR_ERR_MAX];
	char		 sum[DIGEST_HEX_LEN + 1];
	void		*archive;
	size_t		 len;
	int		 byoc = 0, rc;

	if (!mmar_name_ok(run, name))
		return;
	if (run->r_file_content == NULL) {
		run_fail(run, "upload_folder: no folder came with the command: "
		    "use fladmin's upload_folder DIR");
		return;
	}
	if (strcmp(run->r_file_name, name) != 0) {
		run_fail(run, "upload_folder: the folder's name is not %s",
		    name);
		return;
	}
	if ((archive = mmar_unbase64(run->r_file_content, MMAR_ARCHIVE_MAX,
	    &len, err, sizeof(err))) == NULL) {
		run_fail(run, "upload_folder %s refused: %s", name, err);
		return;
	}
	/* The record names the bytes that came, accepted or not. */
	digest_sha256_hex(archive, len, sum);
	if (mmar_path(run, dir, MMAR_TRANSFER, NULL) == -1)
		snprintf(err, sizeof(err), "workspace path too long"), rc = -1;
	else
		rc = mmar_install(archive, len, dir, name, 0, &byoc, err,
		    sizeof(err));
	free(archive);
	if (rc == -1) {
		run_fail(run, "upload_folder %s refused: %s", name, err);
		log_info("%s: upload of MMAR %s (archive sha256 %s) refused: "
		    "%s", run->r_user, name, sum, err);
		return;
	}
	frame_success(&run->r_reply, byoc ? "MMAR uploaded to transfer/: it "
	    "holds site code (custom/), deployed only where allow_byoc holds" :
	    "MMAR uploaded to transfer/");
	run_result(run, "%s uploaded%s, archive sha256 %s", name, byoc ?
	    " (byoc)" : "", sum);
	log_info("%s uploaded MMAR %s, archive sha256 %s", run->r_user, name,
	    sum);
}

/* mmar_server_done - what aggd said of the deployed configuration */
static void
mmar_server_done(struct command_run *run, int status, const char *message,
    json_t *reply)
{
	char	 text[AUDIT_REASON_MAX];

	if (status != FL_OK) {
		run_fail(run, "server: deploy %s: %s", run->r_args.name,
		    message);
		return;
	}
	snprintf(text, sizeof(text), "server: %s deployed into run %lld",
	    run->r_args.name, (long long)json_integer_value(json_object_get(
	    reply, "run")));
	frame_success(&run->r_reply, text);
	run_result(run, "%s", text);
	log_info("%s deployed MMAR %s to the server", run->r_user,
	    run->r_args.name);
}

/* mmar_server_copy - transfer/NAME into .deployed/run_N/NAME, packed */
static int
mmar_server_copy(struct command_run *run, long long n, char *err,
    size_t errlen)
{
	char	 src[PATH_MAX], dir[PATH_MAX], runs[32];
	void	*archive;
	size_t	 len;
	int	 byoc, rc;

	snprintf(runs, sizeof(runs), "run_%lld", n);
	if (mmar_path(run, src, MMAR_TRANSFER, run->r_args.name) ==
	    -1 || mmar_path(run, dir, MMAR_DEPLOYED, NULL) == -1) {
		snprintf(err, errlen, "workspace path too long");
		return -1;
	}
	if (mmar_mkdir(dir) == -1) {
		snprintf(err, errlen, "%s: %s", MMAR_DEPLOYED, strerror(errno));
		return -1;
	}
	if (mmar_path(run, dir, MMAR_DEPLOYED, runs) == -1) {
		snprintf(err, errlen, "workspace path too long");
		return -1;
	}
	if (mmar_pack(src, MMAR_ARCHIVE_MAX, &archive, &len, err, errlen) ==
	    -1)
		return -1;
	rc = mmar_install(archive, len, dir, run->r_args.name, 1, &byoc, err,
	    errlen);
	free(archive);
	return rc;
}

/* mmar_server_status - the current run, then the copy, then aggd */
static void
mmar_server_status(struct command_run *run, int status, const char *message,
    json_t *reply)
{
	json_t		*runv = json_object_get(reply, "run");
	const char	*state = json_string_value(json_object_get(reply,
			    "state"));
	char		 err[MMAR_ERR_MAX], config[PATH_MAX];
	long long	 n;

	if (status != FL_OK) {
		run_fail(run, "server: %s", message);
		return;
	}
	if (!json_is_integer(runv) || (n = json_integer_value(runv)) < 1) {
		run_fail(run, "server: aggd's status has no run number");
		return;
	}
	if (state != NULL && strcmp(state, "training") == 0) {
		run_fail(run, "server: deploy is refused while training: abort "
		    "first");
		return;
	}
	if (mmar_server_copy(run, n, err, sizeof(err)) == -1) {
		run_fail(run, "server: deploy %s refused: %s",
		    run->r_args.name, err);
		return;
	}
	snprintf(config, sizeof(config), "%s/run_%lld/%s/%s", MMAR_DEPLOYED,
	    n, run->r_args.name, MMAR_SERVER_CONFIG);
	run_ask(run, FLIPC__KIND__DEPLOY_CONFIG, json_pack("{s:s}", "config",
	    config), mmar_server_done);
}

/* mmar_byoc_allowed - allow_byoc at every site target */
static int
mmar_byoc_allowed(struct command_run *run)
{
	size_t	 i;

	for (i = run_has_server(run) ? 1 : 0; i < run->r_ntargets; i++)
		if (!authz_rule(&run->r_ad->policy, "allow_byoc",
		    run->r_targets[i])) {
			run_fail(run, "deploy %s refused: it holds site code "
			    "(custom/) and allow_byoc does not hold at %s; "
			    "nothing was sent", run->r_args.name,
			    run->r_targets[i]);
			return 0;
		}
	return 1;
}

/* mmar_site_body - {"mmar", "archive": base64 of the MMAR packed} */
static json_t *
mmar_site_body(struct command_run *run, const char *src)
{
	char	 err[MMAR_ERR_MAX], *b64;
	void	*archive;
	size_t	 len;
	json_t	*body;

	if (mmar_pack(src, MMAR_ARCHIVE_MAX, &archive, &len, err,
	    sizeof(err)) == -1) {
		run_fail(run, "deploy %s refused: %s; nothing was sent",
		    run->r_args.name, err);
		return NULL;
	}
	b64 = mmar_base64(archive, len);
	free(archive);
	if (b64 == NULL || (body = json_pack("{s:s, s:s}", "mmar",
	    run->r_args.name, "archive", b64)) == NULL) {
		free(b64);
		run_fail(run, "admind is out of memory");
		return NULL;
	}
	free(b64);
	return body;
}

/* mmar_sites_table - the sites' answers, if any site was asked */
static void
mmar_sites_table(struct command_run *run)
{
	if (run->r_nwaits > 0)
		run_sites_table(run, mmar_columns);
	else if (!run_has_server(run))
		run_fail(run, "no site is connected");
}

/* mmar_checked - the MMAR in transfer/, valid; byoc said */
static int
mmar_checked(struct command_run *run, char src[PATH_MAX], int *byoc)
{
	struct stat	 st;
	char		 err[MMAR_ERR_MAX];

	if (!mmar_name_ok(run, run->r_args.name))
		return 0;
	if (mmar_path(run, src, MMAR_TRANSFER,
	    run->r_args.name) == -1 || lstat(src, &st) == -1 ||
	    !S_ISDIR(st.st_mode)) {
		run_fail(run, "deploy: no MMAR %s in transfer/: upload it "
		    "first", run->r_args.name);
		return 0;
	}
	if (mmar_validate(src, err, sizeof(err), byoc) == -1) {
		run_fail(run, "deploy %s refused: %s", run->r_args.name, err);
		return 0;
	}
	return 1;
}

void
cmd_mmar_deploy(struct command_run *run)
{
	const struct status	*st = &run->r_ad->status;
	char			 src[PATH_MAX];
	json_t			*body = NULL;
	int			 byoc = 0;
	int			 sites = run->r_ntargets >
				    (run_has_server(run) ? 1u : 0u);

	if (!mmar_checked(run, src, &byoc))
		return;
	if (byoc && !mmar_byoc_allowed(run))
		return;
	if (run_has_server(run) && st->known &&
	    st->state == STATUS_TRAINING) {
		run_fail(run, "deploy is refused while training: abort first");
		return;
	}
	if (sites && (body = mmar_site_body(run, src)) == NULL)
		return;
	if (run_has_server(run))
		run_ask(run, FLIPC__KIND__SERVER_STATUS, json_object(),
		    mmar_server_status);
	if (body != NULL) {
		run_to_sites(run, "train.deploy", body);
		run->r_then = mmar_sites_table;
	} else if (!run_has_server(run))
		run_fail(run, "no site is connected");
}
