/*
 * test_mmar - uploaded MMAR archives, built here with libarchive's
 * writer. Each evil archive (a "../" entry, an absolute name, a symbolic
 * link, a hard link, a device, a file over the cap, a compression bomb,
 * too many entries, a bad name, a name twice) is refused with its
 * reason, and the folder that holds the staging folder is left exactly
 * as it was: empty. Good MMARs, as tar.gz and as zip, unpack and
 * validate; a configuration with a wrong type is refused naming the key;
 * layouts that are not an MMAR's are refused.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "mmar.h"

#define ARCHIVE_CAP	(16 * 1024 * 1024)

enum { TAR, TAR_GZ, ZIP };

struct t {
	char		 parent[64];	/* staging, nothing else */
	char		 staging[96];
	struct archive	*w;
	char		*buf;
	size_t		 used;
	char		 err[MMAR_ERR_MAX];
	int		 byoc;
};

static const char good_server[] =
	"{\"min_num_clients\": 2, \"num_rounds\": 3,\n"
	" \"ckpt_preload_path\": \"../models/initial.npz\",\n"
	" \"aggregator\": {\"name\": \"ModelAggregator\", \"args\": {}}}\n";
static const char good_client[] =
	"{\"format_version\": 1, \"client\": {\"local_epochs\": 5,\n"
	" \"steps_aggregation\": 0, \"exclude_vars\": \"dummy\"}}\n";
static const char good_train[] =
	"{\"epochs\": 10, \"learning_rate\": 0.0002, \"amp\": true,\n"
	" \"train\": {\"loss\": {\"name\": \"DiceLoss\"},\n"
	"  \"pre_transforms\": [{\"name\": \"LoadImaged\", \"args\": {}}]}}\n";
static const char good_env[] =
	"{\"DATA_ROOT\": \"/data\", \"PROCESSING_TASK\": \"segmentation\"}\n";

static int
setup(void **state)
{
	struct t	*t;

	assert_non_null(t = calloc(1, sizeof(*t)));
	snprintf(t->parent, sizeof(t->parent), "/tmp/test_mmar.XXXXXX");
	assert_non_null(mkdtemp(t->parent));
	snprintf(t->staging, sizeof(t->staging), "%s/staging", t->parent);
	assert_non_null(t->buf = malloc(ARCHIVE_CAP));
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct t	*t = *state;
	char		 cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->parent);
	assert_int_equal(system(cmd), 0);
	if (t->w != NULL)
		archive_write_free(t->w);
	free(t->buf);
	free(t);
	return 0;
}

/* begin - a new archive in memory */
static void
begin(struct t *t, int kind)
{
	assert_non_null(t->w = archive_write_new());
	if (kind == ZIP)
		assert_int_equal(archive_write_set_format_zip(t->w),
		    ARCHIVE_OK);
	else
		assert_int_equal(archive_write_set_format_pax_restricted(t->w),
		    ARCHIVE_OK);
	if (kind == TAR_GZ)
		assert_int_equal(archive_write_add_filter_gzip(t->w),
		    ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(t->w, t->buf, ARCHIVE_CAP,
	    &t->used), ARCHIVE_OK);
}

static void
finish(struct t *t)
{
	assert_int_equal(archive_write_close(t->w), ARCHIVE_OK);
	archive_write_free(t->w);
	t->w = NULL;
}

static struct archive_entry *
entry(const char *name, int type, int64_t size)
{
	struct archive_entry	*e;

	assert_non_null(e = archive_entry_new());
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, (unsigned int)type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, size);
	return e;
}

static void
put(struct t *t, struct archive_entry *e)
{
	assert_int_equal(archive_write_header(t->w, e), ARCHIVE_OK);
	archive_entry_free(e);
}

static void
add_file(struct t *t, const char *name, const char *text)
{
	size_t	 len = strlen(text);

	put(t, entry(name, AE_IFREG, (int64_t)len));
	assert_int_equal(archive_write_data(t->w, text, len), (ssize_t)len);
}

static void
add_zeros(struct t *t, const char *name, size_t n)
{
	static const char	 zeros[65536];
	size_t			 chunk;

	put(t, entry(name, AE_IFREG, (int64_t)n));
	for (; n > 0; n -= chunk) {
		chunk = n < sizeof(zeros) ? n : sizeof(zeros);
		assert_int_equal(archive_write_data(t->w, zeros, chunk),
		    (ssize_t)chunk);
	}
}

static void
add_dir(struct t *t, const char *name)
{
	put(t, entry(name, AE_IFDIR, 0));
}

/* good_mmar - an MMAR with every configuration, as a site would send */
static void
good_mmar(struct t *t, int kind)
{
	begin(t, kind);
	add_dir(t, "config/");
	add_file(t, "config/config_fed_server.json", good_server);
	add_file(t, "config/config_fed_client.json", good_client);
	add_file(t, "config/config_train.json", good_train);
	add_file(t, "config/environment.json", good_env);
	add_file(t, "models/initial.npz", "PK\x03\x04 not checked here");
	add_file(t, "docs/README.md", "# a model\n");
	add_file(t, "commands/train.sh", "#!/bin/sh\n");
}

static int
unpack(struct t *t, const struct mmar_limits *lim)
{
	t->err[0] = '\0';
	return mmar_unpack(t->buf, t->used, t->staging, lim, t->err,
	    sizeof(t->err));
}

static int
validate(struct t *t)
{
	t->err[0] = '\0';
	return mmar_validate(t->staging, t->err, sizeof(t->err), &t->byoc);
}

/* parent_is_empty - the staging folder is gone, nothing else appeared */
static void
parent_is_empty(struct t *t)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	assert_non_null(d = opendir(t->parent));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	assert_int_equal(n, 0);
}

/* refused - the archive is refused for why, leaving nothing behind */
static void
refused(struct t *t, const struct mmar_limits *lim, const char *why)
{
	assert_int_equal(unpack(t, lim), -1);
	assert_string_equal(t->err, why);
	parent_is_empty(t);
}

static void
test_dotdot_entry_is_refused(void **state)
{
	struct t	*t = *state;

	begin(t, TAR);
	add_dir(t, "config/");
	add_file(t, "config/../../evil.txt", "outside\n");
	finish(t);
	refused(t, NULL, "archive entry config/../../evil.txt: '..' is not "
	    "allowed");
}

static void
test_absolute_entry_is_refused(void **state)
{
	struct t	*t = *state;
	char		 name[128], why[256];

	snprintf(name, sizeof(name), "%s/evil.txt", t->parent);
	begin(t, TAR);
	add_file(t, name, "outside\n");
	finish(t);
	snprintf(why, sizeof(why), "archive entry %s: an absolute name",
	    name);
	refused(t, NULL, why);
}

static void
test_symlink_entry_is_refused(void **state)
{
	struct t		*t = *state;
	struct archive_entry	*e;

	begin(t, TAR);
	add_dir(t, "models/");
	e = entry("models/link", AE_IFLNK, 0);
	archive_entry_set_symlink(e, t->parent);
	put(t, e);
	add_file(t, "models/link/evil.txt", "through the link\n");
	finish(t);
	refused(t, NULL, "archive entry models/link: a symbolic link");
}

static void
test_hard_link_entry_is_refused(void **state)
{
	struct t		*t = *state;
	struct archive_entry	*e;

	begin(t, TAR);
	add_file(t, "docs/a.txt", "a\n");
	e = entry("docs/b.txt", AE_IFREG, 0);
	archive_entry_set_hardlink(e, "docs/a.txt");
	put(t, e);
	finish(t);
	refused(t, NULL, "archive entry docs/b.txt: a hard link");
}

static void
test_device_entry_is_refused(void **state)
{
	struct t		*t = *state;
	struct archive_entry	*e;

	begin(t, TAR);
	e = entry("docs/null", AE_IFCHR, 0);
	archive_entry_set_rdevmajor(e, 1);
	archive_entry_set_rdevminor(e, 3);
	put(t, e);
	finish(t);
	refused(t, NULL, "archive entry docs/null: a device or special file");
	begin(t, TAR);
	put(t, entry("docs/fifo", AE_IFIFO, 0));
	finish(t);
	refused(t, NULL, "archive entry docs/fifo: a device or special file");
}

static void
test_file_over_the_cap_is_refused(void **state)
{
	struct t		*t = *state;
	struct mmar_limits	 lim = mmar_limits_default;

	lim.ml_file_bytes = 1 << 20;
	begin(t, TAR);
	add_zeros(t, "models/big.npz", (1 << 20) + 1);
	finish(t);
	refused(t, &lim, "archive entry models/big.npz: larger than 1048576 "
	    "bytes");
}

static void
test_compression_bomb_is_refused_while_it_expands(void **state)
{
	struct t	*t = *state;
	uint64_t	 out = 0;
	size_t		 in = 0;
	const char	*p;

	/* 100 MB of zeros, about 100 KB once compressed. */
	begin(t, TAR_GZ);
	add_zeros(t, "models/zeros.npz", 100 * 1000 * 1000);
	finish(t);
	assert_true(t->used < 1000 * 1000);
	assert_int_equal(unpack(t, NULL), -1);
	assert_non_null(p = strstr(t->err, "archive entry models/zeros.npz: "));
	assert_int_equal(sscanf(p, "archive entry models/zeros.npz: %" SCNu64
	    " bytes unpacked from %zu", &out, &in), 2);
	assert_int_equal(in, t->used);
	/* Stopped at the first block past the ratio, long before the end. */
	assert_true(out <= 100 * (uint64_t)t->used + 65536);
	assert_non_null(strstr(t->err, "more than 100 times as many (a "
	    "compression bomb?)"));
	parent_is_empty(t);
}

static void
test_too_many_entries_are_refused(void **state)
{
	struct t		*t = *state;
	struct mmar_limits	 lim = mmar_limits_default;
	char			 name[32];
	int			 i;

	lim.ml_entries = 10;
	begin(t, ZIP);
	for (i = 0; i < 11; i++) {
		snprintf(name, sizeof(name), "docs/note%d.txt", i);
		add_file(t, name, "x\n");
	}
	finish(t);
	refused(t, &lim, "the archive holds more than 10 files and folders");
}

static void
test_bad_names_are_refused(void **state)
{
	struct t	*t = *state;

	begin(t, TAR);
	add_file(t, "docs/read me.txt", "x\n");
	finish(t);
	refused(t, NULL, "archive entry docs/read me.txt: only letters, "
	    "digits and . _ - / are allowed in names");
	begin(t, TAR);
	add_file(t, "docs//a.txt", "x\n");
	finish(t);
	refused(t, NULL, "archive entry docs//a.txt: an empty part in its "
	    "name");
	begin(t, ZIP);
	add_file(t, "docs/./a.txt", "x\n");
	finish(t);
	refused(t, NULL, "archive entry docs/./a.txt: '.' in its name");
}

static void
test_name_twice_is_refused(void **state)
{
	struct t	*t = *state;

	begin(t, TAR);
	add_file(t, "docs/a.txt", "first\n");
	add_file(t, "docs/a.txt", "second\n");
	finish(t);
	refused(t, NULL, "archive entry docs/a.txt: its name comes twice, or "
	    "a file and a folder share it");
	begin(t, TAR);
	add_file(t, "docs", "a file\n");
	add_file(t, "docs/a.txt", "under it\n");
	finish(t);
	refused(t, NULL, "archive entry docs/a.txt: its name comes twice, or "
	    "a file and a folder share it");
}

static void
test_garbage_is_not_an_archive(void **state)
{
	struct t	*t = *state;

	memcpy(t->buf, "this is not an archive at all, just some words\n", 47);
	t->used = 47;
	assert_int_equal(unpack(t, NULL), -1);
	assert_non_null(strstr(t->err, "not a tar or zip archive"));
	parent_is_empty(t);
}

static void
test_existing_staging_folder_is_left_alone(void **state)
{
	struct t	*t = *state;
	char		 keep[128];
	struct stat	 st;

	assert_int_equal(mkdir(t->staging, 0700), 0);
	snprintf(keep, sizeof(keep), "%s/keep", t->staging);
	assert_int_equal(mkdir(keep, 0700), 0);
	good_mmar(t, TAR_GZ);
	finish(t);
	assert_int_equal(unpack(t, NULL), -1);
	assert_non_null(strstr(t->err, "File exists"));
	assert_int_equal(stat(keep, &st), 0);
}

static void
test_good_mmar_as_tar_gz_unpacks_and_validates(void **state)
{
	struct t	*t = *state;
	char		 path[160];
	struct stat	 st;

	good_mmar(t, TAR_GZ);
	finish(t);
	assert_int_equal(unpack(t, NULL), 0);
	snprintf(path, sizeof(path), "%s/config/config_train.json",
	    t->staging);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, (off_t)strlen(good_train));
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(validate(t), 0);
	assert_int_equal(t->byoc, 0);
	assert_int_equal(mmar_remove(t->staging), 0);
	parent_is_empty(t);
}

static void
test_good_mmar_as_zip_with_custom_code_is_byoc(void **state)
{
	struct t	*t = *state;

	good_mmar(t, ZIP);
	add_file(t, "./custom/my_loss.py", "class MyLoss: pass\n");
	finish(t);
	assert_int_equal(unpack(t, NULL), 0);
	assert_int_equal(validate(t), 0);
	assert_int_equal(t->byoc, 1);
}

static void
test_component_by_path_is_byoc(void **state)
{
	struct t	*t = *state;

	begin(t, TAR);
	add_file(t, "config/config_fed_client.json", good_client);
	add_file(t, "config/config_train.json", "{\"train\": {\"loss\": "
	    "{\"path\": \"my_loss.MyLoss\"}}}");
	finish(t);
	assert_int_equal(unpack(t, NULL), 0);
	assert_int_equal(validate(t), 0);
	assert_int_equal(t->byoc, 1);
}

/* invalid - a good MMAR with one file replaced: refused for why */
static void
invalid(struct t *t, const char *name, const char *text, const char *why)
{
	char	 cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->staging);
	assert_int_equal(system(cmd), 0);
	begin(t, TAR);
	add_file(t, "config/config_fed_server.json", strcmp(name,
	    "config/config_fed_server.json") == 0 ? text : good_server);
	add_file(t, "config/config_fed_client.json", good_client);
	add_file(t, "config/config_train.json", strcmp(name,
	    "config/config_train.json") == 0 ? text : good_train);
	add_file(t, "models/initial.npz", "x");
	if (strcmp(name, "config/config_fed_server.json") != 0 &&
	    strcmp(name, "config/config_train.json") != 0)
		add_file(t, name, text);
	finish(t);
	assert_int_equal(unpack(t, NULL), 0);
	assert_int_equal(validate(t), -1);
	assert_string_equal(t->err, why);
}

static void
test_wrong_types_are_refused_naming_the_key(void **state)
{
	struct t	*t = *state;

	invalid(t, "config/config_train.json", "{\"epochs\": \"10\"}",
	    "config/config_train.json: epochs must be a whole number of 1 or "
	    "more");
	invalid(t, "config/config_train.json", "{\"learning_rate\": 0}",
	    "config/config_train.json: learning_rate must be a number above "
	    "0");
	invalid(t, "config/config_train.json", "{\"train\": "
	    "{\"pre_transforms\": [{\"name\": \"A\"}, \"B\"]}}",
	    "config/config_train.json: train.pre_transforms[1] must be a "
	    "component (an object whose name and path are strings and args "
	    "an object)");
	invalid(t, "config/config_train.json", "[1, 2]",
	    "config/config_train.json must be a JSON object");
	invalid(t, "config/environment.json", "{\"DATA_ROOT\": [\"/data\"]}",
	    "config/environment.json: DATA_ROOT must be a string, a number or "
	    "true or false");
	invalid(t, "config/config_validation.json", "{\"amp\": 1}",
	    "config/config_validation.json: amp must be true or false");
	invalid(t, "config/extra.json", "{\"a\": ",
	    "config/extra.json is not JSON: line 1: unexpected token near end "
	    "of file");
}

static void
test_server_configuration_goes_through_its_loader(void **state)
{
	struct t	*t = *state;

	invalid(t, "config/config_fed_server.json", "{\"min_num_clients\": "
	    "\"two\", \"ckpt_preload_path\": \"../models/initial.npz\"}",
	    "config/config_fed_server.json: min_num_clients: expected an "
	    "integer >= 1");
	invalid(t, "config/config_fed_server.json", "{\"min_num_clients\": 0, "
	    "\"ckpt_preload_path\": \"../models/initial.npz\"}",
	    "config/config_fed_server.json: min_num_clients: expected an "
	    "integer >= 1");
	invalid(t, "config/config_fed_server.json", "{\"ckpt_preload_path\": "
	    "\"/etc/passwd\"}", "config/config_fed_server.json: "
	    "ckpt_preload_path: /etc/passwd is not a file of the MMAR");
	invalid(t, "config/config_fed_server.json", "{\"ckpt_preload_path\": "
	    "\"../models/missing.npz\"}", "config/config_fed_server.json: "
	    "ckpt_preload_path: models/missing.npz is not a file of the MMAR");
}

static void
test_layouts_that_are_not_an_mmar_are_refused(void **state)
{
	struct t	*t = *state;
	char		 link[160];

	invalid(t, "extra/notes.txt", "x", "extra: an MMAR holds only "
	    "config/, commands/, resources/, docs/, models/ and custom/");

	assert_int_equal(mmar_remove(t->staging), 0);
	begin(t, TAR);
	add_file(t, "models/initial.npz", "x");
	finish(t);
	assert_int_equal(unpack(t, NULL), 0);
	assert_int_equal(validate(t), -1);
	assert_string_equal(t->err, "no config/ folder: an MMAR needs one");

	assert_int_equal(mmar_remove(t->staging), 0);
	begin(t, TAR);
	add_file(t, "config/config_fed_client.json", good_client);
	finish(t);
	assert_int_equal(unpack(t, NULL), 0);
	assert_int_equal(validate(t), -1);
	assert_string_equal(t->err, "config/ has config_fed_client.json but "
	    "no config_train.json for the sites to train with");

	/* A link made after the upload, before a deploy. */
	snprintf(link, sizeof(link), "%s/config/config_train.json",
	    t->staging);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	assert_int_equal(validate(t), -1);
	assert_string_equal(t->err, "config/config_train.json is a symbolic "
	    "link");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_dotdot_entry_is_refused),
		T(test_absolute_entry_is_refused),
		T(test_symlink_entry_is_refused),
		T(test_hard_link_entry_is_refused),
		T(test_device_entry_is_refused),
		T(test_file_over_the_cap_is_refused),
		T(test_compression_bomb_is_refused_while_it_expands),
		T(test_too_many_entries_are_refused),
		T(test_bad_names_are_refused),
		T(test_name_twice_is_refused),
		T(test_garbage_is_not_an_archive),
		T(test_existing_staging_folder_is_left_alone),
		T(test_good_mmar_as_tar_gz_unpacks_and_validates),
		T(test_good_mmar_as_zip_with_custom_code_is_byoc),
		T(test_component_by_path_is_byoc),
		T(test_wrong_types_are_refused_naming_the_key),
		T(test_server_configuration_goes_through_its_loader),
		T(test_layouts_that_are_not_an_mmar_are_refused),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
