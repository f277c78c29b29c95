"""Round-robin rounds as grpcio sites play them against the real daemons:
the model goes to one site at a time, each site's result is the next
site's model; a site that dies holding the model (it stops calling) is
skipped after heart_beat_timeout (3 s) and the next site gets the last
good model; the round's model is what numpy computes from the surviving
sites' steps. With fewer sites than min_num_clients training stops
rather than waiting in a loop.
"""

import time

import grpc

from model_math import assert_models_equal, expected_model, random_update
from site_client import expect_status

TIMEOUT = 3
POLL = 0.2


def holder_of(sites):
    """The one site that may fetch the model now: (site, model); the
    others are told "No token"."""
    found = []
    for site in sites:
        try:
            _, model = site.get_model()
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, \
                err.details()
            assert err.details().startswith("No token"), err.details()
            continue
        found.append((site, model))
    assert len(found) == 1, "%d sites got the model" % len(found)
    return found[0]


def step(model, delta):
    """One site's delta_w on the model it got, rounded to each dtype."""
    return expected_model(model, [(delta, 1)])


def test_site_that_dies_holding_the_model_is_skipped(server):
    """Three sites, min_num_clients 3, one round: the first holder sends
    a delta; the second holder fetches the model and falls silent; after
    the timeout the third site gets the first site's result, and the
    round's model is initial + first delta + third delta, step by step;
    the record names the chain and the skipped site."""
    srv = server(min_num_clients=3, num_rounds=1, server_type="round_robin",
                 heart_beat_timeout=TIMEOUT)
    sites = srv.registered("site-1", "site-2", "site-3")

    first, model = holder_of(sites)
    assert_models_equal(model, srv.initial_model)
    d1 = random_update(model, seed=61)
    first.submit(d1, n_iter=4)
    after_first = step(srv.initial_model, d1)

    rest = [s for s in sites if s is not first]
    dead, model = holder_of(rest)
    assert_models_equal(model, after_first)
    last = rest[0] if rest[1] is dead else rest[1]
    died = time.monotonic()

    while True:
        first.heartbeat()
        try:
            _, model = last.get_model()
            break
        except grpc.RpcError as err:
            assert err.details().startswith("No token"), err.details()
        assert time.monotonic() - died < TIMEOUT + 10, \
            "%s never got the model" % last.name
        time.sleep(POLL)
    assert time.monotonic() - died >= TIMEOUT - 0.5
    assert_models_equal(model, after_first)
    d3 = random_update(model, seed=63)
    last.submit(d3, n_iter=2)

    record = srv.wait_round(0)
    assert [s["site"] for s in record["sites"]] == [first.name, last.name]
    assert record["skipped"] == [dead.name]
    assert record["server_type"] == "round_robin"
    assert_models_equal(srv.global_model(), step(after_first, d3))
    expect_status(grpc.StatusCode.OUT_OF_RANGE, last.get_model)


def test_too_few_sites_stop_training(server):
    """min_num_clients 3, two rounds: the last holder of round 0 quits
    before its turn; round 0 closes with the other two, and round 1 does
    not begin with two sites: the state is idle and GetModel says that
    training is not running, again and again."""
    srv = server(min_num_clients=3, num_rounds=2, server_type="round_robin",
                 round_robin_seed=5)
    sites = srv.registered("site-1", "site-2", "site-3")
    done = []
    for _ in range(2):
        site, model = holder_of([s for s in sites if s not in done])
        site.submit(random_update(model, seed=len(done)), n_iter=1)
        done.append(site)
    quitter = [s for s in sites if s not in done][0]
    quitter.quit()

    record = srv.wait_round(0)
    assert [s["site"] for s in record["sites"]] == [s.name for s in done]
    assert record["skipped"] == [quitter.name]
    srv.wait_status("stopped", lambda st: (st["state"], st["round"]) ==
                    ("idle", 1))
    for _ in range(3):
        for site in done:
            expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, site.get_model,
                          prefix="No token: training is not running")
        time.sleep(POLL)
    assert srv.status()["state"] == "idle"
