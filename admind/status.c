/*
 * status - admind's view of the server: the run, the round and its
 * state, the live sites and whose update is in, as aggd reports them.
 *
 * aggd sends notices (a site registered, made contact, was removed or
 * quit; a round changed) and answers SERVER_STATUS with the whole view.
 * Each payload is parsed completely before anything is changed, so a
 * malformed one changes nothing. The view decides nothing: aggd is the
 * authority on sites and rounds; this is what the operator reads, in
 * WORKSPACE/state/status.json.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "admind.h"
#include "atomicfile.h"
#include "log.h"

/* 9999-12-31T23:59:59Z: later times are not times aggd could send. */
#define STATUS_TIME_MAX		253402300799LL
#define STATUS_REASON_MAX	128

static const char *const status_state_names[] = {
	[STATUS_IDLE] = "idle",
	[STATUS_TRAINING] = "training",
	[STATUS_FINISHED] = "finished"
};

enum status_event {
	STATUS_REGISTERED,
	STATUS_CONTACT,
	STATUS_REMOVED,
	STATUS_QUIT
};

static const char *const status_event_names[] = {
	[STATUS_REGISTERED] = "registered",
	[STATUS_CONTACT] = "contact",
	[STATUS_REMOVED] = "removed",
	[STATUS_QUIT] = "quit"
};

/* A parsed NOTICE_SITE. */
struct status_change {
	enum status_event	 sc_event;
	struct status_site	 sc_site;
	char			 sc_reason[STATUS_REASON_MAX];
};

/* A parsed NOTICE_ROUND, or a SERVER_STATUS reply when sites is set. */
struct status_round {
	int64_t			 sr_run;
	int64_t			 sr_round;
	int64_t			 sr_num_rounds;
	enum status_state	 sr_state;
	struct status_name	*sr_round_sites;
	size_t			 sr_nround_sites;
	struct status_site	*sr_sites;
	size_t			 sr_nsites;
};

void
status_init(struct status *st)
{
	memset(st, 0, sizeof(*st));
	st->state = STATUS_IDLE;
}

void
status_free(struct status *st)
{
	free(st->sites);
	free(st->round_sites);
	status_init(st);
}

/* status_fail - record why a payload is refused */
static int
status_fail(char *why, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(why, STATUS_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* status_name_valid - a site's name: what flprovision lets a CN be */
static int
status_name_valid(const char *name)
{
	size_t	 len = strlen(name);

	if (len == 0 || len > STATUS_NAME_MAX)
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._@-") == len;
}

static int
status_name(json_t *value, const char *key, char out[STATUS_NAME_MAX + 1],
    char *why)
{
	const char	*name;

	if (!json_is_string(value))
		return status_fail(why, "\"%s\" is not a string", key);
	name = json_string_value(value);
	if (strlen(name) != json_string_length(value) ||
	    !status_name_valid(name))
		return status_fail(why, "\"%s\" is not a site name", key);
	memcpy(out, name, strlen(name) + 1);
	return 0;
}

/* status_iso_time - "YYYY-MM-DDTHH:MM:SS[.fraction]Z" */
static int
status_iso_time(const char *text, time_t *out)
{
	struct tm	 tm;
	const char	*end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*end == '.') {
		end++;
		if (strspn(end, "0123456789") == 0)
			return -1;
		end += strspn(end, "0123456789");
	}
	if (strcmp(end, "Z") != 0)
		return -1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

/* status_time - seconds since the epoch, or an ISO 8601 UTC time */
static int
status_time(json_t *value, const char *key, time_t *out, char *why)
{
	double	 t;

	if (json_is_string(value)) {
		if (status_iso_time(json_string_value(value), out) == -1)
			return status_fail(why, "\"%s\" is not a UTC time",
			    key);
		return 0;
	}
	if (!json_is_number(value))
		return status_fail(why, "\"%s\" is not a time", key);
	t = json_number_value(value);
	if (!isfinite(t) || t < 0 || t > (double)STATUS_TIME_MAX)
		return status_fail(why, "\"%s\" is out of range", key);
	*out = (time_t)floor(t);
	return 0;
}

static int
status_int(json_t *obj, const char *key, int64_t min, int64_t *out,
    char *why)
{
	json_t	*value = json_object_get(obj, key);

	if (value == NULL)
		return status_fail(why, "no \"%s\"", key);
	if (!json_is_integer(value))
		return status_fail(why, "\"%s\" is not an integer", key);
	if (json_integer_value(value) < min)
		return status_fail(why, "\"%s\" is below %lld", key,
		    (long long)min);
	*out = json_integer_value(value);
	return 0;
}

static int
status_lookup(const char *text, const char *const *names, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(text, names[i]) == 0)
			return (int)i;
	return -1;
}

/* status_printable - a copy of text safe to put in a log line */
static void
status_printable(const char *text, char *out, size_t len)
{
	size_t	 i;

	for (i = 0; text[i] != '\0' && i + 1 < len; i++)
		out[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
	out[i] = '\0';
}

/* status_load - the payload as a JSON object */
static json_t *
status_load(const void *text, size_t len, char *why)
{
	json_error_t	 error;
	json_t		*obj;

	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
	if (obj == NULL) {
		status_fail(why, "not JSON: %s", error.text);
		return NULL;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		status_fail(why, "not a JSON object");
		return NULL;
	}
	return obj;
}

static int
status_parse_change(json_t *obj, time_t now, struct status_change *sc,
    char *why)
{
	json_t	*event, *value;
	int	 i;

	memset(sc, 0, sizeof(*sc));
	event = json_object_get(obj, "event");
	if (!json_is_string(event) || (i = status_lookup(
	    json_string_value(event), status_event_names, 4)) == -1)
		return status_fail(why, "\"event\" is not one of registered, "
		    "contact, removed, quit");
	sc->sc_event = i;
	if (status_name(json_object_get(obj, "site"), "site",
	    sc->sc_site.ss_name, why) == -1)
		return -1;
	sc->sc_site.ss_last_contact = now;
	if ((value = json_object_get(obj, "time")) != NULL &&
	    status_time(value, "time", &sc->sc_site.ss_last_contact, why) == -1)
		return -1;
	if ((value = json_object_get(obj, "reason")) != NULL &&
	    !json_is_null(value)) {
		if (!json_is_string(value))
			return status_fail(why, "\"reason\" is not a string");
		status_printable(json_string_value(value), sc->sc_reason,
		    sizeof(sc->sc_reason));
	}
	return 0;
}

/* status_find - the index of name in the sorted sites, or where it goes */
static size_t
status_find(const struct status_site *sites, size_t n, const char *name,
    int *found)
{
	size_t	 lo = 0, hi = n, mid;
	int	 cmp;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((cmp = strcmp(sites[mid].ss_name, name)) == 0) {
			*found = 1;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* status_upsert - add a site or refresh its last contact */
static int
status_upsert(struct status *st, const struct status_site *site)
{
	struct status_site	*grown;
	size_t			 i;
	int			 found;

	i = status_find(st->sites, st->nsites, site->ss_name, &found);
	if (found) {
		if (st->sites[i].ss_last_contact == site->ss_last_contact)
			return 0;
		st->sites[i].ss_last_contact = site->ss_last_contact;
		return 1;
	}
	if (st->nsites >= STATUS_SITES_MAX) {
		log_warnx("not listing site %s: already %d sites",
		    site->ss_name, STATUS_SITES_MAX);
		return -1;
	}
	grown = reallocarray(st->sites, st->nsites + 1, sizeof(*grown));
	if (grown == NULL) {
		log_warn("not listing site %s", site->ss_name);
		return -1;
	}
	st->sites = grown;
	memmove(&st->sites[i + 1], &st->sites[i],
	    (st->nsites - i) * sizeof(*grown));
	st->sites[i] = *site;
	st->nsites++;
	return 1;
}

static int
status_remove(struct status *st, const char *name)
{
	size_t	 i;
	int	 found;

	i = status_find(st->sites, st->nsites, name, &found);
	if (!found)
		return 0;
	memmove(&st->sites[i], &st->sites[i + 1],
	    (st->nsites - i - 1) * sizeof(*st->sites));
	st->nsites--;
	return 1;
}

/* status_changed - note a change made at now; pass on what apply said */
static int
status_changed(struct status *st, int changed, time_t now)
{
	if (changed == 1 || !st->known) {
		st->updated = now;
		st->dirty = 1;
		st->known = 1;
		return 1;
	}
	return changed;
}

static int
status_apply_change(struct status *st, const struct status_change *sc)
{
	const char	*name = sc->sc_site.ss_name;
	int		 rc;

	switch (sc->sc_event) {
	case STATUS_REGISTERED:
		log_info("site %s registered", name);
		return status_upsert(st, &sc->sc_site);
	case STATUS_CONTACT:
		log_debug("site %s made contact", name);
		return status_upsert(st, &sc->sc_site);
	case STATUS_REMOVED:
	case STATUS_QUIT:
		if ((rc = status_remove(st, name)) == 1)
			log_info("site %s %s%s%s", name,
			    sc->sc_event == STATUS_QUIT ? "quit" : "removed",
			    sc->sc_reason[0] != '\0' ? ": " : "",
			    sc->sc_reason);
		return rc;
	}
	return 0;
}

int
status_site_notice(struct status *st, const void *text, size_t len,
    time_t now)
{
	struct status_change	 sc;
	char			 why[STATUS_ERR_MAX];
	json_t			*obj;
	int			 rc;

	if ((obj = status_load(text, len, why)) == NULL)
		goto refused;
	rc = status_parse_change(obj, now, &sc, why);
	json_decref(obj);
	if (rc == -1)
		goto refused;
	if ((rc = status_apply_change(st, &sc)) == -1)
		return -1;
	return status_changed(st, rc, now);

refused:
	log_warnx("refused a site notice from aggd: %s", why);
	return -1;
}

static void
status_round_free(struct status_round *sr)
{
	free(sr->sr_round_sites);
	free(sr->sr_sites);
	memset(sr, 0, sizeof(*sr));
}

static int
status_parse_round_sites(json_t *list, struct status_round *sr, char *why)
{
	size_t	 i, j, n;

	if (!json_is_array(list))
		return status_fail(why, "\"round_sites\" is not a list");
	if ((n = json_array_size(list)) > STATUS_SITES_MAX)
		return status_fail(why, "\"round_sites\" lists %zu sites", n);
	if (n > 0 && (sr->sr_round_sites = calloc(n,
	    sizeof(*sr->sr_round_sites))) == NULL)
		return status_fail(why, "%s", strerror(errno));
	for (i = 0; i < n; i++) {
		if (status_name(json_array_get(list, i), "round_sites",
		    sr->sr_round_sites[i].sn_name, why) == -1)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(sr->sr_round_sites[j].sn_name,
			    sr->sr_round_sites[i].sn_name) == 0)
				return status_fail(why, "\"round_sites\" "
				    "names %s twice",
				    sr->sr_round_sites[i].sn_name);
		sr->sr_nround_sites++;
	}
	return 0;
}

static int
status_parse_round(json_t *obj, struct status_round *sr, char *why)
{
	json_t	*state;
	int	 i;

	if (status_int(obj, "run", 0, &sr->sr_run, why) == -1 ||
	    status_int(obj, "round", 0, &sr->sr_round, why) == -1 ||
	    status_int(obj, "num_rounds", -1, &sr->sr_num_rounds, why) == -1)
		return -1;
	state = json_object_get(obj, "state");
	if (!json_is_string(state) || (i = status_lookup(
	    json_string_value(state), status_state_names, 3)) == -1)
		return status_fail(why, "\"state\" is not one of idle, "
		    "training, finished");
	sr->sr_state = i;
	return status_parse_round_sites(json_object_get(obj, "round_sites"),
	    sr, why);
}

/* status_parse_sites - SERVER_STATUS's [{"name", "last_contact"}] */
static int
status_parse_sites(json_t *list, struct status_round *sr, char *why)
{
	struct status_site	 site;
	json_t			*item;
	size_t			 i, n, at;
	int			 found;

	if (!json_is_array(list))
		return status_fail(why, "\"sites\" is not a list");
	if ((n = json_array_size(list)) > STATUS_SITES_MAX)
		return status_fail(why, "\"sites\" lists %zu sites", n);
	if (n > 0 && (sr->sr_sites = calloc(n, sizeof(*sr->sr_sites))) == NULL)
		return status_fail(why, "%s", strerror(errno));
	for (i = 0; i < n; i++) {
		item = json_array_get(list, i);
		if (!json_is_object(item))
			return status_fail(why, "\"sites\" holds a non-object");
		if (status_name(json_object_get(item, "name"), "name",
		    site.ss_name, why) == -1 ||
		    status_time(json_object_get(item, "last_contact"),
		    "last_contact", &site.ss_last_contact, why) == -1)
			return -1;
		at = status_find(sr->sr_sites, sr->sr_nsites, site.ss_name,
		    &found);
		if (found)
			return status_fail(why, "\"sites\" names %s twice",
			    site.ss_name);
		memmove(&sr->sr_sites[at + 1], &sr->sr_sites[at],
		    (sr->sr_nsites - at) * sizeof(site));
		sr->sr_sites[at] = site;
		sr->sr_nsites++;
	}
	return 0;
}

static int
status_same_round_sites(const struct status *st, const struct status_round *sr)
{
	size_t	 i;

	if (st->nround_sites != sr->sr_nround_sites)
		return 0;
	for (i = 0; i < st->nround_sites; i++)
		if (strcmp(st->round_sites[i].sn_name,
		    sr->sr_round_sites[i].sn_name) != 0)
			return 0;
	return 1;
}

static int
status_same_sites(const struct status *st, const struct status_round *sr)
{
	size_t	 i;

	if (st->nsites != sr->sr_nsites)
		return 0;
	for (i = 0; i < st->nsites; i++)
		if (strcmp(st->sites[i].ss_name,
		    sr->sr_sites[i].ss_name) != 0 ||
		    st->sites[i].ss_last_contact !=
		    sr->sr_sites[i].ss_last_contact)
			return 0;
	return 1;
}

/* status_apply_round - take over sr's round part; sr gives up its list */
static int
status_apply_round(struct status *st, struct status_round *sr)
{
	int	 changed;

	changed = st->run != sr->sr_run || st->round != sr->sr_round ||
	    st->num_rounds != sr->sr_num_rounds ||
	    st->state != sr->sr_state || !status_same_round_sites(st, sr);
	if (changed && (st->run != sr->sr_run || st->round != sr->sr_round ||
	    st->state != sr->sr_state))
		log_debug("run %lld, round %lld: %s", (long long)sr->sr_run,
		    (long long)sr->sr_round, status_state_names[sr->sr_state]);
	st->run = sr->sr_run;
	st->round = sr->sr_round;
	st->num_rounds = sr->sr_num_rounds;
	st->state = sr->sr_state;
	free(st->round_sites);
	st->round_sites = sr->sr_round_sites;
	st->nround_sites = sr->sr_nround_sites;
	sr->sr_round_sites = NULL;
	sr->sr_nround_sites = 0;
	return changed;
}

/* status_apply_sites - take over sr's sites; sr gives up its list */
static int
status_apply_sites(struct status *st, struct status_round *sr)
{
	int	 changed;

	changed = !status_same_sites(st, sr);
	free(st->sites);
	st->sites = sr->sr_sites;
	st->nsites = sr->sr_nsites;
	sr->sr_sites = NULL;
	sr->sr_nsites = 0;
	return changed;
}

int
status_round_notice(struct status *st, const void *text, size_t len,
    time_t now)
{
	struct status_round	 sr;
	char			 why[STATUS_ERR_MAX];
	json_t			*obj;
	int			 rc;

	memset(&sr, 0, sizeof(sr));
	if ((obj = status_load(text, len, why)) == NULL)
		goto refused;
	rc = status_parse_round(obj, &sr, why);
	json_decref(obj);
	if (rc == -1)
		goto refused;
	rc = status_apply_round(st, &sr);
	status_round_free(&sr);
	return status_changed(st, rc, now);

refused:
	status_round_free(&sr);
	log_warnx("refused a round notice from aggd: %s", why);
	return -1;
}

int
status_server_status(struct status *st, const void *text, size_t len,
    time_t now)
{
	struct status_round	 sr;
	char			 why[STATUS_ERR_MAX];
	json_t			*obj;
	int			 rc;

	memset(&sr, 0, sizeof(sr));
	if ((obj = status_load(text, len, why)) == NULL)
		goto refused;
	rc = status_parse_round(obj, &sr, why);
	if (rc == 0)
		rc = status_parse_sites(json_object_get(obj, "sites"), &sr,
		    why);
	json_decref(obj);
	if (rc == -1)
		goto refused;
	rc = status_apply_round(st, &sr);
	rc |= status_apply_sites(st, &sr);
	status_round_free(&sr);
	return status_changed(st, rc, now);

refused:
	status_round_free(&sr);
	log_warnx("refused aggd's SERVER_STATUS reply: %s", why);
	return -1;
}

/* status_time_json - a time as ISO 8601 UTC, to the second */
static json_t *
status_time_json(time_t t)
{
	struct tm	 tm;
	char		 text[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(text);
}

static json_t *
status_to_json(const struct status *st)
{
	json_t	*obj, *sites, *round_sites, *site;
	size_t	 i;

	obj = json_object();
	sites = json_array();
	round_sites = json_array();
	if (obj == NULL || sites == NULL || round_sites == NULL)
		goto fail;
	for (i = 0; i < st->nsites; i++) {
		if ((site = json_object()) == NULL ||
		    json_array_append_new(sites, site) == -1)
			goto fail;
		json_object_set_new(site, "name",
		    json_string(st->sites[i].ss_name));
		json_object_set_new(site, "last_contact",
		    status_time_json(st->sites[i].ss_last_contact));
	}
	for (i = 0; i < st->nround_sites; i++)
		json_array_append_new(round_sites,
		    json_string(st->round_sites[i].sn_name));

	json_object_set_new(obj, "run", json_integer(st->run));
	json_object_set_new(obj, "round", json_integer(st->round));
	json_object_set_new(obj, "state",
	    json_string(status_state_names[st->state]));
	json_object_set_new(obj, "num_rounds", json_integer(st->num_rounds));
	json_object_set_new(obj, "sites", sites);
	json_object_set_new(obj, "round_sites", round_sites);
	json_object_set_new(obj, "updated", status_time_json(st->updated));
	return obj;

fail:
	json_decref(obj);
	json_decref(sites);
	json_decref(round_sites);
	return NULL;
}

char *
status_json(const struct status *st)
{
	json_t	*obj;
	char	*text, *line;

	if ((obj = status_to_json(st)) == NULL)
		return NULL;
	text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (text == NULL)
		return NULL;
	if (asprintf(&line, "%s\n", text) == -1)
		line = NULL;
	free(text);
	return line;
}

/*
 * status_write - one admind per workspace writes this file, so a fixed
 * temporary name beside it is enough, and no stale ones pile up.
 */
int
status_write(const struct status *st, const char *path)
{
	char	 tmp[PATH_MAX], *text;
	int	 fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		log_warnx("%s: path too long", path);
		return -1;
	}
	if ((text = status_json(st)) == NULL) {
		log_warnx("%s: cannot render the status", path);
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0640)) == -1) {
		log_warn("%s", tmp);
		free(text);
		return -1;
	}
	if (atomicfile_write_all(fd, text, strlen(text)) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		goto fail;
	}
	free(text);
	(void)atomicfile_sync_dir(path);
	return 0;

fail:
	unlink(tmp);
	free(text);
	errno = saved;
	log_warn("writing %s", path);
	return -1;
}

int
status_has_site(const struct status *st, const char *site)
{
	int	 found;

	status_find(st->sites, st->nsites, site, &found);
	return found;
}

const char *
status_state_name(enum status_state state)
{
	return status_state_names[state];
}
