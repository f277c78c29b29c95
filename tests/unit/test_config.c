/*
 * test_config - the server's JSON configuration files, written into a
 * temporary folder: defaults, Clara's layouts, and each refusal with the
 * key it names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char *const sites[] = { "site-1", "site-2" };

struct fixture {
	char	 dir[64];
	char	 real[PATH_MAX];	/* dir with symbolic links resolved */
	char	 path[128];
};

static int
setup(void **state)
{
	struct fixture	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	strcpy(f->dir, "/tmp/test_config.XXXXXX");
	if (mkdtemp(f->dir) == NULL || realpath(f->dir, f->real) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	static const char	*names[] = { "config_fed_server.json",
	    "fed_server.json", "authorization.json" };
	struct fixture		*f = *state;
	char			 path[128];
	size_t			 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static const char *
write_json(struct fixture *f, const char *name, const char *json)
{
	FILE	*fp;

	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	assert_non_null(fp = fopen(f->path, "w"));
	assert_int_equal(fputs(json, fp) >= 0, 1);
	fclose(fp);
	return f->path;
}

static int
load(struct fixture *f, const char *json, struct train_config *tc,
    char *err)
{
	return train_config_load(write_json(f, "config_fed_server.json",
	    json), sites, 2, tc, err);
}

/* refused - loading json fails with exactly err, or err containing word */
static void
refused(struct fixture *f, const char *json, const char *word)
{
	struct train_config	 tc;
	char			 err[CONFIG_ERR_MAX];

	assert_int_equal(load(f, json, &tc, err), -1);
	if (strstr(err, word) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, word);
	assert_null(tc.ckpt_preload_path);
	assert_null(tc.weights);
}

static void
test_defaults(void **state)
{
	struct fixture		*f = *state;
	struct train_config	 tc;
	char			 err[CONFIG_ERR_MAX], want[PATH_MAX + 32];

	assert_int_equal(load(f, "{\"ckpt_preload_path\": \"init.npz\"}",
	    &tc, err), 0);
	assert_int_equal(tc.min_num_clients, 1);
	assert_int_equal(tc.max_num_clients, 100);
	assert_true(tc.wait_after_min_clients == 10);
	assert_true(tc.heart_beat_timeout == 600);
	assert_int_equal(tc.start_round, 0);
	assert_int_equal(tc.num_rounds, -1);
	assert_null(tc.exclude_vars);
	assert_null(tc.exclude_re);
	assert_string_equal(tc.aggregator, "ModelAggregator");
	assert_int_equal(tc.nweights, 0);
	assert_int_equal(tc.keep_round_models, 0);
	snprintf(want, sizeof(want), "%s/init.npz", f->real);
	assert_string_equal(tc.ckpt_preload_path, want);
	assert_int_equal(train_config_excluded(&tc, "layer1/bias"), 0);
	train_config_free(&tc);
}

static void
test_clara_layout(void **state)
{
	struct fixture		*f = *state;
	struct train_config	 tc;
	char			 err[CONFIG_ERR_MAX];
	int			 named;

	assert_int_equal(load(f, "{\"format_version\": 1,"
	    "\"servers\": [{\"min_num_clients\": 2, \"max_num_clients\": 3,"
	    " \"wait_after_min_clients\": 1.5, \"heart_beat_timeout\": 60,"
	    " \"start_round\": 4, \"num_rounds\": 9,"
	    " \"ckpt_preload_path\": \"/models/initial.npz\","
	    " \"num_server_workers\": 100}],"
	    "\"aggregator\": {\"name\": \"ModelAggregator\", \"args\": {"
	    " \"exclude_vars\": \"dummy\","
	    " \"aggregation_weights\": {\"site-1\": 1.5, \"site-2\": 0}}},"
	    "\"model_saver\": {\"name\": \"NPZModelSaver\","
	    " \"args\": {\"keep_round_models\": true}},"
	    "\"admin_cmd_modules\": [], \"result_processors\": []}",
	    &tc, err), 0);
	assert_int_equal(tc.min_num_clients, 2);
	assert_int_equal(tc.max_num_clients, 3);
	assert_true(tc.wait_after_min_clients == 1.5);
	assert_true(tc.heart_beat_timeout == 60);
	assert_int_equal(tc.start_round, 4);
	assert_int_equal(tc.num_rounds, 9);
	assert_string_equal(tc.ckpt_preload_path, "/models/initial.npz");
	assert_string_equal(tc.exclude_vars, "dummy");
	assert_int_equal(tc.keep_round_models, 1);
	assert_true(train_config_weight(&tc, "site-1", &named) == 1.5);
	assert_int_equal(named, 1);
	assert_true(train_config_weight(&tc, "site-2", &named) == 0);
	assert_int_equal(named, 1);
	train_config_free(&tc);
}

static void
test_weight_of_unnamed_site_is_one(void **state)
{
	struct fixture		*f = *state;
	struct train_config	 tc;
	char			 err[CONFIG_ERR_MAX];
	int			 named = -1;

	assert_int_equal(load(f, "{\"ckpt_preload_path\": \"m.npz\","
	    "\"aggregator\": {\"args\": {\"aggregation_weights\":"
	    " {\"site-1\": 2}}}}", &tc, err), 0);
	assert_true(train_config_weight(&tc, "site-2", &named) == 1.0);
	assert_int_equal(named, 0);
	train_config_free(&tc);
}

static void
test_exclude_vars_is_searched_not_anchored(void **state)
{
	struct fixture		*f = *state;
	struct train_config	 tc;
	char			 err[CONFIG_ERR_MAX];

	assert_int_equal(load(f, "{\"ckpt_preload_path\": \"m.npz\","
	    "\"exclude_vars\": \"bias\"}", &tc, err), 0);
	assert_int_equal(train_config_excluded(&tc, "layer1/bias"), 1);
	assert_int_equal(train_config_excluded(&tc, "bias_add/x"), 1);
	assert_int_equal(train_config_excluded(&tc, "layer1/weight"), 0);
	train_config_free(&tc);

	assert_int_equal(load(f, "{\"ckpt_preload_path\": \"m.npz\","
	    "\"exclude_vars\": \"^bias|conv[0-9]+/w$\"}", &tc, err), 0);
	assert_int_equal(train_config_excluded(&tc, "layer1/bias"), 0);
	assert_int_equal(train_config_excluded(&tc, "bias"), 1);
	assert_int_equal(train_config_excluded(&tc, "net/conv12/w"), 1);
	assert_int_equal(train_config_excluded(&tc, "net/conv12/wx"), 0);
	train_config_free(&tc);
}

static void
test_exclude_vars_in_aggregator_args(void **state)
{
	struct fixture		*f = *state;
	struct train_config	 tc;
	char			 err[CONFIG_ERR_MAX];

	assert_int_equal(load(f, "{\"ckpt_preload_path\": \"m.npz\","
	    "\"aggregator\": {\"args\": {\"exclude_vars\": \"bn\"}}}",
	    &tc, err), 0);
	assert_int_equal(train_config_excluded(&tc, "block/bn/gamma"), 1);
	train_config_free(&tc);
}

static void
test_refuses_bad_weight_type(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\", \"aggregator\":"
	    " {\"args\": {\"aggregation_weights\": {\"site-1\": \"high\"}}}}",
	    "config_fed_server.json: aggregation_weights: \"site-1\": "
	    "expected a number >= 0");
}

static void
test_refuses_negative_weight(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\", \"aggregator\":"
	    " {\"args\": {\"aggregation_weights\": {\"site-2\": -0.5}}}}",
	    "\"site-2\": expected a number >= 0");
}

static void
test_refuses_weight_for_unknown_site(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\", \"aggregator\":"
	    " {\"args\": {\"aggregation_weights\": {\"site-9\": 1}}}}",
	    "\"site-9\" is not a site of the project");
}

static void
test_refuses_bad_regex(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\","
	    " \"exclude_vars\": \"layer(1\"}",
	    "exclude_vars: bad regular expression");
}

static void
test_refuses_two_different_exclude_vars(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\","
	    " \"exclude_vars\": \"a\","
	    " \"aggregator\": {\"args\": {\"exclude_vars\": \"b\"}}}",
	    "exclude_vars: differs");
}

static void
test_refuses_wrong_type_for_min_num_clients(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\","
	    " \"min_num_clients\": \"2\"}",
	    "config_fed_server.json: min_num_clients: expected an integer "
	    ">= 1");
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\","
	    " \"servers\": [{\"min_num_clients\": 0}]}",
	    "min_num_clients: expected an integer >= 1");
}

static void
test_refuses_max_below_min(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\","
	    " \"min_num_clients\": 3, \"max_num_clients\": 2}",
	    "max_num_clients: expected an integer >= min_num_clients (3)");
}

static void
test_refuses_num_rounds_not_integer(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\","
	    " \"num_rounds\": 2.5}", "num_rounds: expected an integer");
}

static void
test_refuses_zero_heart_beat_timeout(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\","
	    " \"heart_beat_timeout\": 0}", "heart_beat_timeout: expected a "
	    "number > 0");
}

static void
test_refuses_negative_start_round(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\","
	    " \"start_round\": -1}", "start_round: expected an integer >= 0");
}

static void
test_refuses_missing_ckpt_preload_path(void **state)
{
	refused(*state, "{\"servers\": [{\"min_num_clients\": 1}]}",
	    "ckpt_preload_path: missing");
}

static void
test_refuses_settings_that_disagree(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\","
	    " \"num_rounds\": 5, \"servers\": [{\"num_rounds\": 6}]}",
	    "num_rounds: given at the top level and in servers[0]");
}

static void
test_refuses_keep_round_models_not_bool(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\", \"model_saver\":"
	    " {\"args\": {\"keep_round_models\": \"yes\"}}}",
	    "keep_round_models: expected true or false");
}

static void
test_refuses_invalid_json(void **state)
{
	refused(*state, "{\"ckpt_preload_path\": \"m.npz\",}", "line 1");
	refused(*state, "{\"num_rounds\": 1, \"num_rounds\": 2}",
	    "duplicate");
	refused(*state, "[1, 2]", "not a JSON object");
}

static void
test_unknown_keys_are_ignored(void **state)
{
	struct fixture		*f = *state;
	struct train_config	 tc;
	char			 err[CONFIG_ERR_MAX];

	assert_int_equal(load(f, "{\"ckpt_preload_path\": \"m.npz\","
	    " \"pre_processors\": [], \"servers\": [{\"colour\": 1}]}",
	    &tc, err), 0);
	train_config_free(&tc);
}

static void
test_server_config(void **state)
{
	struct fixture		*f = *state;
	struct server_config	 sc;
	char			 err[CONFIG_ERR_MAX], want[PATH_MAX + 32];

	assert_int_equal(server_config_load(write_json(f, "fed_server.json",
	    "{\"servers\": [{\"name\": \"demo\","
	    " \"service\": {\"target\": \"127.0.0.1:8002\", \"options\": ["
	    "  [\"grpc.max_send_message_length\", 1000],"
	    "  [\"grpc.max_receive_message_length\", 2000]]},"
	    " \"ssl_private_key\": \"server.key\","
	    " \"ssl_cert\": \"server.crt\","
	    " \"ssl_root_cert\": \"/etc/flserver/rootCA.pem\","
	    " \"admin_host\": \"admin.example\", \"admin_port\": 9003,"
	    " \"admin_storage\": \"transfer\"}]}"), &sc, err), 0);
	assert_string_equal(sc.name, "demo");
	assert_string_equal(sc.target, "127.0.0.1:8002");
	assert_int_equal(sc.max_send_message, 1000);
	assert_int_equal(sc.max_receive_message, 2000);
	snprintf(want, sizeof(want), "%s/server.key", f->real);
	assert_string_equal(sc.ssl_private_key, want);
	snprintf(want, sizeof(want), "%s/server.crt", f->real);
	assert_string_equal(sc.ssl_cert, want);
	assert_string_equal(sc.ssl_root_cert, "/etc/flserver/rootCA.pem");
	assert_string_equal(sc.admin_host, "admin.example");
	assert_int_equal(sc.admin_port, 9003);
	assert_string_equal(sc.admin_storage, "transfer");
	server_config_free(&sc);
}

static void
test_server_config_defaults(void **state)
{
	struct fixture		*f = *state;
	struct server_config	 sc;
	char			 err[CONFIG_ERR_MAX];

	assert_int_equal(server_config_load(write_json(f, "fed_server.json",
	    "{\"servers\": [{\"name\": \"demo\","
	    " \"service\": {\"target\": \"fl.example:8002\"},"
	    " \"ssl_private_key\": \"k\", \"ssl_cert\": \"c\","
	    " \"ssl_root_cert\": \"r\"}]}"), &sc, err), 0);
	assert_int_equal(sc.max_send_message, 1073741824);
	assert_int_equal(sc.max_receive_message, 1073741824);
	assert_string_equal(sc.admin_host, "fl.example");
	assert_int_equal(sc.admin_port, 8003);
	assert_string_equal(sc.admin_storage, "transfer");
	assert_int_equal(sc.nadmin_cns, 0);
	assert_int_equal(sc.admin_max_transmission, 64 * 1024 * 1024);
	assert_int_equal(sc.admin_idle_timeout, 30);
	server_config_free(&sc);
}

static void
test_server_config_admin_port_limits(void **state)
{
	struct fixture		*f = *state;
	struct server_config	 sc;
	char			 err[CONFIG_ERR_MAX];

	assert_int_equal(server_config_load(write_json(f, "fed_server.json",
	    "{\"servers\": [{\"name\": \"demo\","
	    " \"service\": {\"target\": \"fl.example:8002\"},"
	    " \"ssl_private_key\": \"k\", \"ssl_cert\": \"c\","
	    " \"ssl_root_cert\": \"r\","
	    " \"admin_cns\": [\"a@example.org\", \"b@example.org\"],"
	    " \"admin_max_transmission\": 1048576,"
	    " \"admin_idle_timeout\": 2}]}"), &sc, err), 0);
	assert_int_equal(sc.nadmin_cns, 2);
	assert_string_equal(sc.admin_cns[0], "a@example.org");
	assert_string_equal(sc.admin_cns[1], "b@example.org");
	assert_int_equal(sc.admin_max_transmission, 1048576);
	assert_int_equal(sc.admin_idle_timeout, 2);
	server_config_free(&sc);
}

static void
server_refused(struct fixture *f, const char *json, const char *word)
{
	struct server_config	 sc;
	char			 err[CONFIG_ERR_MAX];

	assert_int_equal(server_config_load(write_json(f, "fed_server.json",
	    json), &sc, err), -1);
	if (strstr(err, word) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err, word);
	assert_null(sc.name);
}

static void
test_server_config_refusals(void **state)
{
	server_refused(*state, "{\"servers\": []}", "servers: expected");
	server_refused(*state, "{\"servers\": [{\"name\": \"d\","
	    " \"service\": {\"target\": \"host\"}}]}", "service.target");
	server_refused(*state, "{\"servers\": [{\"name\": \"d\","
	    " \"service\": {\"target\": \"h:70000\"}}]}", "bad port");
	server_refused(*state, "{\"servers\": [{\"name\": \"d\","
	    " \"service\": {\"target\": \"h:1\"}}]}",
	    "ssl_private_key: expected a non-empty string");
	server_refused(*state, "{\"servers\": [{\"name\": \"d\","
	    " \"service\": {\"target\": \"h:1\", \"options\":"
	    " [[\"grpc.max_send_message_length\", -1]]}}]}",
	    "grpc.max_send_message_length: expected an integer");
	server_refused(*state, "{\"servers\": [{\"name\": \"d\","
	    " \"service\": {\"target\": \"h:1\"}, \"ssl_private_key\": \"k\","
	    " \"ssl_cert\": \"c\", \"ssl_root_cert\": \"r\","
	    " \"admin_port\": 0}]}", "admin_port: expected an integer from 1 "
	    "to 65535");
	server_refused(*state, "{\"servers\": [{\"name\": \"d\","
	    " \"service\": {\"target\": \"h:1\"}, \"ssl_private_key\": \"k\","
	    " \"ssl_cert\": \"c\", \"ssl_root_cert\": \"r\","
	    " \"admin_cns\": []}]}", "admin_cns: expected a list of 1 to");
	server_refused(*state, "{\"servers\": [{\"name\": \"d\","
	    " \"service\": {\"target\": \"h:1\"}, \"ssl_private_key\": \"k\","
	    " \"ssl_cert\": \"c\", \"ssl_root_cert\": \"r\","
	    " \"admin_cns\": [\"a\", 3]}]}",
	    "admin_cns[]: expected a non-empty string");
	server_refused(*state, "{\"servers\": [{\"name\": \"d\","
	    " \"service\": {\"target\": \"h:1\"}, \"ssl_private_key\": \"k\","
	    " \"ssl_cert\": \"c\", \"ssl_root_cert\": \"r\","
	    " \"admin_max_transmission\": 1000}]}",
	    "admin_max_transmission: expected an integer from 1048576 to "
	    "67108864");
	server_refused(*state, "{\"servers\": [{\"name\": \"d\","
	    " \"service\": {\"target\": \"h:1\"}, \"ssl_private_key\": \"k\","
	    " \"ssl_cert\": \"c\", \"ssl_root_cert\": \"r\","
	    " \"admin_idle_timeout\": 0}]}",
	    "admin_idle_timeout: expected an integer from 1 to 3600");
}

static void
test_project_sites(void **state)
{
	struct fixture	*f = *state;
	char		**names, err[CONFIG_ERR_MAX];
	size_t		 n;

	assert_int_equal(project_sites_load(write_json(f, "authorization.json",
	    "{\"version\": \"1.0\", \"sites\": {\"site-1\": \"hospital-a\","
	    " \"server\": \"consortium\", \"site-2\": \"hospital-b\"}}"),
	    &names, &n, err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "site-1");
	assert_string_equal(names[1], "site-2");
	project_sites_free(names, n);

	assert_int_equal(project_sites_load(write_json(f, "authorization.json",
	    "{\"version\": \"1.0\"}"), &names, &n, err), -1);
	assert_non_null(strstr(err, "authorization.json: sites: missing"));
	assert_null(names);
}

#define IN_FOLDER(test) \
	cmocka_unit_test_setup_teardown(test, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		IN_FOLDER(test_defaults),
		IN_FOLDER(test_clara_layout),
		IN_FOLDER(test_weight_of_unnamed_site_is_one),
		IN_FOLDER(test_exclude_vars_is_searched_not_anchored),
		IN_FOLDER(test_exclude_vars_in_aggregator_args),
		IN_FOLDER(test_refuses_bad_weight_type),
		IN_FOLDER(test_refuses_negative_weight),
		IN_FOLDER(test_refuses_weight_for_unknown_site),
		IN_FOLDER(test_refuses_bad_regex),
		IN_FOLDER(test_refuses_two_different_exclude_vars),
		IN_FOLDER(test_refuses_wrong_type_for_min_num_clients),
		IN_FOLDER(test_refuses_max_below_min),
		IN_FOLDER(test_refuses_num_rounds_not_integer),
		IN_FOLDER(test_refuses_zero_heart_beat_timeout),
		IN_FOLDER(test_refuses_negative_start_round),
		IN_FOLDER(test_refuses_missing_ckpt_preload_path),
		IN_FOLDER(test_refuses_settings_that_disagree),
		IN_FOLDER(test_refuses_keep_round_models_not_bool),
		IN_FOLDER(test_refuses_invalid_json),
		IN_FOLDER(test_unknown_keys_are_ignored),
		IN_FOLDER(test_server_config),
		IN_FOLDER(test_server_config_defaults),
		IN_FOLDER(test_server_config_admin_port_limits),
		IN_FOLDER(test_server_config_refusals),
		IN_FOLDER(test_project_sites),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
