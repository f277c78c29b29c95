"""The provenance record of a round names exactly the updates in its
model: site, n_iter, aggregation weight, weight and the SHA-256 of the
serialized ModelData each site sent; a rejected update is not in it, and
the record's model digest is that of the saved round model.
"""

import hashlib

import grpc
import numpy as np

from model_math import assert_models_equal, expected_model, random_update
from site_client import expect_status

KEYS = ("site", "n_iter", "aggregation_weight", "weight", "sha256")


def entries(record):
    return sorted(({k: s.get(k) for k in KEYS} for s in record["sites"]),
                  key=lambda s: s["site"])


def test_provenance_names_accepted_updates_only(server):
    """aggregation weight 2.0 for site-1: site-1 (n_iter 3) and site-2
    (n_iter 5) are accepted, site-3's update with a NaN is refused; round
    0's record lists site-1 (weight 6) and site-2 (weight 5) with the
    digests of what they sent, and round_0.npz with its digest."""
    srv = server(min_num_clients=2, wait_after_min_clients=1,
                 keep_round_models=True,
                 aggregation_weights={"site-1": 2.0})
    s1, s2, s3 = srv.registered("site-1", "site-2", "site-3")
    models = [site.get_model()[1] for site in (s1, s2, s3)]

    bad = random_update(models[2], seed=43)
    bad["fc.weight"][0, 0] = np.nan
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, s3.submit, bad,
                  n_iter=1)
    d1 = random_update(models[0], seed=41)
    d2 = random_update(models[1], seed=42)
    sha1 = s1.submit(d1, n_iter=3)
    sha2 = s2.submit(d2, n_iter=5)
    record = srv.wait_round(0)

    assert record["run"] == 1
    assert record["round"] == 0
    assert record["type"] == "delta_w"
    assert entries(record) == [
        {"site": "site-1", "n_iter": 3, "aggregation_weight": 2.0,
         "weight": 6.0, "sha256": sha1},
        {"site": "site-2", "n_iter": 5, "aggregation_weight": 1.0,
         "weight": 5.0, "sha256": sha2},
    ]
    assert record["model"] == "round_0.npz"
    with open(srv.model_path("round_0.npz"), "rb") as f:
        assert record["model_sha256"] == hashlib.sha256(f.read()).hexdigest()
    assert_models_equal(srv.global_model("round_0.npz"), expected_model(
        srv.initial_model, [(d1, 6.0), (d2, 5.0)]))


def test_each_round_has_its_own_record(server):
    """Two rounds: round 0 from site-1 and site-2, round 1 from site-2 and
    site-3 (site-1 sits it out); each record names only its own updates
    and round 1's model builds on round 0's."""
    srv = server(min_num_clients=2, wait_after_min_clients=1,
                 keep_round_models=True)
    s1, s2, s3 = srv.registered("site-1", "site-2", "site-3")
    _, m1 = s1.get_model()
    _, m2 = s2.get_model()
    a1, a2 = random_update(m1, seed=51), random_update(m2, seed=52)
    sha_a1 = s1.submit(a1, n_iter=1)
    sha_a2 = s2.submit(a2, n_iter=2)
    first = srv.wait_round(0)
    assert [(s["site"], s["sha256"]) for s in entries(first)] == [
        ("site-1", sha_a1), ("site-2", sha_a2)]
    round0 = expected_model(srv.initial_model, [(a1, 1), (a2, 2)])

    _, m2 = s2.get_model()
    meta, m3 = s3.get_model()
    assert meta.current_round == 1
    assert_models_equal(m3, round0)
    b2, b3 = random_update(m2, seed=53), random_update(m3, seed=54)
    sha_b2 = s2.submit(b2, n_iter=4)
    sha_b3 = s3.submit(b3, n_iter=1)
    second = srv.wait_round(1)
    assert second["round"] == 1
    assert [(s["site"], s["n_iter"], s["sha256"])
            for s in entries(second)] == [
        ("site-2", 4, sha_b2), ("site-3", 1, sha_b3)]
    assert_models_equal(srv.global_model(), expected_model(
        round0, [(b2, 4), (b3, 1)]))
