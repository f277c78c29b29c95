/*
 * topic - a site's answers to admin requests.
 *
 * Each answer reads only the request's body and the site's settings, and
 * changes the site only through its control; the shell-like commands are
 * common/wsfile.c's, run on the site's workspace, and sys.info's facts
 * common/sysinfo.c's, so that a site and the server answer alike.
 * train.deploy unpacks and validates an MMAR with common/mmar.c, the
 * same checks as the server's upload, into a staging folder of the
 * workspace's mmar/ that becomes mmar/NAME only once it passed.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmar.h"
#include "sysinfo.h"
#include "topic.h"
#include "wsfile.h"

#define TOPIC_SHOWN_MAX		96

typedef void	(*topic_fn)(const struct topic_site *, const json_t *,
		    struct topic_answer *);

static void	topic_check_status(const struct topic_site *, const json_t *,
		    struct topic_answer *);
static void	topic_start(const struct topic_site *, const json_t *,
		    struct topic_answer *);
static void	topic_abort(const struct topic_site *, const json_t *,
		    struct topic_answer *);
static void	topic_shutdown(const struct topic_site *, const json_t *,
		    struct topic_answer *);
static void	topic_restart(const struct topic_site *, const json_t *,
		    struct topic_answer *);
static void	topic_sys_info(const struct topic_site *, const json_t *,
		    struct topic_answer *);
static void	topic_sys_shell(const struct topic_site *, const json_t *,
		    struct topic_answer *);
static void	topic_deploy(const struct topic_site *, const json_t *,
		    struct topic_answer *);

static const struct {
	const char	*name;
	topic_fn	 answer;
} topic_handlers[] = {
	{ "train.check_status",	topic_check_status },
	{ "train.start",	topic_start },
	{ "train.abort",	topic_abort },
	{ "train.shutdown",	topic_shutdown },
	{ "train.restart",	topic_restart },
	{ "sys.info",		topic_sys_info },
	{ "sys.shell",		topic_sys_shell },
	{ "train.deploy",	topic_deploy },
};

/* Topics of the channel that this site has nothing to act on. */
static const char *const topic_unhandled[] = {
	"train.set_run_number", "train.delete_run", "validate",
};

void
topic_refuse(struct topic_answer *a, const char *fmt, ...)
{
	va_list	 ap;
	char	 text[WSFILE_ERR_MAX];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	json_decref(a->body);
	a->body = json_pack("{s:s}", "error", text);
	a->ok = 0;
}

/* topic_ok - an "_ok" answer, unless building its body failed */
static void
topic_ok(struct topic_answer *a, json_t *body)
{
	if (body == NULL) {
		topic_refuse(a, "out of memory");
		return;
	}
	a->body = body;
	a->ok = 1;
}

void
topic_answer_free(struct topic_answer *a)
{
	json_decref(a->body);
	memset(a, 0, sizeof(*a));
}

/* topic_round - a run or round number, null before the first model */
static json_t *
topic_round(int64_t n)
{
	return n < 0 ? json_null() : json_integer(n);
}

static void
topic_check_status(const struct topic_site *ts, const json_t *req,
    struct topic_answer *a)
{
	const char	*status;
	int64_t		 run, round;

	status = control_status(ts->control, &run, &round);
	topic_ok(a, json_pack("{s:s, s:s, s:o, s:o}", "site", ts->site,
	    "status", status, "run", topic_round(run), "round",
	    topic_round(round)));
}

static void
topic_start(const struct topic_site *ts, const json_t *req,
    struct topic_answer *a)
{
	topic_ok(a, json_pack("{s:s}", "status", control_start(ts->control)));
}

static void
topic_abort(const struct topic_site *ts, const json_t *req,
    struct topic_answer *a)
{
	topic_ok(a, json_pack("{s:s}", "status", control_abort(ts->control)));
}

static void
topic_shutdown(const struct topic_site *ts, const json_t *req,
    struct topic_answer *a)
{
	topic_ok(a, json_pack("{s:s}", "status", "shutting down"));
	a->after = TOPIC_SHUTDOWN;
}

static void
topic_restart(const struct topic_site *ts, const json_t *req,
    struct topic_answer *a)
{
	topic_ok(a, json_pack("{s:s}", "status", "restarting"));
	a->after = TOPIC_RESTART;
}

static void
topic_sys_info(const struct topic_site *ts, const json_t *req,
    struct topic_answer *a)
{
	struct sysinfo_host	 host;
	json_t			*body;
	char			 err[WSFILE_ERR_MAX];

	if (sysinfo_collect(&host, err, sizeof(err)) == -1) {
		topic_refuse(a, "%s", err);
		return;
	}
	if ((body = sysinfo_json(&host, ts->workspace)) != NULL &&
	    json_object_set_new(body, "site", json_string(ts->site)) == -1) {
		json_decref(body);
		body = NULL;
	}
	topic_ok(a, body);
}

/* topic_show - a peer's text, printable ASCII and short, for the log */
static void
topic_show(const char *s, size_t len, char *out, size_t size)
{
	size_t	 i;

	for (i = 0; i < len && i + 1 < size; i++)
		out[i] = (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] >= 0x7f ? '?' : s[i];
	out[i] = '\0';
	if (i < len && size > 4)
		memcpy(out + size - 4, "...", 4);
}

static void
topic_sys_shell(const struct topic_site *ts, const json_t *req,
    struct topic_answer *a)
{
	struct wsfile_out	 out;
	const json_t		*cmd = json_object_get(req, "cmd");
	char			 err[WSFILE_ERR_MAX], shown[TOPIC_SHOWN_MAX];

	if (!json_is_string(cmd)) {
		topic_refuse(a, "sys.shell wants {\"cmd\": a command line}");
		return;
	}
	topic_show(json_string_value(cmd), json_string_length(cmd), shown,
	    sizeof(shown));
	snprintf(a->note, sizeof(a->note), "\"%s\"", shown);
	if (ts->no_shell) {
		topic_refuse(a, "this site does not accept remote shell "
		    "commands");
		return;
	}
	if (wsfile_run_line(ts->workspace, json_string_value(cmd),
	    json_string_length(cmd), &out, err, sizeof(err)) == -1) {
		topic_refuse(a, "%s", err);
		return;
	}
	topic_ok(a, json_pack("{s:s%}", "output", out.text == NULL ? "" :
	    out.text, out.len));
	wsfile_out_free(&out);
}

/* topic_mmar_name - an MMAR's name as the server checks it */
static int
topic_mmar_name(const char *name)
{
	size_t	 len = strlen(name);

	return len > 0 && len <= NAME_MAX && name[0] != '.' &&
	    strstr(name, "..") == NULL && strspn(name, "ABCDEFGHIJKLMNOPQRSTU"
	    "VWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

/* topic_install - archive into mmar/.staging-X, validated, then NAME */
static int
topic_install(const struct topic_site *ts, const char *name,
    const void *archive, size_t len, char *err, size_t errlen)
{
	struct stat	 st;
	unsigned char	 r[8];
	char		 dir[PATH_MAX], staging[PATH_MAX], dest[PATH_MAX];
	int		 byoc;

	if (getrandom(r, sizeof(r), 0) != sizeof(r) ||
	    snprintf(dir, sizeof(dir), "%s/mmar", ts->workspace) >=
	    (int)sizeof(dir) ||
	    snprintf(dest, sizeof(dest), "%s/%s", dir, name) >=
	    (int)sizeof(dest) ||
	    snprintf(staging, sizeof(staging), "%s/.staging-%02x%02x%02x%02x"
	    "%02x%02x%02x%02x", dir, r[0], r[1], r[2], r[3], r[4], r[5], r[6],
	    r[7]) >= (int)sizeof(staging))
		return snprintf(err, errlen, "no staging folder name"), -1;
	if (mkdir(dir, 0750) == -1 && (errno != EEXIST || lstat(dir,
	    &st) == -1 || !S_ISDIR(st.st_mode)))
		return snprintf(err, errlen, "mmar/: %s", errno == EEXIST ?
		    "not a folder" : strerror(errno)), -1;
	if (mmar_unpack(archive, len, staging, NULL, err, errlen) == -1)
		return -1;
	if (mmar_validate(staging, err, errlen, &byoc) == 0) {
		if (lstat(dest, &st) == 0 && mmar_remove(dest) == -1)
			snprintf(err, errlen, "the earlier mmar/%s: %s", name,
			    strerror(errno));
		else if (rename(staging, dest) == 0)
			return 0;
		else
			snprintf(err, errlen, "mmar/%s: %s", name,
			    strerror(errno));
	}
	mmar_remove(staging);
	return -1;
}

static void
topic_deploy(const struct topic_site *ts, const json_t *req,
    struct topic_answer *a)
{
	const json_t	*name = json_object_get(req, "mmar");
	const json_t	*b64 = json_object_get(req, "archive");
	char		 err[MMAR_ERR_MAX];
	void		*archive;
	size_t		 len;
	int		 rc;

	if (!json_is_string(name) || !json_is_string(b64)) {
		topic_refuse(a, "train.deploy wants {\"mmar\": a name, "
		    "\"archive\": base64}");
		return;
	}
	if (!topic_mmar_name(json_string_value(name))) {
		topic_refuse(a, "not an MMAR name: letters, digits, \".\", "
		    "\"_\" and \"-\", not starting with \".\", without "
		    "\"..\"");
		return;
	}
	snprintf(a->note, sizeof(a->note), "MMAR %s",
	    json_string_value(name));
	if ((archive = mmar_unbase64(json_string_value(b64), MMAR_ARCHIVE_MAX,
	    &len, err, sizeof(err))) == NULL) {
		topic_refuse(a, "%s", err);
		return;
	}
	rc = topic_install(ts, json_string_value(name), archive, len, err,
	    sizeof(err));
	free(archive);
	if (rc == -1)
		topic_refuse(a, "MMAR %s refused: %s", json_string_value(name),
		    err);
	else
		topic_ok(a, json_pack("{s:s}", "mmar",
		    json_string_value(name)));
}

/* topic_handler - the answer for name, or NULL */
static topic_fn
topic_handler(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(topic_handlers) / sizeof(topic_handlers[0]);
	    i++)
		if (strcmp(name, topic_handlers[i].name) == 0)
			return topic_handlers[i].answer;
	return NULL;
}

/* topic_unknown - the refusal of a topic without an answer */
static void
topic_unknown(const char *name, struct topic_answer *a)
{
	size_t	 i;

	for (i = 0; i < sizeof(topic_unhandled) / sizeof(topic_unhandled[0]);
	    i++)
		if (strcmp(name, topic_unhandled[i]) == 0) {
			topic_refuse(a, "this site does not handle %s: it "
			    "trains from its own table and keeps no run "
			    "folders or cross-site results", name);
			return;
		}
	topic_refuse(a, "unknown topic");
}

void
topic_answer(const struct topic_site *ts, const char *topic,
    const void *body, size_t len, struct topic_answer *a)
{
	json_error_t	 error;
	json_t		*req;
	topic_fn	 answer;

	memset(a, 0, sizeof(*a));
	if ((answer = topic_handler(topic)) == NULL) {
		topic_unknown(topic, a);
		return;
	}
	if (len > (answer == topic_deploy ? TOPIC_DEPLOY_MAX :
	    TOPIC_BODY_MAX)) {
		topic_refuse(a, "the request's body is over %d bytes",
		    answer == topic_deploy ? TOPIC_DEPLOY_MAX : TOPIC_BODY_MAX);
		return;
	}
	req = len == 0 ? json_object() : json_loadb(body, len,
	    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &error);
	if (!json_is_object(req))
		topic_refuse(a, "the request's body is not a JSON object");
	else
		answer(ts, req, a);
	json_decref(req);
}
