/*
 * test_topic - a site's answers to admin requests, and the control state
 * they share with the training loop: exact reply bodies and "_ok" or
 * "_error" for each topic, abort until start, restart handed out once,
 * -S, bodies that are not JSON objects, unknown topics.
 *
 * The site's sources are compiled into this program directly: unit tests
 * link the common library and the daemons' modules, not the client.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../client/control.c"
#include "../../client/topic.c"

struct fixture {
	char			 ws[64];
	char			 notes[128];
	struct control		 control;
	struct topic_site	 site;
	struct topic_answer	 a;
};

static struct fixture	*fx;

static int
setup(void **state)
{
	FILE	*fp;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	strcpy(fx->ws, "/tmp/test_topic.XXXXXX");
	if (mkdtemp(fx->ws) == NULL)
		return -1;
	snprintf(fx->notes, sizeof(fx->notes), "%s/notes.txt", fx->ws);
	if ((fp = fopen(fx->notes, "w")) == NULL)
		return -1;
	fputs("alpha\nbeta\n", fp);
	fclose(fp);
	control_init(&fx->control);
	fx->site.site = "site-1";
	fx->site.workspace = fx->ws;
	fx->site.control = &fx->control;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	topic_answer_free(&fx->a);
	control_destroy(&fx->control);
	unlink(fx->notes);
	rmdir(fx->ws);
	free(fx);
	return 0;
}

/* ask - answer topic with body; the reply body as compact JSON */
static char *
ask(const char *topic, const char *body)
{
	topic_answer_free(&fx->a);
	topic_answer(&fx->site, topic, body, body == NULL ? 0 : strlen(body),
	    &fx->a);
	assert_non_null(fx->a.body);
	return json_dumps(fx->a.body, JSON_COMPACT | JSON_SORT_KEYS);
}

/* answered - topic with body gets exactly want, "_ok" or "_error" */
static void
answered(const char *topic, const char *body, int ok, const char *want)
{
	char	*got = ask(topic, body);

	assert_string_equal(got, want);
	assert_int_equal(fx->a.ok, ok);
	free(got);
}

static void
test_check_status_before_any_model_is_waiting(void **state)
{
	answered("train.check_status", "{}", 1, "{\"round\":null,"
	    "\"run\":null,\"site\":\"site-1\",\"status\":\"waiting\"}");
}

static void
test_check_status_while_training_names_the_round(void **state)
{
	assert_int_equal(control_begin(&fx->control, 2, 7), 0);
	answered("train.check_status", NULL, 1, "{\"round\":7,\"run\":2,"
	    "\"site\":\"site-1\",\"status\":\"training\"}");
	control_end(&fx->control);
	answered("train.check_status", "{}", 1, "{\"round\":7,\"run\":2,"
	    "\"site\":\"site-1\",\"status\":\"waiting\"}");
}

static void
test_abort_stops_until_start(void **state)
{
	assert_int_equal(control_begin(&fx->control, 1, 0), 0);
	answered("train.abort", "{}", 1, "{\"status\":\"stopped\"}");
	assert_true(control_cancelled(&fx->control));
	control_end(&fx->control);
	assert_int_equal(control_next(&fx->control), CONTROL_PAUSE);
	assert_int_equal(control_begin(&fx->control, 1, 1), -1);
	answered("train.check_status", "{}", 1, "{\"round\":1,\"run\":1,"
	    "\"site\":\"site-1\",\"status\":\"stopped\"}");

	answered("train.start", "{}", 1, "{\"status\":\"waiting\"}");
	assert_false(control_cancelled(&fx->control));
	assert_int_equal(control_next(&fx->control), CONTROL_GO);
	assert_int_equal(control_begin(&fx->control, 1, 1), 0);
	control_end(&fx->control);
}

static void
test_start_when_not_stopped_changes_nothing(void **state)
{
	answered("train.start", "{}", 1, "{\"status\":\"waiting\"}");
	assert_int_equal(control_next(&fx->control), CONTROL_GO);
}

static void
test_shutdown_is_left_for_after_the_reply(void **state)
{
	answered("train.shutdown", "{}", 1, "{\"status\":\"shutting down\"}");
	assert_int_equal(fx->a.after, TOPIC_SHUTDOWN);
	assert_int_equal(control_next(&fx->control), CONTROL_GO);
	control_shutdown(&fx->control);
	assert_true(control_cancelled(&fx->control));
	assert_int_equal(control_next(&fx->control), CONTROL_SHUTDOWN);
	assert_int_equal(control_next(&fx->control), CONTROL_SHUTDOWN);
}

static void
test_restart_is_handed_out_once_and_ends_a_stop(void **state)
{
	answered("train.restart", "{}", 1, "{\"status\":\"restarting\"}");
	assert_int_equal(fx->a.after, TOPIC_RESTART);
	control_abort(&fx->control);
	control_restart(&fx->control);
	assert_int_equal(control_next(&fx->control), CONTROL_RESTART);
	assert_false(control_cancelled(&fx->control));
	assert_int_equal(control_next(&fx->control), CONTROL_GO);
}

static void
test_sys_info_has_every_field(void **state)
{
	const char	*keys[] = { "site", "os", "kernel", "cpus",
			    "memory_bytes", "load", "uptime_seconds",
			    "workspace" };
	char		*got = ask("sys.info", "{}");
	size_t		 i;

	free(got);
	assert_int_equal(fx->a.ok, 1);
	assert_int_equal(json_object_size(fx->a.body), 8);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_non_null(json_object_get(fx->a.body, keys[i]));
	assert_string_equal(json_string_value(json_object_get(fx->a.body,
	    "workspace")), fx->ws);
	assert_int_equal(strncmp(json_string_value(json_object_get(fx->a.body,
	    "kernel")), "Linux ", 6), 0);
	assert_true(json_integer_value(json_object_get(fx->a.body, "cpus")) >=
	    1);
}

static void
test_sys_shell_runs_on_the_workspace(void **state)
{
	answered("sys.shell", "{\"cmd\": \"cat -n notes.txt\"}", 1,
	    "{\"output\":\"     1\\talpha\\n     2\\tbeta\\n\"}");
	assert_string_equal(fx->a.note, "\"cat -n notes.txt\"");
	answered("sys.shell", "{\"cmd\": \"ls\"}", 1,
	    "{\"output\":\"notes.txt\\n\"}");
}

static void
test_sys_shell_refusals_are_errors(void **state)
{
	answered("sys.shell", "{\"cmd\": \"cat ../notes.txt\"}", 0,
	    "{\"error\":\"cat: '../notes.txt': '..' is not accepted in a "
	    "path\"}");
	answered("sys.shell", "{\"cmd\": \"cat notes.txt\\u0000.bin\"}", 0,
	    "{\"error\":\"a NUL byte is not accepted in a command\"}");
	answered("sys.shell", "{\"cmd\": 3}", 0,
	    "{\"error\":\"sys.shell wants {\\\"cmd\\\": a command line}\"}");
}

static void
test_no_shell_refuses_every_command(void **state)
{
	fx->site.no_shell = 1;
	answered("sys.shell", "{\"cmd\": \"pwd\"}", 0, "{\"error\":\"this site "
	    "does not accept remote shell commands\"}");
	assert_string_equal(fx->a.note, "\"pwd\"");
	fx->site.no_shell = 0;
}

static void
test_unknown_topic(void **state)
{
	answered("train.fly", "{}", 0, "{\"error\":\"unknown topic\"}");
	answered("", NULL, 0, "{\"error\":\"unknown topic\"}");
	answered("train.delete_run", "{}", 0, "{\"error\":\"this site does "
	    "not handle train.delete_run: it trains from its own table and "
	    "keeps no run folders or cross-site results\"}");
	answered("train.deploy", "{}", 0, "{\"error\":\"train.deploy wants "
	    "{\\\"mmar\\\": a name, \\\"archive\\\": base64}\"}");
	answered("train.deploy", "{\"mmar\": \"../x\", \"archive\": \"\"}",
	    0, "{\"error\":\"not an MMAR name: letters, digits, \\\".\\\", "
	    "\\\"_\\\" and \\\"-\\\", not starting with \\\".\\\", without \\\"..\\\"\"}");
}

static void
test_body_must_be_a_json_object(void **state)
{
	char	*big;

	answered("train.check_status", "[]", 0, "{\"error\":\"the request's "
	    "body is not a JSON object\"}");
	answered("train.abort", "{\"a\": 1, \"a\": 2}", 0, "{\"error\":\"the "
	    "request's body is not a JSON object\"}");
	answered("sys.info", "not json", 0, "{\"error\":\"the request's body "
	    "is not a JSON object\"}");
	assert_int_equal(control_next(&fx->control), CONTROL_GO);

	assert_non_null(big = calloc(1, TOPIC_BODY_MAX + 2));
	memset(big, ' ', TOPIC_BODY_MAX + 1);
	big[0] = '{';
	big[TOPIC_BODY_MAX] = '}';
	answered("train.check_status", big, 0, "{\"error\":\"the request's "
	    "body is over 65536 bytes\"}");
	free(big);
}

#define T(test)	cmocka_unit_test_setup_teardown(test, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_check_status_before_any_model_is_waiting),
		T(test_check_status_while_training_names_the_round),
		T(test_abort_stops_until_start),
		T(test_start_when_not_stopped_changes_nothing),
		T(test_shutdown_is_left_for_after_the_reply),
		T(test_restart_is_handed_out_once_and_ends_a_stop),
		T(test_sys_info_has_every_field),
		T(test_sys_shell_runs_on_the_workspace),
		T(test_sys_shell_refusals_are_errors),
		T(test_no_shell_refuses_every_command),
		T(test_unknown_topic),
		T(test_body_must_be_a_json_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
