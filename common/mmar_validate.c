/*
 * mmar_validate - an MMAR's layout and its configurations, before an
 * upload is accepted and again before a deploy.
 *
 * The whole tree is walked without following anything: a link or a
 * special file anywhere refuses the MMAR, so that the files checked
 * here are the files a deploy reads. config_fed_server.json goes
 * through the server's own loader (train_config_load), and the model
 * its ckpt_preload_path names must be a file of the MMAR; the other
 * configurations are Clara's, whose code the server does not have, so
 * only the keys whose meaning is known are checked for their types.
 * Unknown keys pass.
 */
#include <sys/stat.h>

#include <dirent.h>
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

#include "config.h"
#include "mmar.h"
#include "rootca.h"

#define MMAR_JSON_MAX		(4 * 1024 * 1024)
#define MMAR_WALK_MAX		100000	/* files and folders */

enum mmar_type {
	MMAR_INT_POSITIVE,
	MMAR_INT_NONNEG,
	MMAR_NUM_POSITIVE,
	MMAR_NUM_NONNEG,
	MMAR_BOOL,
	MMAR_STRING,
	MMAR_OBJECT,
	MMAR_LIST,
	MMAR_COMPONENT,		/* {"name", "path", "args"} */
	MMAR_COMPONENTS,	/* a list of them */
	MMAR_MODEL,		/* one component or a list */
	MMAR_SECTION		/* an object with keys of its own */
};

struct mmar_key {
	const char		*mk_name;
	enum mmar_type		 mk_type;
	const struct mmar_key	*mk_keys;	/* MMAR_SECTION's */
};

static const char *const mmar_type_words[] = {
	[MMAR_INT_POSITIVE] = "a whole number of 1 or more",
	[MMAR_INT_NONNEG] = "a whole number of 0 or more",
	[MMAR_NUM_POSITIVE] = "a number above 0",
	[MMAR_NUM_NONNEG] = "a number of 0 or more",
	[MMAR_BOOL] = "true or false",
	[MMAR_STRING] = "a string",
	[MMAR_OBJECT] = "an object",
	[MMAR_LIST] = "a list",
	[MMAR_COMPONENT] = ("a component (an object whose name and path "
	    "are strings and args an object)"),
	[MMAR_COMPONENTS] = "a list of components",
	[MMAR_MODEL] = "a component or a list of them",
	[MMAR_SECTION] = "an object",
};

/* What train and validate hold in config_train.json, and what the
 * validation configurations hold at their top. */
static const struct mmar_key mmar_section_keys[] = {
	{ "model", MMAR_MODEL, NULL },
	{ "loss", MMAR_COMPONENT, NULL },
	{ "optimizer", MMAR_COMPONENT, NULL },
	{ "lr_scheduler", MMAR_COMPONENT, NULL },
	{ "dataset", MMAR_COMPONENT, NULL },
	{ "dataloader", MMAR_COMPONENT, NULL },
	{ "inferer", MMAR_COMPONENT, NULL },
	{ "trainer", MMAR_COMPONENT, NULL },
	{ "evaluator", MMAR_COMPONENT, NULL },
	{ "pre_transforms", MMAR_COMPONENTS, NULL },
	{ "post_transforms", MMAR_COMPONENTS, NULL },
	{ "handlers", MMAR_COMPONENTS, NULL },
	{ "metrics", MMAR_COMPONENTS, NULL },
	{ NULL, 0, NULL }
};

static const struct mmar_key mmar_train_keys[] = {
	{ "epochs", MMAR_INT_POSITIVE, NULL },
	{ "learning_rate", MMAR_NUM_POSITIVE, NULL },
	{ "multi_gpu", MMAR_BOOL, NULL },
	{ "amp", MMAR_BOOL, NULL },
	{ "cudnn_benchmark", MMAR_BOOL, NULL },
	{ "determinism", MMAR_OBJECT, NULL },
	{ "train", MMAR_SECTION, mmar_section_keys },
	{ "validate", MMAR_SECTION, mmar_section_keys },
	{ NULL, 0, NULL }
};

static const struct mmar_key mmar_validation_keys[] = {
	{ "multi_gpu", MMAR_BOOL, NULL },
	{ "amp", MMAR_BOOL, NULL },
	{ "model", MMAR_MODEL, NULL },
	{ "pre_transforms", MMAR_COMPONENTS, NULL },
	{ "post_transforms", MMAR_COMPONENTS, NULL },
	{ "dataset", MMAR_COMPONENT, NULL },
	{ "dataloader", MMAR_COMPONENT, NULL },
	{ "inferer", MMAR_COMPONENT, NULL },
	{ "handlers", MMAR_COMPONENTS, NULL },
	{ "metrics", MMAR_COMPONENTS, NULL },
	{ "evaluator", MMAR_COMPONENT, NULL },
	{ NULL, 0, NULL }
};

static const struct mmar_key mmar_client_keys[] = {
	{ "local_epochs", MMAR_INT_POSITIVE, NULL },
	{ "steps_aggregation", MMAR_INT_NONNEG, NULL },
	{ "exclude_vars", MMAR_STRING, NULL },
	{ "privacy", MMAR_OBJECT, NULL },
	{ "retry_timer", MMAR_NUM_NONNEG, NULL },
	{ "heart_beat_interval", MMAR_NUM_POSITIVE, NULL },
	{ "multi_gpu", MMAR_BOOL, NULL },
	{ NULL, 0, NULL }
};

static const struct mmar_key mmar_fed_client_keys[] = {
	{ "format_version", MMAR_INT_POSITIVE, NULL },
	{ "servers", MMAR_LIST, NULL },
	{ "client", MMAR_SECTION, mmar_client_keys },
	{ "pre_processors", MMAR_COMPONENTS, NULL },
	{ "post_processors", MMAR_COMPONENTS, NULL },
	{ "handlers", MMAR_COMPONENTS, NULL },
	{ NULL, 0, NULL }
};

/* The configurations an MMAR may hold, and what is checked in each. */
static const struct mmar_config {
	const char		*mf_name;
	const struct mmar_key	*mf_keys;	/* NULL: plain values */
} mmar_configs[] = {
	{ "config_train.json", mmar_train_keys },
	{ "config_validation.json", mmar_validation_keys },
	{ "config_validation_ckpt.json", mmar_validation_keys },
	{ "config_fed_client.json", mmar_fed_client_keys },
	{ "environment.json", NULL },
};

static const char *const mmar_top[] = {
	"config", "commands", "resources", "docs", "models", "custom", NULL
};

struct mmar_check {
	const char	*mc_dir;
	char		*mc_err;
	size_t		 mc_errlen;
	int		*mc_byoc;
	size_t		 mc_seen;	/* files and folders walked */
};

static int	mmar_invalid(struct mmar_check *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
mmar_invalid(struct mmar_check *mc, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(mc->mc_err, mc->mc_errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* mmar_walk - no link, no special file, nothing too deep, below rel */
static int
mmar_walk(struct mmar_check *mc, int fd, const char *rel, int depth)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		 path[PATH_MAX];
	int		 sub, rc = 0, copy;

	if ((copy = dup(fd)) == -1 || (d = fdopendir(copy)) == NULL) {
		if (copy != -1)
			close(copy);
		return mmar_invalid(mc, "%s: %s", rel, strerror(errno));
	}
	/* The copy shares fd's offset, which an earlier reading moved. */
	rewinddir(d);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", rel, rel[0] != '\0' ?
		    "/" : "", de->d_name);
		if (++mc->mc_seen > MMAR_WALK_MAX)
			rc = mmar_invalid(mc, "more than %d files and folders",
			    MMAR_WALK_MAX);
		else if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1)
			rc = mmar_invalid(mc, "%s: %s", path, strerror(errno));
		else if (S_ISLNK(st.st_mode))
			rc = mmar_invalid(mc, "%s is a symbolic link", path);
		else if (S_ISDIR(st.st_mode) && depth >= MMAR_DEPTH_MAX)
			rc = mmar_invalid(mc, "%s: more than %d folders deep",
			    path, MMAR_DEPTH_MAX);
		else if (S_ISDIR(st.st_mode)) {
			if ((sub = openat(fd, de->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
				rc = mmar_invalid(mc, "%s: %s", path,
				    strerror(errno));
			else {
				rc = mmar_walk(mc, sub, path, depth + 1);
				close(sub);
			}
		} else if (!S_ISREG(st.st_mode))
			rc = mmar_invalid(mc, "%s is a device or special file",
			    path);
	}
	closedir(d);
	return rc;
}

/* mmar_layout - only the MMAR's folders at its top, config/ among them */
static int
mmar_layout(struct mmar_check *mc, int fd)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	size_t		 i;
	int		 copy, rc = 0;

	if ((copy = dup(fd)) == -1 || (d = fdopendir(copy)) == NULL) {
		if (copy != -1)
			close(copy);
		return mmar_invalid(mc, "%s: %s", mc->mc_dir, strerror(errno));
	}
	rewinddir(d);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		for (i = 0; mmar_top[i] != NULL; i++)
			if (strcmp(de->d_name, mmar_top[i]) == 0)
				break;
		if (mmar_top[i] == NULL)
			rc = mmar_invalid(mc, "%.80s: an MMAR holds only "
			    "config/, commands/, resources/, docs/, models/ "
			    "and custom/", de->d_name);
		else if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISDIR(st.st_mode))
			rc = mmar_invalid(mc, "%s must be a folder",
			    de->d_name);
	}
	closedir(d);
	if (rc == 0 && (fstatat(fd, "config", &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISDIR(st.st_mode)))
		rc = mmar_invalid(mc, "no config/ folder: an MMAR needs one");
	if (rc == 0 && fstatat(fd, "custom", &st, AT_SYMLINK_NOFOLLOW) == 0)
		*mc->mc_byoc = 1;
	return rc;
}

/* mmar_has - config/name exists */
static int
mmar_has(const struct mmar_check *mc, const char *name)
{
	struct stat	 st;
	char		 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/config/%s", mc->mc_dir, name);
	return lstat(path, &st) == 0;
}

/* mmar_json - config/name parsed, or NULL having said why */
static json_t *
mmar_json(struct mmar_check *mc, const char *name)
{
	json_error_t	 jerr;
	json_t		*doc;
	char		 path[PATH_MAX], why[MMAR_ERR_MAX];
	char		*text;
	size_t		 len;

	snprintf(path, sizeof(path), "%s/config/%s", mc->mc_dir, name);
	if ((text = rootca_read_file(path, MMAR_JSON_MAX, &len, why,
	    sizeof(why))) == NULL) {
		mmar_invalid(mc, "config/%s: %s", name, why);
		return NULL;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (doc == NULL)
		mmar_invalid(mc, "config/%s is not JSON: line %d: %s", name,
		    jerr.line, jerr.text);
	return doc;
}

/* mmar_component - an object; name and path strings, args an object */
static int
mmar_component(struct mmar_check *mc, json_t *v)
{
	json_t	*name = json_object_get(v, "name");
	json_t	*path = json_object_get(v, "path");
	json_t	*args = json_object_get(v, "args");

	if (!json_is_object(v) || (name != NULL && !json_is_string(name)) ||
	    (path != NULL && !json_is_string(path)) ||
	    (args != NULL && !json_is_object(args)))
		return 0;
	/* A component named by its Python path is site code. */
	if (path != NULL)
		*mc->mc_byoc = 1;
	return 1;
}

/* mmar_components - a list of components; the first bad one's index */
static int
mmar_components(struct mmar_check *mc, json_t *v, size_t *bad)
{
	json_t	*item;
	size_t	 i;

	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, item)
		if (!mmar_component(mc, item)) {
			*bad = i;
			return 0;
		}
	return 1;
}

/* mmar_typed - whether v is of type; *bad set for a list's element */
static int
mmar_typed(struct mmar_check *mc, json_t *v, enum mmar_type type,
    size_t *bad)
{
	double	 d = json_number_value(v);

	switch (type) {
	case MMAR_INT_POSITIVE:
		return json_is_integer(v) && json_integer_value(v) >= 1;
	case MMAR_INT_NONNEG:
		return json_is_integer(v) && json_integer_value(v) >= 0;
	case MMAR_NUM_POSITIVE:
		return json_is_number(v) && isfinite(d) && d > 0;
	case MMAR_NUM_NONNEG:
		return json_is_number(v) && isfinite(d) && d >= 0;
	case MMAR_BOOL:
		return json_is_boolean(v);
	case MMAR_STRING:
		return json_is_string(v);
	case MMAR_LIST:
		return json_is_array(v);
	case MMAR_COMPONENT:
		return mmar_component(mc, v);
	case MMAR_COMPONENTS:
		return mmar_components(mc, v, bad);
	case MMAR_MODEL:
		return json_is_array(v) ? mmar_components(mc, v, bad) :
		    mmar_component(mc, v);
	case MMAR_OBJECT:
	case MMAR_SECTION:
		return json_is_object(v);
	}
	return 0;
}

/* mmar_keys - the known keys of obj have their types, sections too */
static int
mmar_keys(struct mmar_check *mc, const char *file, const char *where,
    json_t *obj, const struct mmar_key *keys)
{
	char		 key[128];
	json_t		*v;
	size_t		 bad;

	for (; keys->mk_name != NULL; keys++) {
		if ((v = json_object_get(obj, keys->mk_name)) == NULL)
			continue;
		snprintf(key, sizeof(key), "%s%s", where, keys->mk_name);
		bad = (size_t)-1;
		if (!mmar_typed(mc, v, keys->mk_type, &bad)) {
			if (bad != (size_t)-1)
				return mmar_invalid(mc, "config/%s: %s[%zu] "
				    "must be %s", file, key, bad,
				    mmar_type_words[MMAR_COMPONENT]);
			return mmar_invalid(mc, "config/%s: %s must be %s",
			    file, key, mmar_type_words[keys->mk_type]);
		}
		if (keys->mk_type == MMAR_SECTION) {
			snprintf(key, sizeof(key), "%s%s.", where,
			    keys->mk_name);
			if (mmar_keys(mc, file, key, v, keys->mk_keys) == -1)
				return -1;
		}
	}
	return 0;
}

/* mmar_plain - every value a string, a number or a boolean */
static int
mmar_plain(struct mmar_check *mc, const char *file, json_t *obj)
{
	const char	*key;
	json_t		*v;

	json_object_foreach(obj, key, v)
		if (!json_is_string(v) && !json_is_number(v) &&
		    !json_is_boolean(v))
			return mmar_invalid(mc, "config/%s: %.64s must be a "
			    "string, a number or true or false", file, key);
	return 0;
}

/* mmar_config - one of Clara's configurations, if the MMAR has it */
static int
mmar_config(struct mmar_check *mc, const struct mmar_config *mf)
{
	json_t	*doc;
	int	 rc;

	if (!mmar_has(mc, mf->mf_name))
		return 0;
	if ((doc = mmar_json(mc, mf->mf_name)) == NULL)
		return -1;
	if (!json_is_object(doc))
		rc = mmar_invalid(mc, "config/%s must be a JSON object",
		    mf->mf_name);
	else if (mf->mf_keys == NULL)
		rc = mmar_plain(mc, mf->mf_name, doc);
	else
		rc = mmar_keys(mc, mf->mf_name, "", doc, mf->mf_keys);
	json_decref(doc);
	return rc;
}

/* mmar_normal - path with "." and ".." parts resolved, by text alone */
static void
mmar_normal(const char *in, char out[PATH_MAX])
{
	const char	*p = in, *slash;
	size_t		 len, n = 0;

	out[0] = '\0';
	while (*p != '\0') {
		slash = strchr(p, '/');
		len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
		} else if (len > 0 && !(len == 1 && p[0] == '.') &&
		    n + len + 2 < PATH_MAX) {
			out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		out[n] = '\0';
		p += len + (slash != NULL);
	}
}

/* mmar_model - ckpt_preload_path names a regular file of the MMAR */
static int
mmar_model(struct mmar_check *mc, const char *ckpt)
{
	struct stat	 st;
	char		 root[PATH_MAX], model[PATH_MAX], abs[PATH_MAX];
	size_t		 len;

	if (mc->mc_dir[0] == '/')
		mmar_normal(mc->mc_dir, root);
	else {
		if (getcwd(abs, sizeof(abs)) == NULL ||
		    strlen(abs) + strlen(mc->mc_dir) + 2 > sizeof(abs))
			return mmar_invalid(mc, "%s: path too long",
			    mc->mc_dir);
		strcat(strcat(abs, "/"), mc->mc_dir);
		mmar_normal(abs, root);
	}
	if (ckpt[0] != '/') {
		if (getcwd(abs, sizeof(abs)) == NULL ||
		    strlen(abs) + strlen(ckpt) + 2 > sizeof(abs))
			return mmar_invalid(mc, "%s: path too long", ckpt);
		strcat(strcat(abs, "/"), ckpt);
		ckpt = abs;
	}
	mmar_normal(ckpt, model);
	len = strlen(root);
	if (strncmp(model, root, len) != 0 || model[len] != '/' ||
	    lstat(model, &st) == -1 || !S_ISREG(st.st_mode))
		return mmar_invalid(mc, "config/config_fed_server.json: "
		    "ckpt_preload_path: %.200s is not a file of the MMAR",
		    model[0] != '\0' && strncmp(model, root, len) == 0 &&
		    model[len] == '/' ? model + len + 1 : ckpt);
	return 0;
}

/* mmar_fed_server - the training configuration, as aggd would load it */
static int
mmar_fed_server(struct mmar_check *mc)
{
	struct train_config	 tc;
	json_t			*doc;
	char			 path[PATH_MAX], err[CONFIG_ERR_MAX];
	int			 rc;

	if (!mmar_has(mc, "config_fed_server.json"))
		return 0;
	/* Parsed here first: the loader follows a link, the walk did not. */
	if ((doc = mmar_json(mc, "config_fed_server.json")) == NULL)
		return -1;
	json_decref(doc);
	snprintf(path, sizeof(path), "%s/config/config_fed_server.json",
	    mc->mc_dir);
	if (train_config_load(path, NULL, 0, &tc, err) == -1)
		return mmar_invalid(mc, "config/%s", err);
	rc = mmar_model(mc, tc.ckpt_preload_path);
	train_config_free(&tc);
	return rc;
}

/* mmar_others - every other JSON file of config/ parses */
static int
mmar_others(struct mmar_check *mc, int fd)
{
	struct dirent	*de;
	DIR		*d;
	json_t		*doc;
	size_t		 len;
	int		 sub, rc = 0;

	if ((sub = openat(fd, "config", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || (d = fdopendir(sub)) == NULL) {
		if (sub != -1)
			close(sub);
		return mmar_invalid(mc, "config: %s", strerror(errno));
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 5, ".json") != 0 ||
		    de->d_type == DT_DIR)
			continue;
		if ((doc = mmar_json(mc, de->d_name)) == NULL)
			rc = -1;
		json_decref(doc);
	}
	closedir(d);
	return rc;
}

int
mmar_validate(const char *dir, char *err, size_t errlen, int *byoc)
{
	struct mmar_check	 mc;
	size_t			 i;
	int			 fd, rc = -1;

	memset(&mc, 0, sizeof(mc));
	mc.mc_dir = dir;
	mc.mc_err = err;
	mc.mc_errlen = errlen;
	mc.mc_byoc = byoc;
	*byoc = 0;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return mmar_invalid(&mc, "%s: %s", dir, strerror(errno));
	if (mmar_walk(&mc, fd, "", 0) == -1 || mmar_layout(&mc, fd) == -1 ||
	    mmar_others(&mc, fd) == -1)
		goto done;
	if (!mmar_has(&mc, "config_fed_server.json") &&
	    !mmar_has(&mc, "config_fed_client.json")) {
		mmar_invalid(&mc, "config/ has neither config_fed_server.json "
		    "nor config_fed_client.json");
		goto done;
	}
	if (mmar_has(&mc, "config_fed_client.json") &&
	    !mmar_has(&mc, "config_train.json")) {
		mmar_invalid(&mc, "config/ has config_fed_client.json but no "
		    "config_train.json for the sites to train with");
		goto done;
	}
	for (i = 0; i < sizeof(mmar_configs) / sizeof(*mmar_configs); i++)
		if (mmar_config(&mc, &mmar_configs[i]) == -1)
			goto done;
	rc = mmar_fed_server(&mc);
 done:
	close(fd);
	return rc;
}
