/*
 * test_control - the operator requests admind sends aggd (control.c and
 * deploy.c), each with its exact JSON reply or its status and message:
 * status, start, abort, run numbers, deleting a run, removing a site,
 * resolving a token, deploying a configuration, the validation results.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "aggd_fixture.h"

static void
test_status_of_an_idle_server(void **state)
{
	struct fixture	*f = fixture_new("");

	assert_int_equal(fixture_control(f, FLIPC__KIND__SERVER_STATUS, "{}"),
	    FL_OK);
	assert_string_equal(f->reply, "{\"run\":1,\"round\":0,\"state\":"
	    "\"idle\",\"num_rounds\":2,\"round_sites\":[],\"sites\":[],"
	    "\"server_type\":\"federated\"}");
	fixture_free(f);
}

static void
test_status_without_payload_is_the_same(void **state)
{
	struct fixture	*f = fixture_new("");

	assert_int_equal(fixture_control(f, FLIPC__KIND__SERVER_STATUS, ""),
	    FL_OK);
	assert_non_null(strstr(f->reply, "\"state\":\"idle\""));
	fixture_free(f);
}

static void
test_request_with_unknown_key_is_refused(void **state)
{
	struct fixture	*f = fixture_new("");

	assert_int_equal(fixture_control(f, FLIPC__KIND__START_TRAINING,
	    "{\"now\": true}"), FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "expected {}");
	assert_int_equal(f->ag.round.state, ROUND_IDLE);
	fixture_free(f);
}

static void
test_request_that_is_not_json_is_refused(void **state)
{
	struct fixture	*f = fixture_new("");

	assert_int_equal(fixture_control(f, FLIPC__KIND__SET_RUN_NUMBER,
	    "[2]"), FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "the request is not a JSON object");
	assert_int_equal(fixture_control(f, FLIPC__KIND__SET_RUN_NUMBER,
	    "{\"run\": 2"), FL_INVALID_ARGUMENT);
	assert_int_equal(f->ag.round.run, 1);
	fixture_free(f);
}

static void
test_start_training_then_again(void **state)
{
	struct fixture	*f = fixture_new("");

	assert_int_equal(fixture_control(f, FLIPC__KIND__START_TRAINING, "{}"),
	    FL_OK);
	assert_string_equal(f->reply, "{\"run\":1,\"round\":0}");
	assert_int_equal(f->ag.round.state, ROUND_TRAINING);
	assert_int_equal(fixture_control(f, FLIPC__KIND__START_TRAINING, "{}"),
	    FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "training is already running: round 0");
	fixture_free(f);
}

static void
test_start_after_training_finished_is_refused(void **state)
{
	struct fixture	*f = fixture_new("");

	f->ag.round.number = 2;
	f->ag.round.state = ROUND_FINISHED;
	assert_int_equal(fixture_control(f, FLIPC__KIND__START_TRAINING, "{}"),
	    FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "training of run 1 has finished: set a "
	    "new run number to start again");
	fixture_free(f);
}

static void
test_abort_when_not_running_is_refused(void **state)
{
	struct fixture	*f = fixture_new("");

	assert_int_equal(fixture_control(f, FLIPC__KIND__ABORT_TRAINING, "{}"),
	    FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "training is not running");
	fixture_free(f);
}

static void
test_abort_drops_the_open_round(void **state)
{
	struct fixture	*f = fixture_new("");
	struct site	*a = fixture_register(f, "site-a", 0);

	fixture_register(f, "site-b", 0);
	fixture_control(f, FLIPC__KIND__START_TRAINING, "{}");
	assert_int_equal(fixture_fetch(f, a), FL_OK);
	fixture_update(f, a, 5, 5, CONTRIB_DELTA_W, 1, 1);

	assert_int_equal(fixture_control(f, FLIPC__KIND__ABORT_TRAINING, "{}"),
	    FL_OK);
	assert_string_equal(f->reply, "{\"run\":1,\"round\":0}");
	assert_int_equal(fixture_fetch(f, a), FL_RESOURCE_EXHAUSTED);
	assert_string_equal(f->msg, "No token: training is not running");
	assert_true(fixture_global(f, 0) == 1.0);
	assert_false(fixture_exists(f, "state/aggd.json"));
	fixture_control(f, FLIPC__KIND__SERVER_STATUS, "{}");
	assert_non_null(strstr(f->reply, "\"note\":\"training was aborted by "
	    "an admin in round 0\""));

	/* The round is redone from the start: a fetches it again. */
	assert_int_equal(fixture_control(f, FLIPC__KIND__START_TRAINING, "{}"),
	    FL_OK);
	assert_int_equal(fixture_fetch(f, a), FL_OK);
	fixture_free(f);
}

static void
test_abort_is_not_undone_by_autostart(void **state)
{
	struct fixture	*f = fixture_new("");

	f->ag.round.autostart = 1;
	fixture_register(f, "site-a", 0);
	fixture_register(f, "site-b", 0);
	round_tick(&f->ag.round, 1);
	assert_int_equal(f->ag.round.state, ROUND_TRAINING);
	fixture_control(f, FLIPC__KIND__ABORT_TRAINING, "{}");
	round_tick(&f->ag.round, 2);
	assert_int_equal(f->ag.round.state, ROUND_IDLE);
	fixture_free(f);
}

static void
test_set_run_number_starts_a_run_folder(void **state)
{
	struct fixture	*f = fixture_new("");
	char		*text;

	assert_int_equal(fixture_control(f, FLIPC__KIND__SET_RUN_NUMBER,
	    "{\"run\": 2}"), FL_OK);
	assert_string_equal(f->reply, "{\"run\":2}");
	assert_int_equal(f->ag.round.run, 2);
	assert_true(fixture_exists(f, "run_2/models/initial_model.npz"));
	assert_non_null(text = fixture_read(f, "state/aggd.json"));
	assert_string_equal(text, "{\n  \"global_model\": "
	    "\"run_2/models/initial_model.npz\",\n  \"round\": 0,\n  "
	    "\"run\": 2\n}\n");
	free(text);
	fixture_free(f);
}

static void
test_set_run_number_to_the_current_run_changes_nothing(void **state)
{
	struct fixture	*f = fixture_new("");

	assert_int_equal(fixture_control(f, FLIPC__KIND__SET_RUN_NUMBER,
	    "{\"run\": 1}"), FL_OK);
	assert_string_equal(f->reply, "{\"run\":1}");
	assert_false(fixture_exists(f, "run_1"));
	fixture_free(f);
}

static void
test_set_run_number_refusals(void **state)
{
	struct fixture	*f = fixture_new("");

	assert_int_equal(fixture_control(f, FLIPC__KIND__SET_RUN_NUMBER,
	    "{\"run\": 0}"), FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "run number 0: must be 1 or more");
	assert_int_equal(fixture_control(f, FLIPC__KIND__SET_RUN_NUMBER,
	    "{\"run\": \"2\"}"), FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "expected {\"run\": N}");
	assert_int_equal(fixture_control(f, FLIPC__KIND__SET_RUN_NUMBER,
	    "{\"run\": 2, \"force\": true}"), FL_INVALID_ARGUMENT);

	fixture_write(f, "run_3", "");
	assert_int_equal(fixture_control(f, FLIPC__KIND__SET_RUN_NUMBER,
	    "{\"run\": 3}"), FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "run 3 exists: delete it first or choose "
	    "another number");

	fixture_control(f, FLIPC__KIND__START_TRAINING, "{}");
	assert_int_equal(fixture_control(f, FLIPC__KIND__SET_RUN_NUMBER,
	    "{\"run\": 2}"), FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "cannot change the run number while "
	    "training (run 1, round 0)");
	assert_int_equal(f->ag.round.run, 1);
	fixture_free(f);
}

static void
test_new_run_after_finishing_trains_from_the_last_model(void **state)
{
	struct fixture	*f = fixture_new("");
	struct site	*a = fixture_register(f, "site-a", 0);
	struct site	*b = fixture_register(f, "site-b", 0);
	int		 i;

	fixture_control(f, FLIPC__KIND__START_TRAINING, "{}");
	for (i = 0; i < 2; i++) {
		fixture_fetch(f, a);
		fixture_fetch(f, b);
		fixture_update(f, a, 1, 1, CONTRIB_DELTA_W, 1, i);
		fixture_update(f, b, 1, 1, CONTRIB_DELTA_W, 1, i);
	}
	assert_int_equal(f->ag.round.state, ROUND_FINISHED);
	assert_int_equal(fixture_control(f, FLIPC__KIND__SET_RUN_NUMBER,
	    "{\"run\": 2}"), FL_OK);
	assert_int_equal(fixture_control(f, FLIPC__KIND__START_TRAINING, "{}"),
	    FL_OK);
	assert_string_equal(f->reply, "{\"run\":2,\"round\":0}");
	assert_true(fixture_global(f, 0) == 3.0);
	assert_true(fixture_exists(f, "run_1/provenance/round_1.json"));
	fixture_free(f);
}

static void
test_delete_run_refusals(void **state)
{
	struct fixture	*f = fixture_new("");

	assert_int_equal(fixture_control(f, FLIPC__KIND__DELETE_RUN,
	    "{\"run\": 1}"), FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "run 1 is the current run");
	assert_int_equal(fixture_control(f, FLIPC__KIND__DELETE_RUN,
	    "{\"run\": 5}"), FL_NOT_FOUND);
	assert_string_equal(f->msg, "run 5 does not exist");
	fixture_control(f, FLIPC__KIND__START_TRAINING, "{}");
	assert_int_equal(fixture_control(f, FLIPC__KIND__DELETE_RUN,
	    "{\"run\": 5}"), FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "cannot delete a run while training "
	    "(run 1, round 0)");
	fixture_free(f);
}

static void
test_delete_run_removes_links_not_their_targets(void **state)
{
	struct fixture	*f = fixture_new("");
	char		 outside[64], target[PATH_MAX], link[PATH_MAX];

	snprintf(outside, sizeof(outside), "/tmp/test_outside.XXXXXX");
	assert_non_null(mkdtemp(outside));
	snprintf(target, sizeof(target), "%s/keep.txt", outside);
	fclose(fopen(target, "w"));

	assert_int_equal(mkdir(strcat(strcpy(link, f->workspace),
	    "/run_4"), 0700), 0);
	assert_int_equal(mkdir(strcat(link, "/models"), 0700), 0);
	fixture_write(f, "run_4/models/round_0.npz", "x");
	snprintf(link, sizeof(link), "%s/run_4/outside", f->workspace);
	assert_int_equal(symlink(outside, link), 0);
	snprintf(link, sizeof(link), "%s/run_4/models/file", f->workspace);
	assert_int_equal(symlink(target, link), 0);

	assert_int_equal(fixture_control(f, FLIPC__KIND__DELETE_RUN,
	    "{\"run\": 4}"), FL_OK);
	assert_string_equal(f->reply, "{\"run\":4}");
	assert_false(fixture_exists(f, "run_4"));
	assert_int_equal(access(target, F_OK), 0);
	unlink(target);
	rmdir(outside);
	fixture_free(f);
}

static void
test_remove_client(void **state)
{
	struct fixture	*f = fixture_new("");
	struct site	*a = fixture_register(f, "site-a", 0);
	char		 token[TOKEN_HEX_LEN + 1];

	memcpy(token, a->token, sizeof(token));
	assert_int_equal(fixture_control(f, FLIPC__KIND__REMOVE_CLIENT,
	    "{\"site\": \"site-x\"}"), FL_NOT_FOUND);
	assert_string_equal(f->msg, "site-x is not a site of project test");
	assert_int_equal(fixture_control(f, FLIPC__KIND__REMOVE_CLIENT,
	    "{\"site\": \"site-b\"}"), FL_NOT_FOUND);
	assert_string_equal(f->msg, "site-b is not registered");

	assert_int_equal(fixture_control(f, FLIPC__KIND__REMOVE_CLIENT,
	    "{\"site\": \"site-a\"}"), FL_OK);
	assert_string_equal(f->reply, "{\"site\":\"site-a\"}");
	assert_false(a->registered);
	assert_int_equal(registry_authenticate(&f->ag.reg, a, token, 1,
	    f->msg, sizeof(f->msg)), FL_UNAUTHENTICATED);
	fixture_free(f);
}

static void
test_resolve_token(void **state)
{
	struct fixture	*f = fixture_new("");
	struct site	*a = fixture_register(f, "site-a", 0);
	struct site	*b = fixture_register(f, "site-b", 0);
	char		 json[160];

	snprintf(json, sizeof(json), "{\"token\": \"%s\", \"site\": "
	    "\"site-a\"}", a->token);
	assert_int_equal(fixture_control(f, FLIPC__KIND__RESOLVE_TOKEN, json),
	    FL_OK);
	assert_string_equal(f->reply, "{\"site\":\"site-a\"}");
	assert_true(a->last_contact > 0);

	snprintf(json, sizeof(json), "{\"token\": \"%s\", \"site\": "
	    "\"site-a\"}", b->token);
	assert_int_equal(fixture_control(f, FLIPC__KIND__RESOLVE_TOKEN, json),
	    FL_UNAUTHENTICATED);
	assert_string_equal(f->msg, "unknown or expired token for site-a: "
	    "register again");
	assert_int_equal(fixture_control(f, FLIPC__KIND__RESOLVE_TOKEN,
	    "{\"token\": \"zz\", \"site\": \"site-a\"}"), FL_UNAUTHENTICATED);
	assert_int_equal(fixture_control(f, FLIPC__KIND__RESOLVE_TOKEN,
	    "{\"token\": \"00\", \"site\": \"nobody\"}"), FL_UNAUTHENTICATED);
	assert_string_equal(f->msg, "nobody is not a site of project test");
	fixture_free(f);
}

static void
test_deploy_config(void **state)
{
	struct fixture	*f = fixture_new("");
	char		 err[NPZ_ERR_MAX], path[PATH_MAX], *text;
	struct model	 m;

	fixture_model(&m, 7, 8);
	snprintf(path, sizeof(path), "%s/m2.npz", f->workspace);
	assert_int_equal(npz_save(path, &m, err), 0);
	model_free(&m);
	fixture_write(f, "deployed.json", "{\"ckpt_preload_path\": "
	    "\"m2.npz\", \"start_round\": 3, \"num_rounds\": 5, "
	    "\"server_type\": \"round_robin\"}");

	assert_int_equal(fixture_control(f, FLIPC__KIND__DEPLOY_CONFIG,
	    "{\"config\": \"deployed.json\"}"), FL_OK);
	assert_string_equal(f->reply, "{\"run\":1}");
	assert_int_equal(f->ag.round.number, 3);
	assert_int_equal(f->ag.cfg.num_rounds, 5);
	assert_int_equal(f->ag.cfg.server_type, SERVER_ROUND_ROBIN);
	assert_true(fixture_global(f, 0) == 7.0);
	assert_non_null(text = fixture_read(f, "state/aggd.json"));
	assert_non_null(strstr(text, "deployed.json\""));
	assert_non_null(strstr(text, "\"round\": 3"));
	free(text);
	assert_int_equal(model_store_deployed(f->workspace, path,
	    sizeof(path)), 1);
	assert_non_null(strstr(path, "/deployed.json"));
	fixture_free(f);
}

static void
test_deploy_config_refusals(void **state)
{
	struct fixture	*f = fixture_new("");

	assert_int_equal(fixture_control(f, FLIPC__KIND__DEPLOY_CONFIG,
	    "{\"config\": \"/etc/hostname\"}"), FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "config: /etc/hostname is not inside the "
	    "workspace");
	assert_int_equal(fixture_control(f, FLIPC__KIND__DEPLOY_CONFIG,
	    "{\"config\": \"../../etc/hostname\"}"), FL_INVALID_ARGUMENT);
	assert_int_equal(fixture_control(f, FLIPC__KIND__DEPLOY_CONFIG,
	    "{\"config\": \"none.json\"}"), FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "config: none.json: No such file or "
	    "directory");

	fixture_write(f, "bad.json", "{\"ckpt_preload_path\": \"m.npz\", "
	    "\"min_num_clients\": \"two\"}");
	assert_int_equal(fixture_control(f, FLIPC__KIND__DEPLOY_CONFIG,
	    "{\"config\": \"bad.json\"}"), FL_INVALID_ARGUMENT);
	assert_string_equal(f->msg, "bad.json: min_num_clients: expected an "
	    "integer >= 1");
	fixture_write(f, "nomodel.json", "{\"ckpt_preload_path\": "
	    "\"config.json\"}");
	assert_int_equal(fixture_control(f, FLIPC__KIND__DEPLOY_CONFIG,
	    "{\"config\": \"nomodel.json\"}"), FL_INVALID_ARGUMENT);
	assert_non_null(strstr(f->msg, "ckpt_preload_path: "));
	assert_int_equal(f->ag.cfg.num_rounds, 2);

	fixture_control(f, FLIPC__KIND__START_TRAINING, "{}");
	assert_int_equal(fixture_control(f, FLIPC__KIND__DEPLOY_CONFIG,
	    "{\"config\": \"config.json\"}"), FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "cannot deploy a configuration while "
	    "training (run 1, round 0)");
	fixture_free(f);
}

static void
test_deploy_into_a_trained_run_is_refused(void **state)
{
	struct fixture	*f = fixture_new("");
	struct site	*a = fixture_register(f, "site-a", 0);
	struct site	*b = fixture_register(f, "site-b", 0);

	fixture_control(f, FLIPC__KIND__START_TRAINING, "{}");
	fixture_fetch(f, a);
	fixture_fetch(f, b);
	fixture_update(f, a, 1, 1, CONTRIB_DELTA_W, 1, 1);
	fixture_update(f, b, 1, 1, CONTRIB_DELTA_W, 1, 1);
	fixture_control(f, FLIPC__KIND__ABORT_TRAINING, "{}");
	assert_int_equal(fixture_control(f, FLIPC__KIND__DEPLOY_CONFIG,
	    "{\"config\": \"config.json\"}"), FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "run 1 has saved rounds: set a new run "
	    "number before deploying");
	fixture_free(f);
}

static void
test_validation_results_of_a_run_without_any(void **state)
{
	struct fixture	*f = fixture_new("");

	assert_int_equal(fixture_control(f, FLIPC__KIND__VALIDATION_RESULTS,
	    "{}"), FL_OK);
	assert_string_equal(f->reply, "{}");
	fixture_free(f);
}

static void
test_not_an_operator_request(void **state)
{
	struct fixture	*f = fixture_new("");

	assert_int_equal(fixture_control(f, FLIPC__KIND__GET_MODEL, "{}"),
	    FL_UNIMPLEMENTED);
	assert_string_equal(f->msg, "kind 3 is not an operator request");
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_of_an_idle_server),
		cmocka_unit_test(test_status_without_payload_is_the_same),
		cmocka_unit_test(test_request_with_unknown_key_is_refused),
		cmocka_unit_test(test_request_that_is_not_json_is_refused),
		cmocka_unit_test(test_start_training_then_again),
		cmocka_unit_test(test_start_after_training_finished_is_refused),
		cmocka_unit_test(test_abort_when_not_running_is_refused),
		cmocka_unit_test(test_abort_drops_the_open_round),
		cmocka_unit_test(test_abort_is_not_undone_by_autostart),
		cmocka_unit_test(test_set_run_number_starts_a_run_folder),
		cmocka_unit_test(
		    test_set_run_number_to_the_current_run_changes_nothing),
		cmocka_unit_test(test_set_run_number_refusals),
		cmocka_unit_test(
		    test_new_run_after_finishing_trains_from_the_last_model),
		cmocka_unit_test(test_delete_run_refusals),
		cmocka_unit_test(
		    test_delete_run_removes_links_not_their_targets),
		cmocka_unit_test(test_remove_client),
		cmocka_unit_test(test_resolve_token),
		cmocka_unit_test(test_deploy_config),
		cmocka_unit_test(test_deploy_config_refusals),
		cmocka_unit_test(test_deploy_into_a_trained_run_is_refused),
		cmocka_unit_test(test_validation_results_of_a_run_without_any),
		cmocka_unit_test(test_not_an_operator_request),
	};

	return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
