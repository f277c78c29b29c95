"""The once-per-round rules: a site fetches the round's model once, and
sends one update for the current round after fetching it. Everything else
is refused with the status and message prefix Clara's client acts on,
and a refused update never reaches the model.
"""

import grpc

from model_math import assert_models_equal, expected_model, random_update
from site_client import expect_status

FAILED = grpc.StatusCode.FAILED_PRECONDITION


def test_second_get_model_in_a_round_has_no_token(server):
    """site-1 fetches round 0's model, asks again: RESOURCE_EXHAUSTED
    "No token"; site-2 still gets its own copy."""
    srv = server(min_num_clients=2)
    s1, s2 = srv.registered("site-1", "site-2")
    s1.get_model()
    expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, s1.get_model,
                  prefix="No token")
    meta, model = s2.get_model()
    assert meta.current_round == 0
    assert_models_equal(model, srv.initial_model)


def test_update_for_previous_round_is_refused(server):
    """start_round 5: site-1 sends an update labelled round 4, refused
    FAILED_PRECONDITION "Contrib"; its update for round 5 then counts and
    the stale one is nowhere in the model."""
    srv = server(min_num_clients=2, start_round=5)
    s1, s2 = srv.registered("site-1", "site-2")
    meta, model = s1.get_model()
    assert meta.current_round == 5
    stale = random_update(model, seed=1, scale=100.0)
    expect_status(FAILED, s1.submit, stale, n_iter=1, current_round=4,
                  prefix="Contrib")

    good1 = random_update(model, seed=2)
    s1.submit(good1, n_iter=2)
    _, model2 = s2.get_model()
    good2 = random_update(model2, seed=3)
    s2.submit(good2, n_iter=5)
    srv.wait_round(5)
    assert_models_equal(srv.global_model(), expected_model(
        srv.initial_model, [(good1, 2), (good2, 5)]))


def test_second_update_in_a_round_is_refused(server):
    """site-1's update is accepted (status.json's round_sites says so);
    its second one in the same round is refused FAILED_PRECONDITION
    "Contrib" and the first one stands."""
    srv = server(min_num_clients=2)
    s1, s2 = srv.registered("site-1", "site-2")
    _, model = s1.get_model()
    first = random_update(model, seed=4)
    s1.submit(first, n_iter=4)
    srv.wait_status("site-1's update in",
                    lambda st: st["round_sites"] == ["site-1"])
    second = random_update(model, seed=5, scale=100.0)
    expect_status(FAILED, s1.submit, second, n_iter=4, prefix="Contrib")

    _, model2 = s2.get_model()
    other = random_update(model2, seed=6)
    s2.submit(other, n_iter=1)
    srv.wait_round(0)
    assert_models_equal(srv.global_model(), expected_model(
        srv.initial_model, [(first, 4), (other, 1)]))


def test_update_without_fetching_the_model_is_refused(server):
    """A registered site that did not fetch this round's model may not
    send an update for it: FAILED_PRECONDITION "Contrib"."""
    srv = server(min_num_clients=2)
    s1, s2 = srv.registered("site-1", "site-2")
    _, model = s2.get_model()
    expect_status(FAILED, s1.submit, random_update(model, seed=7),
                  n_iter=1, current_round=0, prefix="Contrib")


def test_one_round_one_type(server):
    """site-1 sends weights ("w"); site-2's "delta_w" in the same round is
    refused INVALID_ARGUMENT naming site-2; its "w" update is then taken
    and the round averages the two weights."""
    srv = server(min_num_clients=2)
    s1, s2 = srv.registered("site-1", "site-2")
    _, model = s1.get_model()
    w1 = random_update(model, seed=8, scale=1.0)
    s1.submit(w1, n_iter=1, update_type="w")
    _, model2 = s2.get_model()
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, s2.submit,
                  random_update(model2, seed=9), n_iter=1,
                  update_type="delta_w", contains=["site-2"])
    w2 = random_update(model2, seed=10, scale=1.0)
    s2.submit(w2, n_iter=3, update_type="w")
    srv.wait_round(0)
    assert_models_equal(srv.global_model(), expected_model(
        srv.initial_model, [(w1, 1), (w2, 3)], update_type="w"))
