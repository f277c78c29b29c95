/*
 * test_robin - round-robin rounds (robin.c through round.c): the seeded
 * turn order, one site at a time, each result the next site's model, a
 * site that leaves holding the model skipped, and training that stops
 * when too few sites are registered.
 *
 * The server is aggd_fixture.h's with "server_type": "round_robin" and
 * "round_robin_seed": 7; the global model is w = (1, 2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "aggd_fixture.h"

#define ROBIN_CONFIG \
	", \"server_type\": \"round_robin\", \"round_robin_seed\": 7"

/* started - a round-robin server with site-a, site-b, site-c, round 0
 * started */
static struct fixture *
started(void)
{
	struct fixture	*f = fixture_new(ROBIN_CONFIG);

	fixture_register(f, "site-a", 0);
	fixture_register(f, "site-b", 0);
	fixture_register(f, "site-c", 0);
	assert_int_equal(round_start(&f->ag.round, 0, f->msg,
	    sizeof(f->msg)), FL_OK);
	return f;
}

/* turn - the holder fetches and sends (d, d) of type at now */
static struct site *
turn(struct fixture *f, double d, enum contrib_type type, double now)
{
	struct site	*holder = robin_holder(&f->ag.round);

	assert_non_null(holder);
	assert_int_equal(fixture_fetch(f, holder), FL_OK);
	fixture_update(f, holder, d, d, type, 1, now);
	return holder;
}

/* provenance - round K's record of run 1 */
static json_t *
provenance(struct fixture *f, int round)
{
	char		 rel[64], *text;
	json_t		*doc;

	snprintf(rel, sizeof(rel), "run_1/provenance/round_%d.json", round);
	assert_non_null(text = fixture_read(f, rel));
	assert_non_null(doc = json_loads(text, 0, NULL));
	free(text);
	return doc;
}

/* names - a JSON list of strings as "a b c" */
static void
names(json_t *list, char *buf, size_t len)
{
	json_t	*v;
	size_t	 i, off = 0;

	buf[0] = '\0';
	json_array_foreach(list, i, v)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? " " : "", json_string_value(v));
}

static void
test_order_is_a_permutation_drawn_from_the_seed(void **state)
{
	size_t	 a[10], b[10], c[10], seen[10] = { 0 };
	size_t	 i;

	for (i = 0; i < 10; i++)
		a[i] = b[i] = c[i] = i;
	robin_order(a, 10, 42, 1, 0);
	robin_order(b, 10, 42, 1, 0);
	robin_order(c, 10, 42, 1, 1);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
	for (i = 0; i < 10; i++)
		seen[a[i]]++;
	for (i = 0; i < 10; i++)
		assert_int_equal(seen[i], 1);
}

static void
test_only_the_holder_may_fetch(void **state)
{
	struct fixture	*f = started();
	struct site	*holder = robin_holder(&f->ag.round), *other;
	size_t		 i;

	for (i = 0; i < 3; i++) {
		other = &f->ag.reg.sites[i];
		if (other == holder)
			continue;
		assert_int_equal(fixture_fetch(f, other),
		    FL_RESOURCE_EXHAUSTED);
		snprintf(f->msg + 200, 100, "No token: round-robin round 0: "
		    "it is not %s's turn", other->name);
		assert_string_equal(f->msg, f->msg + 200);
	}
	assert_int_equal(fixture_fetch(f, holder), FL_OK);
	fixture_free(f);
}

static void
test_each_result_is_the_next_sites_model(void **state)
{
	struct fixture	*f = started();
	struct site	*first, *second, *third;
	char		 chain[64], order[64];
	json_t		*doc, *sites, *s;
	size_t		 i;

	first = turn(f, 1, CONTRIB_DELTA_W, 1);
	assert_true(tensor_get(&robin_model(&f->ag.round)->tensors[0], 0) ==
	    2.0);
	second = turn(f, 10, CONTRIB_DELTA_W, 2);
	third = turn(f, 100, CONTRIB_DELTA_W, 3);
	assert_true(first != second && second != third && first != third);

	/* (1, 2) + 1 + 10 + 100, whatever the n_iter and weights. */
	assert_int_equal(f->ag.round.number, 1);
	assert_true(fixture_global(f, 0) == 112.0);
	assert_true(fixture_global(f, 1) == 113.0);

	doc = provenance(f, 0);
	assert_string_equal(json_string_value(json_object_get(doc,
	    "server_type")), "round_robin");
	assert_int_equal(json_integer_value(json_object_get(doc, "seed")), 7);
	names(json_object_get(doc, "order"), order, sizeof(order));
	chain[0] = '\0';
	sites = json_object_get(doc, "sites");
	json_array_foreach(sites, i, s)
		snprintf(chain + strlen(chain), sizeof(chain) - strlen(chain),
		    "%s%s", i ? " " : "",
		    json_string_value(json_object_get(s, "site")));
	snprintf(f->msg, sizeof(f->msg), "%s %s %s", first->name,
	    second->name, third->name);
	assert_string_equal(chain, f->msg);
	assert_string_equal(order, f->msg);
	assert_int_equal(json_array_size(json_object_get(doc, "skipped")), 0);
	json_decref(doc);
	fixture_free(f);
}

static void
test_weights_are_passed_on_exactly(void **state)
{
	struct fixture	*f = started();

	turn(f, 0.1, CONTRIB_W, 1);
	assert_true(tensor_get(&robin_model(&f->ag.round)->tensors[0], 0) ==
	    0.1);
	turn(f, 0.3, CONTRIB_W, 2);
	turn(f, 0.7, CONTRIB_W, 3);
	assert_true(fixture_global(f, 0) == 0.7);
	assert_true(fixture_global(f, 1) == 0.7);
	fixture_free(f);
}

static void
test_site_that_dies_holding_the_model_is_skipped(void **state)
{
	struct fixture	*f = started();
	struct site	*first, *dead, *last;
	char		 skipped[64];
	json_t		*doc;
	size_t		 i;

	first = turn(f, 1, CONTRIB_DELTA_W, 1);
	dead = robin_holder(&f->ag.round);
	assert_int_equal(fixture_fetch(f, dead), FL_OK);

	/* The others beat; the holder falls silent past the timeout. */
	for (i = 0; i < 3; i++)
		if (&f->ag.reg.sites[i] != dead)
			assert_int_equal(registry_authenticate(&f->ag.reg,
			    &f->ag.reg.sites[i], f->ag.reg.sites[i].token, 50,
			    f->msg, sizeof(f->msg)), FL_OK);
	round_tick(&f->ag.round, 59);
	assert_ptr_equal(robin_holder(&f->ag.round), dead);
	round_tick(&f->ag.round, 61.5);
	assert_false(dead->registered);
	last = robin_holder(&f->ag.round);
	assert_true(last != NULL && last != dead && last != first);

	/* The next site gets the last good model, (2, 3). */
	assert_int_equal(fixture_fetch(f, last), FL_OK);
	assert_true(tensor_get(&robin_model(&f->ag.round)->tensors[0], 0) ==
	    2.0);
	fixture_update(f, last, 10, 10, CONTRIB_DELTA_W, 1, 62);
	assert_int_equal(f->ag.round.number, 1);
	assert_true(fixture_global(f, 0) == 12.0);
	doc = provenance(f, 0);
	names(json_object_get(doc, "skipped"), skipped, sizeof(skipped));
	assert_string_equal(skipped, dead->name);
	assert_int_equal(json_array_size(json_object_get(doc, "sites")), 2);
	json_decref(doc);
	fixture_free(f);
}

static void
test_site_registered_late_waits_for_the_next_round(void **state)
{
	struct fixture	*f = fixture_new(ROBIN_CONFIG);
	struct site	*c;

	fixture_register(f, "site-a", 0);
	fixture_register(f, "site-b", 0);
	round_start(&f->ag.round, 0, f->msg, sizeof(f->msg));
	c = fixture_register(f, "site-c", 1);
	assert_int_equal(fixture_fetch(f, c), FL_RESOURCE_EXHAUSTED);
	assert_string_equal(f->msg, "No token: site-c registered after "
	    "round-robin round 0 began: its turn comes in the next round");
	turn(f, 1, CONTRIB_DELTA_W, 2);
	turn(f, 1, CONTRIB_DELTA_W, 3);
	assert_int_equal(f->ag.round.rr.norder, 3);
	fixture_free(f);
}

static void
test_too_few_sites_stop_training(void **state)
{
	struct fixture	*f = fixture_new(ROBIN_CONFIG);
	struct site	*a = fixture_register(f, "site-a", 0);

	assert_int_equal(round_start(&f->ag.round, 0, f->msg,
	    sizeof(f->msg)), FL_FAILED_PRECONDITION);
	assert_string_equal(f->msg, "round-robin needs 2 sites, 1 is "
	    "registered: training stopped before round 0");
	assert_int_equal(f->ag.round.state, ROUND_IDLE);

	/* Started with two, one leaves: round 1 does not begin. */
	fixture_register(f, "site-b", 0);
	round_start(&f->ag.round, 0, f->msg, sizeof(f->msg));
	turn(f, 1, CONTRIB_DELTA_W, 1);
	registry_remove(&f->ag.reg, a);
	round_tick(&f->ag.round, 2);
	if (f->ag.round.state == ROUND_TRAINING)
		turn(f, 1, CONTRIB_DELTA_W, 3);
	assert_int_equal(f->ag.round.number, 1);
	assert_int_equal(f->ag.round.state, ROUND_IDLE);
	assert_int_equal(round_note(&f->ag.round, f->msg, sizeof(f->msg)), 1);
	assert_string_equal(f->msg, "round-robin needs 2 sites, 1 is "
	    "registered: training stopped before round 1");
	round_tick(&f->ag.round, 3);
	assert_int_equal(f->ag.round.state, ROUND_IDLE);
	fixture_free(f);
}

static void
test_round_that_every_site_left_stops(void **state)
{
	struct fixture	*f = started();
	size_t		 i;

	for (i = 0; i < 3; i++)
		registry_remove(&f->ag.reg, &f->ag.reg.sites[i]);
	round_tick(&f->ag.round, 1);
	assert_int_equal(f->ag.round.state, ROUND_IDLE);
	assert_int_equal(f->ag.round.number, 0);
	assert_int_equal(round_note(&f->ag.round, f->msg, sizeof(f->msg)), 1);
	assert_string_equal(f->msg, "round-robin round 0: every site left "
	    "before sending its result");
	fixture_free(f);
}

static void
test_status_says_whose_turn_it_is(void **state)
{
	struct fixture	*f = started();
	char		 want[AGGD_MSG_MAX];

	snprintf(want, sizeof(want), "round-robin round 0: %s's turn (1 of "
	    "3)", robin_holder(&f->ag.round)->name);
	assert_int_equal(round_note(&f->ag.round, f->msg, sizeof(f->msg)), 1);
	assert_string_equal(f->msg, want);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_order_is_a_permutation_drawn_from_the_seed),
		cmocka_unit_test(test_only_the_holder_may_fetch),
		cmocka_unit_test(test_each_result_is_the_next_sites_model),
		cmocka_unit_test(test_weights_are_passed_on_exactly),
		cmocka_unit_test(
		    test_site_that_dies_holding_the_model_is_skipped),
		cmocka_unit_test(
		    test_site_registered_late_waits_for_the_next_round),
		cmocka_unit_test(test_too_few_sites_stop_training),
		cmocka_unit_test(test_round_that_every_site_left_stops),
		cmocka_unit_test(test_status_says_whose_turn_it_is),
	};

	return cmocka_run_group_tests_name("robin", tests, NULL, NULL);
}
