/*
 * test_status - admind's view of the server, fed with aggd's notices:
 * a registered site appears, a removed or departed one disappears, a
 * malformed notice changes nothing, a SERVER_STATUS reply replaces the
 * view, and status.json is exactly the expected text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../admind/admind.h"

/* 2024-05-01T12:00:00Z, the wall clock of every change in these tests. */
#define NOW	((time_t)1714564800)

static int
site_notice(struct status *st, const char *json)
{
	return status_site_notice(st, json, strlen(json), NOW);
}

static int
round_notice(struct status *st, const char *json)
{
	return status_round_notice(st, json, strlen(json), NOW);
}

static const char *
site_name(const struct status *st, size_t i)
{
	assert_true(i < st->nsites);
	return st->sites[i].ss_name;
}

static void
registered_site_appears(void **state)
{
	struct status	 st;

	(void)state;
	status_init(&st);
	assert_int_equal(site_notice(&st, "{\"event\": \"registered\", "
	    "\"site\": \"site-2\", \"time\": \"2024-05-01T11:59:00Z\", "
	    "\"reason\": \"\"}"), 1);
	assert_int_equal(site_notice(&st, "{\"event\": \"registered\", "
	    "\"site\": \"site-1\", \"time\": 1714564750}"), 1);

	assert_int_equal(st.nsites, 2);
	assert_string_equal(site_name(&st, 0), "site-1");
	assert_int_equal(st.sites[0].ss_last_contact, 1714564750);
	assert_string_equal(site_name(&st, 1), "site-2");
	assert_int_equal(st.sites[1].ss_last_contact, 1714564740);
	assert_true(st.known);
	assert_true(st.dirty);
	assert_int_equal(st.updated, NOW);
	status_free(&st);
}

static void
contact_refreshes_a_site_once(void **state)
{
	struct status	 st;
	const char	*contact = "{\"event\": \"contact\", \"site\": "
	    "\"site-1\", \"time\": \"2024-05-01T12:00:30Z\"}";

	(void)state;
	status_init(&st);
	site_notice(&st, "{\"event\": \"registered\", \"site\": \"site-1\", "
	    "\"time\": \"2024-05-01T12:00:00Z\"}");
	assert_int_equal(site_notice(&st, contact), 1);
	assert_int_equal(st.sites[0].ss_last_contact, NOW + 30);
	st.dirty = 0;
	assert_int_equal(site_notice(&st, contact), 0);
	assert_false(st.dirty);
	assert_int_equal(st.nsites, 1);
	status_free(&st);
}

static void
removed_site_disappears(void **state)
{
	struct status	 st;

	(void)state;
	status_init(&st);
	site_notice(&st, "{\"event\": \"registered\", \"site\": \"site-1\"}");
	site_notice(&st, "{\"event\": \"registered\", \"site\": \"site-2\"}");
	site_notice(&st, "{\"event\": \"registered\", \"site\": \"site-3\"}");

	assert_int_equal(site_notice(&st, "{\"event\": \"removed\", "
	    "\"site\": \"site-2\", \"time\": \"2024-05-01T12:00:00Z\", "
	    "\"reason\": \"no heartbeat for 600 s\"}"), 1);
	assert_int_equal(st.nsites, 2);
	assert_string_equal(site_name(&st, 0), "site-1");
	assert_string_equal(site_name(&st, 1), "site-3");

	assert_int_equal(site_notice(&st, "{\"event\": \"quit\", "
	    "\"site\": \"site-1\"}"), 1);
	assert_int_equal(st.nsites, 1);
	assert_string_equal(site_name(&st, 0), "site-3");

	/* Removing a site that is not listed changes nothing. */
	st.dirty = 0;
	assert_int_equal(site_notice(&st, "{\"event\": \"removed\", "
	    "\"site\": \"site-1\"}"), 0);
	assert_false(st.dirty);
	status_free(&st);
}

static void
malformed_notice_changes_nothing(void **state)
{
	static const char *const bad_sites[] = {
		"{\"event\": \"registered\", \"site\": \"site-9\"",
		"[\"registered\", \"site-9\"]",
		"{\"event\": \"joined\", \"site\": \"site-9\"}",
		"{\"site\": \"site-9\"}",
		"{\"event\": \"registered\"}",
		"{\"event\": \"registered\", \"site\": \"../site-9\"}",
		"{\"event\": \"registered\", \"site\": \"\"}",
		"{\"event\": \"registered\", \"site\": 9}",
		"{\"event\": \"registered\", \"site\": \"site-9\", "
		    "\"time\": \"yesterday\"}",
		"{\"event\": \"registered\", \"site\": \"site-9\", "
		    "\"time\": -1}",
		"{\"event\": \"registered\", \"site\": \"site-9\", "
		    "\"reason\": 3}",
		"{\"event\": \"registered\", \"site\": \"site-9\", "
		    "\"site\": \"site-8\"}",
		"{\"event\": \"removed\", \"site\": \"site-1\", "
		    "\"time\": {}}",
	};
	static const char *const bad_rounds[] = {
		"{\"run\": 1, \"round\": 4, \"state\": \"training\", "
		    "\"num_rounds\": 12}",
		"{\"run\": 1, \"round\": 4, \"state\": \"paused\", "
		    "\"num_rounds\": 12, \"round_sites\": []}",
		"{\"run\": \"1\", \"round\": 4, \"state\": \"training\", "
		    "\"num_rounds\": 12, \"round_sites\": []}",
		"{\"run\": 1, \"round\": -4, \"state\": \"training\", "
		    "\"num_rounds\": 12, \"round_sites\": []}",
		"{\"run\": 1, \"round\": 4.5, \"state\": \"training\", "
		    "\"num_rounds\": 12, \"round_sites\": []}",
		"{\"run\": 1, \"round\": 4, \"state\": \"training\", "
		    "\"num_rounds\": 12, \"round_sites\": [\"site-1\", "
		    "\"site-1\"]}",
		"{\"run\": 1, \"round\": 4, \"state\": \"training\", "
		    "\"num_rounds\": 12, \"round_sites\": [\"site 1\"]}",
		"",
	};
	struct status	 st;
	char		*before, *after;
	size_t		 i;

	(void)state;
	status_init(&st);
	site_notice(&st, "{\"event\": \"registered\", \"site\": \"site-1\", "
	    "\"time\": \"2024-05-01T11:00:00Z\"}");
	round_notice(&st, "{\"run\": 1, \"round\": 3, \"state\": "
	    "\"training\", \"num_rounds\": 12, \"round_sites\": []}");
	st.dirty = 0;
	before = status_json(&st);
	assert_non_null(before);

	for (i = 0; i < sizeof(bad_sites) / sizeof(*bad_sites); i++)
		assert_int_equal(site_notice(&st, bad_sites[i]), -1);
	for (i = 0; i < sizeof(bad_rounds) / sizeof(*bad_rounds); i++)
		assert_int_equal(round_notice(&st, bad_rounds[i]), -1);

	after = status_json(&st);
	assert_string_equal(after, before);
	assert_false(st.dirty);
	free(before);
	free(after);
	status_free(&st);
}

static void
server_status_replaces_the_view(void **state)
{
	struct status	 st;
	const char	*reply = "{\"run\": 2, \"round\": 7, \"state\": "
	    "\"finished\", \"num_rounds\": 8, \"sites\": [{\"name\": "
	    "\"site-3\", \"last_contact\": \"2024-05-01T11:58:00Z\"}, "
	    "{\"name\": \"site-2\", \"last_contact\": 1714564700}], "
	    "\"round_sites\": [\"site-3\", \"site-2\"]}";

	(void)state;
	status_init(&st);
	site_notice(&st, "{\"event\": \"registered\", \"site\": \"site-1\"}");
	assert_int_equal(status_server_status(&st, reply, strlen(reply), NOW),
	    1);
	assert_int_equal(st.run, 2);
	assert_int_equal(st.round, 7);
	assert_int_equal(st.state, STATUS_FINISHED);
	assert_int_equal(st.num_rounds, 8);
	assert_int_equal(st.nsites, 2);
	assert_string_equal(site_name(&st, 0), "site-2");
	assert_string_equal(site_name(&st, 1), "site-3");
	assert_int_equal(st.nround_sites, 2);
	assert_string_equal(st.round_sites[0].sn_name, "site-3");

	/* The same reply again is no change. */
	assert_int_equal(status_server_status(&st, reply, strlen(reply), NOW),
	    0);
	status_free(&st);
}

static const char expected_json[] =
    "{\n"
    "  \"run\": 1,\n"
    "  \"round\": 4,\n"
    "  \"state\": \"training\",\n"
    "  \"num_rounds\": 12,\n"
    "  \"sites\": [\n"
    "    {\n"
    "      \"name\": \"site-1\",\n"
    "      \"last_contact\": \"2024-05-01T11:59:58Z\"\n"
    "    },\n"
    "    {\n"
    "      \"name\": \"site-3\",\n"
    "      \"last_contact\": \"2024-05-01T11:59:59Z\"\n"
    "    }\n"
    "  ],\n"
    "  \"round_sites\": [\n"
    "    \"site-3\"\n"
    "  ],\n"
    "  \"updated\": \"2024-05-01T12:00:00Z\"\n"
    "}\n";

static void
fixed_input(struct status *st)
{
	status_init(st);
	site_notice(st, "{\"event\": \"registered\", \"site\": \"site-3\", "
	    "\"time\": \"2024-05-01T11:59:59Z\", \"reason\": \"\"}");
	site_notice(st, "{\"event\": \"registered\", \"site\": \"site-1\", "
	    "\"time\": \"2024-05-01T11:59:58.250Z\"}");
	site_notice(st, "{\"event\": \"registered\", \"site\": \"site-2\", "
	    "\"time\": \"2024-05-01T11:59:57Z\"}");
	site_notice(st, "{\"event\": \"removed\", \"site\": \"site-2\", "
	    "\"time\": \"2024-05-01T12:00:00Z\", \"reason\": \"timeout\"}");
	round_notice(st, "{\"event\": \"contribution\", \"run\": 1, "
	    "\"round\": 4, \"state\": \"training\", \"num_rounds\": 12, "
	    "\"round_sites\": [\"site-3\"]}");
}

static void
json_is_the_expected_text(void **state)
{
	struct status	 st;
	char		*text;

	(void)state;
	fixed_input(&st);
	text = status_json(&st);
	assert_non_null(text);
	assert_string_equal(text, expected_json);
	free(text);
	status_free(&st);
}

static void
write_replaces_the_file_whole(void **state)
{
	struct status	 st;
	char		 dir[] = "/tmp/test_status.XXXXXX", path[128], tmp[160];
	char		 text[2048];
	FILE		*f;
	size_t		 n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/status.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("an older, longer status that must be gone entirely\n", f);
	fclose(f);

	fixed_input(&st);
	assert_int_equal(status_write(&st, path), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_string_equal(text, expected_json);
	assert_int_equal(access(tmp, F_OK), -1);

	unlink(path);
	rmdir(dir);
	status_free(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registered_site_appears),
		cmocka_unit_test(contact_refreshes_a_site_once),
		cmocka_unit_test(removed_site_disappears),
		cmocka_unit_test(malformed_notice_changes_nothing),
		cmocka_unit_test(server_status_replaces_the_view),
		cmocka_unit_test(json_is_the_expected_text),
		cmocka_unit_test(write_replaces_the_file_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
