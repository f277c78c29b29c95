"""Whole rounds as Clara sites play them: register, fetch the global model,
send an update, and the server's new model is numpy's weighted average
(float64, rounded to each tensor's dtype). Also when training starts and
what GetModel answers after the last round.
"""

import grpc
import numpy as np

from model_math import assert_models_equal, expected_model, random_update
from site_client import expect_status


def test_delta_w_round_is_weighted_average_of_deltas(server):
    """Two sites send deltas with n_iter 3 and 7; the new global model is
    old + (3 d1 + 7 d2) / 10, and round 1 serves it."""
    srv = server(min_num_clients=2, wait_after_min_clients=1)
    s1, s2 = srv.registered("site-1", "site-2")
    meta1, model1 = s1.get_model()
    meta2, model2 = s2.get_model()
    assert meta1.current_round == 0 and meta2.current_round == 0
    assert_models_equal(model1, srv.initial_model)
    assert_models_equal(model2, srv.initial_model)

    d1 = random_update(model1, seed=11)
    d2 = random_update(model2, seed=12)
    s1.submit(d1, n_iter=3)
    s2.submit(d2, n_iter=7)
    srv.wait_round(0)

    expected = expected_model(srv.initial_model, [(d1, 3), (d2, 7)])
    assert_models_equal(srv.global_model(), expected)
    meta, model = s1.get_model()
    assert meta.current_round == 1
    assert_models_equal(model, expected)


def test_w_round_uses_aggregation_weights(server):
    """Three sites send weights ("w"); site weights are n_iter times the
    configured aggregation weight, 1.0 for a site the map does not name:
    site-1 6 x 0.5, site-2 1 x 2.0, site-3 2 x 1.0."""
    srv = server(min_num_clients=3, wait_after_min_clients=1,
                 aggregation_weights={"site-1": 0.5, "site-2": 2.0})
    sites = srv.registered("site-1", "site-2", "site-3")
    updates = []
    for i, (site, n_iter) in enumerate(zip(sites, (6, 1, 2))):
        _, model = site.get_model()
        weights = random_update(model, seed=20 + i, scale=1.0)
        site.submit(weights, n_iter=n_iter, update_type="w")
        updates.append(weights)
    srv.wait_round(0)

    expected = expected_model(
        srv.initial_model,
        [(updates[0], 3.0), (updates[1], 2.0), (updates[2], 2.0)],
        update_type="w")
    assert_models_equal(srv.global_model(), expected)


def test_get_model_waits_for_min_clients_then_serves_start_round(server):
    """min_num_clients 2, start_round 5: with one site registered GetModel
    says "No token" (wait), never OUT_OF_RANGE, and the state is idle;
    once a second site registers, the same site gets round 5's model, the
    initial one, and the state is training round 5."""
    srv = server(min_num_clients=2, start_round=5)
    s1, = srv.registered("site-1")
    expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, s1.get_model,
                  prefix="No token")
    status = srv.wait_status("site-1 listed",
                             lambda st: len(st["sites"]) == 1)
    assert status["state"] == "idle"

    srv.registered("site-2")
    meta, model = s1.get_model()
    assert meta.current_round == 5
    assert_models_equal(model, srv.initial_model)
    srv.wait_status("training round 5",
                    lambda st: (st["state"], st["round"]) == ("training", 5))


def test_get_model_after_last_round_is_out_of_range(server):
    """num_rounds 1: once round 0 closes training is finished; GetModel
    answers OUT_OF_RANGE and the operator's status says "finished"."""
    srv = server(min_num_clients=2, num_rounds=1)
    s1, s2 = srv.registered("site-1", "site-2")
    for seed, site in enumerate((s1, s2)):
        _, model = site.get_model()
        site.submit(random_update(model, seed=seed), n_iter=1)
    srv.wait_round(0)

    expect_status(grpc.StatusCode.OUT_OF_RANGE, s1.get_model)
    expect_status(grpc.StatusCode.OUT_OF_RANGE, s2.get_model)
    srv.wait_status("state finished",
                    lambda st: st.get("state") == "finished")


def test_excluded_variables_are_neither_sent_nor_averaged(server):
    """exclude_vars "bias" (searched, not anchored) matches conv1.bias and
    fc.bias: GetModel leaves them out; site-1's update leaves them out,
    site-2's carries them (one with a wrong shape) and they are ignored;
    they keep the server's values, the others are averaged."""
    srv = server(min_num_clients=2, exclude_vars="bias")
    s1, s2 = srv.registered("site-1", "site-2")
    _, model1 = s1.get_model()
    _, model2 = s2.get_model()
    assert sorted(model1) == ["conv1.weight", "fc.weight"]
    assert sorted(model2) == ["conv1.weight", "fc.weight"]

    d1 = random_update(model1, seed=71)
    d2 = random_update(model2, seed=72)
    s1.submit(d1, n_iter=1)
    carried = dict(d2)
    carried["conv1.bias"] = np.full(8, 1000.0, np.float32)
    carried["fc.bias"] = np.zeros(3, np.float16)
    s2.submit(carried, n_iter=2)
    srv.wait_round(0)

    expected = expected_model(model1, [(d1, 1), (d2, 2)])
    expected["conv1.bias"] = srv.initial_model["conv1.bias"]
    expected["fc.bias"] = srv.initial_model["fc.bias"]
    assert_models_equal(srv.global_model(), expected)
