"""A server that goes away and comes back. Restarted, it resumes from its
checkpoint: the round number and the global model survive, the sites'
old tokens are unknown (they register again), and the round that was
open is redone from scratch. While aggd is down, netd answers the sites
UNAVAILABLE (Clara's clients retry) rather than leaving them hanging.
"""

import os
import signal

import grpc

from model_math import assert_models_equal, expected_model, random_update
from site_client import expect_status


def test_restart_resumes_round_and_model(server):
    """Round 0 closes with site-1 and site-2; site-1 sends its round-1
    update; the daemons restart. Old tokens: UNAUTHENTICATED. After
    registering again both fetch round 1 with round 0's model, send
    again, and round 1 is made of the new updates only."""
    srv = server(min_num_clients=2, wait_after_min_clients=1)
    s1, s2 = srv.registered("site-1", "site-2")
    _, m = s1.get_model()
    a1, a2 = random_update(m, seed=61), random_update(m, seed=62)
    s1.submit(a1, n_iter=1)
    s2.get_model()
    s2.submit(a2, n_iter=3)
    srv.wait_round(0)
    round0 = expected_model(srv.initial_model, [(a1, 1), (a2, 3)])
    _, m = s1.get_model()
    s1.submit(random_update(m, seed=63, scale=100.0), n_iter=9)

    srv.restart()
    t1, t2 = srv.site("site-1"), srv.site("site-2")
    expect_status(grpc.StatusCode.UNAUTHENTICATED, t1.heartbeat,
                  token=s1.token)
    t1.register()
    t2.register()
    updates = []
    for seed, site in ((64, t1), (65, t2)):
        meta, model = site.get_model()
        assert meta.current_round == 1
        assert_models_equal(model, round0)
        update = random_update(model, seed=seed)
        sha = site.submit(update, n_iter=2)
        updates.append((update, 2, site.name, sha))
    record = srv.wait_round(1)
    assert sorted((s["site"], s["sha256"]) for s in record["sites"]) == \
        sorted((name, sha) for _, _, name, sha in updates)
    assert_models_equal(srv.global_model(), expected_model(
        round0, [(u, w) for u, w, _, _ in updates]))


def test_aggd_down_answers_unavailable(server):
    """aggd is killed and not restarted: a site's Register gets
    UNAVAILABLE from netd within the call's deadline (30 s), not a
    hang."""
    srv = server(min_num_clients=2)
    s1, = srv.registered("site-1")
    srv.unsupervise()
    os.kill(srv.daemon_pid("aggd"), signal.SIGKILL)
    expect_status(grpc.StatusCode.UNAVAILABLE, s1.heartbeat)
