/*
 * config - load fed_server.json, config_fed_server.json and the project's
 * site names.
 *
 * Clara's MMARs put the training settings in the first entry of
 * "servers"; this server also takes them at the top level. A setting
 * given in both places, or exclude_vars given again in aggregator.args,
 * must say the same thing. Every error names the file and the key; the
 * caller logs it.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH	8
#include <jansson.h>
#include <pcre2.h>

#include "config.h"
#include "log.h"

#define CONFIG_MESSAGE_DEFAULT	((size_t)1 << 30)	/* Clara's 1 GB */
#define CONFIG_ADMIN_PORT	8003
/* A command with a whole MMAR in it; admind takes no more. */
#define CONFIG_ADMIN_MAX	((long long)64 << 20)
#define CONFIG_ADMIN_MIN	((long long)1 << 20)
#define CONFIG_ADMIN_IDLE	30
#define CONFIG_ADMIN_CNS_MAX	1024
#define CONFIG_AGGREGATOR	"ModelAggregator"

/* Where one file's settings are read from, for error messages. */
struct config_src {
	const char	*file;		/* base name, as errors show it */
	char		*dir;		/* relative paths are resolved here */
	json_t		*root;
	json_t		*server;	/* "servers"[0], or NULL */
	char		*err;
};

static int	config_fail(struct config_src *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
config_fail(struct config_src *src, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	n = snprintf(src->err, CONFIG_ERR_MAX, "%s: ", src->file);
	if (n < 0 || n >= CONFIG_ERR_MAX)
		return -1;
	va_start(ap, fmt);
	vsnprintf(src->err + n, CONFIG_ERR_MAX - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* config_open - parse path into src; the root must be an object */
static int
config_open(struct config_src *src, const char *path, char *err)
{
	json_error_t	 jerr;
	const char	*slash = strrchr(path, '/');

	char		*dir;

	memset(src, 0, sizeof(*src));
	src->err = err;
	src->file = slash != NULL ? slash + 1 : path;
	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return config_fail(src, "out of memory");
	/* Resolved paths stay right whatever the daemon's cwd becomes. */
	src->dir = realpath(dir, NULL);
	free(dir);
	if (src->dir == NULL)
		return config_fail(src, "folder: %s", strerror(errno));

	src->root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (src->root == NULL) {
		if (jerr.line <= 0)
			return config_fail(src, "%s", jerr.text);
		return config_fail(src, "line %d: %s", jerr.line, jerr.text);
	}
	if (!json_is_object(src->root))
		return config_fail(src, "not a JSON object");
	return 0;
}

static void
config_close(struct config_src *src)
{
	json_decref(src->root);
	free(src->dir);
	src->root = NULL;
	src->dir = NULL;
}

/* config_path - value resolved against the file's folder */
static char *
config_path(struct config_src *src, const char *value)
{
	char	*path;

	if (value[0] == '/')
		path = strdup(value);
	else if (asprintf(&path, "%s/%s", src->dir, value) == -1)
		path = NULL;
	return path;
}

static int
config_string(struct config_src *src, json_t *v, const char *key,
    char **out)
{
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return config_fail(src, "%s: expected a non-empty string", key);
	if ((*out = strdup(json_string_value(v))) == NULL)
		return config_fail(src, "%s: out of memory", key);
	return 0;
}

static int
config_int(struct config_src *src, json_t *v, const char *key,
    long long lo, long long hi, long long *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi) {
		if (lo == LLONG_MIN)
			return config_fail(src, "%s: expected an integer", key);
		/* An int's limit is no limit worth telling a user about. */
		if (hi >= INT_MAX)
			return config_fail(src, "%s: expected an integer "
			    ">= %lld", key, lo);
		return config_fail(src, "%s: expected an integer from %lld "
		    "to %lld", key, lo, hi);
	}
	*out = json_integer_value(v);
	return 0;
}

/* config_seconds - a number of seconds, > 0 or >= 0 */
static int
config_seconds(struct config_src *src, json_t *v, const char *key,
    int zero_ok, double *out)
{
	double	 d;

	d = json_is_number(v) ? json_number_value(v) : NAN;
	if (!isfinite(d) || d < 0 || (d == 0 && !zero_ok))
		return config_fail(src, "%s: expected a number %s 0", key,
		    zero_ok ? ">=" : ">");
	*out = d;
	return 0;
}

/* config_object - v as an object, NULL if absent, -1 if something else */
static int
config_object(struct config_src *src, json_t *parent, const char *key,
    const char *where, json_t **out)
{
	*out = parent != NULL ? json_object_get(parent, key) : NULL;
	if (*out != NULL && !json_is_object(*out))
		return config_fail(src, "%s: expected an object", where);
	return 0;
}

static int
config_known(const char *key, const char *const *known)
{
	for (; *known != NULL; known++)
		if (strcmp(key, *known) == 0)
			return 1;
	return 0;
}

static void
config_warn_unknown(struct config_src *src, json_t *obj, const char *where,
    const char *const *known)
{
	const char	*key;
	json_t		*v;

	json_object_foreach(obj, key, v)
		if (!config_known(key, known))
			log_warnx("%s: unknown key \"%s%s\" ignored", src->file,
			    where, key);
}

/* config_target - "host:port", port in range; IPv6 hosts in brackets */
static int
config_target(struct config_src *src, const char *target)
{
	const char	*colon = strrchr(target, ':');
	char		*end;
	long		 port;

	if (colon == NULL || colon == target)
		return config_fail(src, "service.target: expected "
		    "\"host:port\"");
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    port < 1 || port > 65535)
		return config_fail(src, "service.target: bad port in \"%s\"",
		    target);
	return 0;
}

/* config_grpc_options - [[name, value], ...]; only the sizes matter here */
static int
config_grpc_options(struct config_src *src, json_t *options,
    struct server_config *sc)
{
	json_t		*pair;
	const char	*name;
	long long	 v = 0;
	size_t		 i;

	if (!json_is_array(options))
		return config_fail(src, "service.options: expected a list of "
		    "[name, value] pairs");
	json_array_foreach(options, i, pair) {
		if (!json_is_array(pair) || json_array_size(pair) != 2 ||
		    !json_is_string(json_array_get(pair, 0)))
			return config_fail(src, "service.options[%zu]: "
			    "expected [name, value]", i);
		name = json_string_value(json_array_get(pair, 0));
		if (strcmp(name, "grpc.max_send_message_length") != 0 &&
		    strcmp(name, "grpc.max_receive_message_length") != 0) {
			log_warnx("%s: service.options: \"%s\" ignored",
			    src->file, name);
			continue;
		}
		/* grpc core takes channel arguments as int. */
		if (config_int(src, json_array_get(pair, 1), name, 1, INT_MAX,
		    &v) == -1)
			return -1;
		if (strcmp(name, "grpc.max_send_message_length") == 0)
			sc->max_send_message = (size_t)v;
		else
			sc->max_receive_message = (size_t)v;
	}
	return 0;
}

static int
config_service(struct config_src *src, json_t *server,
    struct server_config *sc)
{
	json_t	*service, *options;

	if (config_object(src, server, "service", "service", &service) == -1)
		return -1;
	if (service == NULL)
		return config_fail(src, "service: missing");
	if (config_string(src, json_object_get(service, "target"),
	    "service.target", &sc->target) == -1 ||
	    config_target(src, sc->target) == -1)
		return -1;
	if ((options = json_object_get(service, "options")) != NULL &&
	    config_grpc_options(src, options, sc) == -1)
		return -1;
	return 0;
}

static int
config_tls_path(struct config_src *src, json_t *server, const char *key,
    char **out)
{
	char	*value;

	if (config_string(src, json_object_get(server, key), key,
	    &value) == -1)
		return -1;
	*out = config_path(src, value);
	free(value);
	if (*out == NULL)
		return config_fail(src, "%s: out of memory", key);
	return 0;
}

/* config_admin - the admin port's address; its host defaults to the
 * training port's host */
static int
config_admin(struct config_src *src, json_t *server,
    struct server_config *sc)
{
	json_t		*v;
	long long	 port = CONFIG_ADMIN_PORT;

	if ((v = json_object_get(server, "admin_host")) != NULL) {
		if (config_string(src, v, "admin_host", &sc->admin_host) == -1)
			return -1;
	} else if ((sc->admin_host = strndup(sc->target,
	    (size_t)(strrchr(sc->target, ':') - sc->target))) == NULL)
		return config_fail(src, "admin_host: out of memory");

	if ((v = json_object_get(server, "admin_port")) != NULL &&
	    config_int(src, v, "admin_port", 1, 65535, &port) == -1)
		return -1;
	sc->admin_port = (int)port;

	/* Relative to the workspace, as in Clara, not to startup/. */
	if ((v = json_object_get(server, "admin_storage")) != NULL)
		return config_string(src, v, "admin_storage",
		    &sc->admin_storage);
	if ((sc->admin_storage = strdup("transfer")) == NULL)
		return config_fail(src, "admin_storage: out of memory");
	return 0;
}

/* config_admin_cns - the admins the admin port accepts, by CN */
static int
config_admin_cns(struct config_src *src, json_t *server,
    struct server_config *sc)
{
	json_t	*list, *v;
	size_t	 i, n;

	if ((list = json_object_get(server, "admin_cns")) == NULL)
		return 0;
	n = json_is_array(list) ? json_array_size(list) : 0;
	if (n == 0 || n > CONFIG_ADMIN_CNS_MAX)
		return config_fail(src, "admin_cns: expected a list of 1 to "
		    "%d admin names", CONFIG_ADMIN_CNS_MAX);
	if ((sc->admin_cns = calloc(n, sizeof(*sc->admin_cns))) == NULL)
		return config_fail(src, "admin_cns: out of memory");
	json_array_foreach(list, i, v) {
		if (config_string(src, v, "admin_cns[]",
		    &sc->admin_cns[i]) == -1)
			return -1;
		sc->nadmin_cns++;
	}
	return 0;
}

/* config_admin_limits - the admin port's size and idle limits */
static int
config_admin_limits(struct config_src *src, json_t *server,
    struct server_config *sc)
{
	json_t		*v;
	long long	 n;

	sc->admin_max_transmission = (size_t)CONFIG_ADMIN_MAX;
	sc->admin_idle_timeout = CONFIG_ADMIN_IDLE;
	if ((v = json_object_get(server, "admin_max_transmission")) != NULL) {
		if (config_int(src, v, "admin_max_transmission",
		    CONFIG_ADMIN_MIN, CONFIG_ADMIN_MAX, &n) == -1)
			return -1;
		sc->admin_max_transmission = (size_t)n;
	}
	if ((v = json_object_get(server, "admin_idle_timeout")) != NULL) {
		if (config_int(src, v, "admin_idle_timeout", 1, 3600,
		    &n) == -1)
			return -1;
		sc->admin_idle_timeout = (int)n;
	}
	return 0;
}

static int
config_server(struct config_src *src, struct server_config *sc)
{
	static const char *const known[] = { "name", "service",
	    "ssl_private_key", "ssl_cert", "ssl_root_cert", "admin_host",
	    "admin_port", "admin_storage", "admin_cns",
	    "admin_max_transmission", "admin_idle_timeout", NULL };
	json_t	*servers, *server;

	servers = json_object_get(src->root, "servers");
	if (!json_is_array(servers) || json_array_size(servers) == 0 ||
	    !json_is_object(server = json_array_get(servers, 0)))
		return config_fail(src, "servers: expected a list with one "
		    "server object");
	if (json_array_size(servers) > 1)
		log_warnx("%s: servers: only the first server is used",
		    src->file);
	config_warn_unknown(src, server, "servers[0].", known);

	if (config_string(src, json_object_get(server, "name"), "name",
	    &sc->name) == -1 ||
	    config_service(src, server, sc) == -1 ||
	    config_tls_path(src, server, "ssl_private_key",
	    &sc->ssl_private_key) == -1 ||
	    config_tls_path(src, server, "ssl_cert", &sc->ssl_cert) == -1 ||
	    config_tls_path(src, server, "ssl_root_cert",
	    &sc->ssl_root_cert) == -1 ||
	    config_admin(src, server, sc) == -1 ||
	    config_admin_cns(src, server, sc) == -1 ||
	    config_admin_limits(src, server, sc) == -1)
		return -1;
	return 0;
}

int
server_config_load(const char *path, struct server_config *sc,
    char err[CONFIG_ERR_MAX])
{
	static const char *const known[] = { "format_version", "servers",
	    NULL };
	struct config_src	 src;
	int			 rc = -1;

	memset(sc, 0, sizeof(*sc));
	sc->max_send_message = CONFIG_MESSAGE_DEFAULT;
	sc->max_receive_message = CONFIG_MESSAGE_DEFAULT;
	if (config_open(&src, path, err) == 0) {
		config_warn_unknown(&src, src.root, "", known);
		rc = config_server(&src, sc);
	}
	config_close(&src);
	if (rc == -1)
		server_config_free(sc);
	return rc;
}

void
server_config_free(struct server_config *sc)
{
	free(sc->name);
	free(sc->target);
	free(sc->ssl_private_key);
	free(sc->ssl_cert);
	free(sc->ssl_root_cert);
	free(sc->admin_host);
	free(sc->admin_storage);
	while (sc->nadmin_cns > 0)
		free(sc->admin_cns[--sc->nadmin_cns]);
	free(sc->admin_cns);
	memset(sc, 0, sizeof(*sc));
}

/*
 * config_setting - a training setting from the top level or from
 * servers[0], where Clara's MMARs have it; both is fine if they agree.
 */
static int
config_setting(struct config_src *src, const char *key, json_t **out)
{
	json_t	*top, *server;

	top = json_object_get(src->root, key);
	server = src->server != NULL ? json_object_get(src->server, key) :
	    NULL;
	if (top != NULL && server != NULL && !json_equal(top, server))
		return config_fail(src, "%s: given at the top level and in "
		    "servers[0] with different values", key);
	*out = top != NULL ? top : server;
	return 0;
}

static int
config_clients(struct config_src *src, struct train_config *tc)
{
	json_t		*v;
	long long	 n;

	if (config_setting(src, "min_num_clients", &v) == -1 ||
	    (v != NULL && config_int(src, v, "min_num_clients", 1, INT_MAX,
	    &n) == -1))
		return -1;
	if (v != NULL)
		tc->min_num_clients = (int)n;
	if (config_setting(src, "max_num_clients", &v) == -1)
		return -1;
	if (v != NULL) {
		if (!json_is_integer(v) ||
		    json_integer_value(v) < tc->min_num_clients ||
		    json_integer_value(v) > INT_MAX)
			return config_fail(src, "max_num_clients: expected an "
			    "integer >= min_num_clients (%d)",
			    tc->min_num_clients);
		tc->max_num_clients = (int)json_integer_value(v);
	} else if (tc->max_num_clients < tc->min_num_clients)
		return config_fail(src, "max_num_clients: the default (%d) is "
		    "below min_num_clients (%d)", tc->max_num_clients,
		    tc->min_num_clients);
	return 0;
}

static int
config_rounds(struct config_src *src, struct train_config *tc)
{
	json_t		*v;
	long long	 n;

	if (config_setting(src, "wait_after_min_clients", &v) == -1 ||
	    (v != NULL && config_seconds(src, v, "wait_after_min_clients", 1,
	    &tc->wait_after_min_clients) == -1))
		return -1;
	if (config_setting(src, "heart_beat_timeout", &v) == -1 ||
	    (v != NULL && config_seconds(src, v, "heart_beat_timeout", 0,
	    &tc->heart_beat_timeout) == -1))
		return -1;
	if (config_setting(src, "start_round", &v) == -1 ||
	    (v != NULL && config_int(src, v, "start_round", 0, LLONG_MAX,
	    &n) == -1))
		return -1;
	if (v != NULL)
		tc->start_round = n;
	if (config_setting(src, "num_rounds", &v) == -1 ||
	    (v != NULL && config_int(src, v, "num_rounds", LLONG_MIN,
	    LLONG_MAX, &n) == -1))
		return -1;
	if (v != NULL)
		tc->num_rounds = n;
	return 0;
}

/*
 * config_exclude_vars - the pattern, from the settings or from
 * aggregator.args; compiled with Unicode semantics like Python's re on
 * str. An empty pattern excludes nothing rather than everything.
 */
static int
config_exclude_vars(struct config_src *src, json_t *args,
    struct train_config *tc)
{
	PCRE2_UCHAR	 why[256];
	PCRE2_SIZE	 off;
	json_t		*v, *w;
	int		 code;

	if (config_setting(src, "exclude_vars", &v) == -1)
		return -1;
	w = args != NULL ? json_object_get(args, "exclude_vars") : NULL;
	if (v != NULL && w != NULL && !json_equal(v, w))
		return config_fail(src, "exclude_vars: differs from "
		    "aggregator.args.exclude_vars");
	if (v == NULL)
		v = w;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return config_fail(src, "exclude_vars: expected a string");
	if (json_string_length(v) == 0)
		return 0;

	if ((tc->exclude_vars = strdup(json_string_value(v))) == NULL)
		return config_fail(src, "exclude_vars: out of memory");
	tc->exclude_re = pcre2_compile((PCRE2_SPTR)tc->exclude_vars,
	    PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code, &off, NULL);
	if (tc->exclude_re == NULL) {
		pcre2_get_error_message(code, why, sizeof(why));
		return config_fail(src, "exclude_vars: bad regular expression "
		    "at offset %zu: %s", (size_t)off, (char *)why);
	}
	return 0;
}

static int
config_is_site(const char *name, char *const *sites, size_t nsites)
{
	size_t	 i;

	for (i = 0; i < nsites; i++)
		if (strcmp(name, sites[i]) == 0)
			return 1;
	return 0;
}

static int
config_weights(struct config_src *src, json_t *args, char *const *sites,
    size_t nsites, struct train_config *tc)
{
	json_t		*map, *v;
	const char	*site;
	double		 w;

	if (config_object(src, args, "aggregation_weights",
	    "aggregator.args.aggregation_weights", &map) == -1)
		return -1;
	if (map == NULL || json_object_size(map) == 0)
		return 0;
	if ((tc->weights = calloc(json_object_size(map),
	    sizeof(*tc->weights))) == NULL)
		return config_fail(src, "aggregation_weights: out of memory");

	json_object_foreach(map, site, v) {
		w = json_is_number(v) ? json_number_value(v) : NAN;
		if (!isfinite(w) || w < 0)
			return config_fail(src, "aggregation_weights: \"%s\": "
			    "expected a number >= 0", site);
		if (sites != NULL && !config_is_site(site, sites, nsites))
			return config_fail(src, "aggregation_weights: \"%s\" "
			    "is not a site of the project", site);
		if ((tc->weights[tc->nweights].site = strdup(site)) == NULL)
			return config_fail(src, "aggregation_weights: out of "
			    "memory");
		tc->weights[tc->nweights++].weight = w;
	}
	return 0;
}

static int
config_aggregator(struct config_src *src, char *const *sites, size_t nsites,
    struct train_config *tc)
{
	static const char *const known[] = { "exclude_vars",
	    "aggregation_weights", NULL };
	json_t	*agg, *args = NULL, *name;

	if (config_object(src, src->root, "aggregator", "aggregator",
	    &agg) == -1 ||
	    config_object(src, agg, "args", "aggregator.args", &args) == -1)
		return -1;
	if (args != NULL)
		config_warn_unknown(src, args, "aggregator.args.", known);

	name = agg != NULL ? json_object_get(agg, "name") : NULL;
	if (name != NULL) {
		if (config_string(src, name, "aggregator.name",
		    &tc->aggregator) == -1)
			return -1;
	} else if ((tc->aggregator = strdup(CONFIG_AGGREGATOR)) == NULL)
		return config_fail(src, "aggregator: out of memory");

	if (config_exclude_vars(src, args, tc) == -1)
		return -1;
	return config_weights(src, args, sites, nsites, tc);
}

static int
config_saver(struct config_src *src, struct train_config *tc)
{
	json_t	*saver, *args, *keep;

	if (config_object(src, src->root, "model_saver", "model_saver",
	    &saver) == -1 ||
	    config_object(src, saver, "args", "model_saver.args", &args) == -1)
		return -1;
	keep = args != NULL ? json_object_get(args, "keep_round_models") :
	    NULL;
	if (keep == NULL)
		return 0;
	if (!json_is_boolean(keep))
		return config_fail(src, "model_saver.args.keep_round_models: "
		    "expected true or false");
	tc->keep_round_models = json_is_true(keep);
	return 0;
}

/* config_preload - the initial global model; training needs one */
static int
config_preload(struct config_src *src, struct train_config *tc)
{
	json_t	*v;
	char	*value;

	if (config_setting(src, "ckpt_preload_path", &v) == -1)
		return -1;
	if (v == NULL)
		return config_fail(src, "ckpt_preload_path: missing (the "
		    "initial global model, an .npz file)");
	if (config_string(src, v, "ckpt_preload_path", &value) == -1)
		return -1;
	tc->ckpt_preload_path = config_path(src, value);
	free(value);
	if (tc->ckpt_preload_path == NULL)
		return config_fail(src, "ckpt_preload_path: out of memory");
	return 0;
}

/* Each server type by its name here and by Clara's class name. */
static const struct {
	const char		*name;
	const char		*clara;
	enum server_type	 type;
} config_server_types[] = {
	{ "federated", "FederatedServer", SERVER_FEDERATED },
	{ "round_robin", "RoundRobinFederatedServer", SERVER_ROUND_ROBIN },
	{ "validation_only", "TestFederatedServer", SERVER_VALIDATION_ONLY },
};

#define CONFIG_NSERVER_TYPES						\
	(sizeof(config_server_types) / sizeof(config_server_types[0]))

/* config_server_type - how rounds run, cross-site validation, the seed
 * of the round-robin order */
static int
config_server_type(struct config_src *src, struct train_config *tc)
{
	json_t		*v;
	const char	*name;
	long long	 seed;
	size_t		 i;

	if (config_setting(src, "server_type", &v) == -1)
		return -1;
	if (v != NULL) {
		name = json_is_string(v) ? json_string_value(v) : "";
		for (i = 0; i < CONFIG_NSERVER_TYPES; i++)
			if (strcmp(name, config_server_types[i].name) == 0 ||
			    strcmp(name, config_server_types[i].clara) == 0)
				break;
		if (i == CONFIG_NSERVER_TYPES)
			return config_fail(src, "server_type: expected "
			    "\"federated\", \"round_robin\" or "
			    "\"validation_only\"");
		tc->server_type = config_server_types[i].type;
	}
	if (config_setting(src, "cross_site_validation", &v) == -1)
		return -1;
	if (v != NULL && !json_is_boolean(v))
		return config_fail(src, "cross_site_validation: expected true "
		    "or false");
	tc->cross_site_validation = json_is_true(v);
	if (config_setting(src, "round_robin_seed", &v) == -1 ||
	    (v != NULL && config_int(src, v, "round_robin_seed", 0,
	    LLONG_MAX, &seed) == -1))
		return -1;
	if (v != NULL) {
		tc->has_round_robin_seed = 1;
		tc->round_robin_seed = (uint64_t)seed;
	}
	return 0;
}

const char *
train_config_server_type(const struct train_config *tc)
{
	size_t	 i;

	for (i = 0; i < CONFIG_NSERVER_TYPES; i++)
		if (config_server_types[i].type == tc->server_type)
			return config_server_types[i].name;
	return "federated";
}

#define CONFIG_TRAIN_KEYS						\
	"min_num_clients", "max_num_clients", "wait_after_min_clients",	\
	"heart_beat_timeout", "start_round", "num_rounds", "exclude_vars", \
	"ckpt_preload_path", "server_type", "round_robin_seed",		\
	"cross_site_validation"

/* config_train_layout - find servers[0]; warn about keys we ignore */
static int
config_train_layout(struct config_src *src)
{
	static const char *const top[] = { CONFIG_TRAIN_KEYS,
	    "format_version", "servers", "aggregator", "model_saver",
	    "admin_cmd_modules", "result_processors", NULL };
	static const char *const server[] = { CONFIG_TRAIN_KEYS, "name",
	    "service", "ssl_private_key", "ssl_cert", "ssl_root_cert",
	    "admin_host", "admin_port", "admin_storage",
	    "num_server_workers", NULL };
	json_t	*servers;

	config_warn_unknown(src, src->root, "", top);
	if ((servers = json_object_get(src->root, "servers")) == NULL)
		return 0;
	if (!json_is_array(servers))
		return config_fail(src, "servers: expected a list");
	if (json_array_size(servers) == 0)
		return 0;
	src->server = json_array_get(servers, 0);
	if (!json_is_object(src->server))
		return config_fail(src, "servers[0]: expected an object");
	config_warn_unknown(src, src->server, "servers[0].", server);
	return 0;
}

int
train_config_load(const char *path, char *const *sites, size_t nsites,
    struct train_config *tc, char err[CONFIG_ERR_MAX])
{
	struct config_src	 src;
	int			 rc = -1;

	memset(tc, 0, sizeof(*tc));
	tc->min_num_clients = 1;
	tc->max_num_clients = 100;
	tc->wait_after_min_clients = 10;
	tc->heart_beat_timeout = 600;
	tc->start_round = 0;
	tc->num_rounds = -1;

	if (config_open(&src, path, err) == 0 &&
	    config_train_layout(&src) == 0 &&
	    config_clients(&src, tc) == 0 &&
	    config_rounds(&src, tc) == 0 &&
	    config_aggregator(&src, sites, nsites, tc) == 0 &&
	    config_saver(&src, tc) == 0 &&
	    config_server_type(&src, tc) == 0 &&
	    config_preload(&src, tc) == 0)
		rc = 0;
	config_close(&src);
	if (rc == -1)
		train_config_free(tc);
	return rc;
}

void
train_config_free(struct train_config *tc)
{
	size_t	 i;

	free(tc->exclude_vars);
	pcre2_code_free(tc->exclude_re);
	free(tc->ckpt_preload_path);
	free(tc->aggregator);
	for (i = 0; i < tc->nweights; i++)
		free(tc->weights[i].site);
	free(tc->weights);
	memset(tc, 0, sizeof(*tc));
}

/*
 * train_config_excluded - a search, like Python's re.search. A name that
 * is not valid UTF-8 makes pcre2_match fail: it is not excluded, and
 * being in no global model it is refused as an unknown tensor anyway.
 */
int
train_config_excluded(const struct train_config *tc, const char *name)
{
	pcre2_match_data	*md;
	int			 rc;

	if (tc->exclude_re == NULL)
		return 0;
	if ((md = pcre2_match_data_create_from_pattern(tc->exclude_re,
	    NULL)) == NULL)
		return 0;
	rc = pcre2_match(tc->exclude_re, (PCRE2_SPTR)name,
	    PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

double
train_config_weight(const struct train_config *tc, const char *site,
    int *named)
{
	size_t	 i;

	for (i = 0; i < tc->nweights; i++)
		if (strcmp(tc->weights[i].site, site) == 0) {
			if (named != NULL)
				*named = 1;
			return tc->weights[i].weight;
		}
	if (named != NULL)
		*named = 0;
	return 1.0;
}

int
project_sites_load(const char *authz_path, char ***sites, size_t *nsites,
    char err[CONFIG_ERR_MAX])
{
	struct config_src	 src;
	json_t			*map, *v;
	const char		*site;
	int			 rc = -1;

	*sites = NULL;
	*nsites = 0;
	if (config_open(&src, authz_path, err) == -1 ||
	    config_object(&src, src.root, "sites", "sites", &map) == -1)
		goto done;
	if (map == NULL) {
		config_fail(&src, "sites: missing");
		goto done;
	}
	if ((*sites = calloc(json_object_size(map) + 1,
	    sizeof(**sites))) == NULL) {
		config_fail(&src, "sites: out of memory");
		goto done;
	}
	json_object_foreach(map, site, v) {
		if (strcmp(site, "server") == 0)
			continue;
		if (*site == '\0' || strlen(site) >= 256) {
			config_fail(&src, "sites: bad site name");
			goto done;
		}
		if (((*sites)[*nsites] = strdup(site)) == NULL) {
			config_fail(&src, "sites: out of memory");
			goto done;
		}
		(*nsites)++;
	}
	rc = 0;
 done:
	config_close(&src);
	if (rc == -1) {
		project_sites_free(*sites, *nsites);
		*sites = NULL;
		*nsites = 0;
	}
	return rc;
}

void
project_sites_free(char **sites, size_t nsites)
{
	size_t	 i;

	if (sites == NULL)
		return;
	for (i = 0; i < nsites; i++)
		free(sites[i]);
	free(sites);
}
