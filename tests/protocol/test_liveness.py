"""Heartbeats with heart_beat_timeout 3 s: a silent site is removed (its
token dies, status.json drops it), a slow site that keeps beating stays,
and its update, sent after the round already had min_num_clients updates
but within wait_after_min_clients, is accepted into the round.
"""

import time

import grpc

from model_math import assert_models_equal, expected_model, random_update
from site_client import expect_status

TIMEOUT = 3
BEAT = 0.5


def listed(srv):
    return srv.status_sites() or []


def test_silent_site_removed_slow_beating_site_kept(server):
    """min_num_clients 1, wait_after_min_clients 15: site-1 sends its
    update at once and keeps beating; site-3 goes silent and is removed;
    site-2 beats every 0.5 s for longer than the timeout, then sends:
    accepted, and round 0 averages site-1's and site-2's updates."""
    srv = server(min_num_clients=1, wait_after_min_clients=15,
                 heart_beat_timeout=TIMEOUT)
    s1, s2, s3 = srv.registered("site-1", "site-2", "site-3")
    srv.wait_status("three sites listed", lambda st: len(st["sites"]) == 3)
    _, model = s1.get_model()
    s2.get_model()
    s3.get_model()
    d1 = random_update(model, seed=31)
    s1.submit(d1, n_iter=2)
    started = time.monotonic()

    deadline = started + TIMEOUT + 7
    while "site-3" in listed(srv):
        assert time.monotonic() < deadline, \
            "site-3 still listed %.1f s after its last call: %r" % (
                time.monotonic() - started, srv.status())
        s1.heartbeat()
        s2.heartbeat()
        time.sleep(BEAT)
    assert time.monotonic() - started >= TIMEOUT - 0.5
    assert listed(srv) == ["site-1", "site-2"]

    expect_status(grpc.StatusCode.UNAUTHENTICATED, s3.heartbeat)
    expect_status(grpc.StatusCode.UNAUTHENTICATED, s3.submit,
                  random_update(model, seed=33), n_iter=1)

    d2 = random_update(model, seed=32)
    s2.submit(d2, n_iter=5)
    record = srv.wait_round(0)
    assert sorted(s["site"] for s in record["sites"]) == ["site-1", "site-2"]
    assert_models_equal(srv.global_model(), expected_model(
        srv.initial_model, [(d1, 2), (d2, 5)]))
