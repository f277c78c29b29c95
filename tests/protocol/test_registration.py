"""Registration and tokens: a site that registers again (it crashed and
came back) gets a new token and its old one dies everywhere; one entry per
site; Quit ends a token; the project name and max_num_clients are
checked.
"""

import federated_pb2 as fpb
import grpc

from model_math import assert_models_equal, expected_model, random_update
from site_client import expect_status

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


def test_registering_again_gives_new_token_and_kills_old(server):
    """site-1 registers (token A), fetches round 0's model, registers
    again (token B): A is refused UNAUTHENTICATED by GetModel,
    SubmitUpdate and Heartbeat; B, not having contributed yet, may fetch
    the round's model again; status.json lists site-1 once."""
    srv = server(min_num_clients=1, wait_after_min_clients=1)
    s1, = srv.registered("site-1")
    old = s1.token
    _, model = s1.get_model()
    new = s1.register()
    assert new and new != old

    expect_status(UNAUTHENTICATED, s1.get_model, token=old)
    expect_status(UNAUTHENTICATED, s1.submit, random_update(model, 1),
                  n_iter=1, token=old)
    expect_status(UNAUTHENTICATED, s1.heartbeat, token=old)

    s1.heartbeat()
    meta, again = s1.get_model()
    assert meta.current_round == 0
    assert_models_equal(again, srv.initial_model)
    srv.wait_status("site-1 listed",
                    lambda st: any(s["name"] == "site-1"
                                   for s in st["sites"]))
    assert srv.status_sites() == ["site-1"]


def test_contribution_stands_when_site_registers_again(server):
    """site-1 sends its update, then registers again: its new token gets
    "No token" for this round, and its update is in the round's model."""
    srv = server(min_num_clients=2, wait_after_min_clients=1)
    s1, s2 = srv.registered("site-1", "site-2")
    _, model = s1.get_model()
    d1 = random_update(model, seed=2)
    s1.submit(d1, n_iter=2)
    s1.register()
    expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, s1.get_model,
                  prefix="No token")

    _, model2 = s2.get_model()
    d2 = random_update(model2, seed=3)
    s2.submit(d2, n_iter=3)
    srv.wait_round(0)
    assert_models_equal(srv.global_model(), expected_model(
        srv.initial_model, [(d1, 2), (d2, 3)]))


def test_quit_ends_the_token(server):
    """site-1 quits: its token is refused UNAUTHENTICATED and status.json
    no longer lists it, while site-2 stays."""
    srv = server(min_num_clients=2)
    s1, s2 = srv.registered("site-1", "site-2")
    srv.wait_status("both listed",
                    lambda st: len(st["sites"]) == 2)
    s1.quit()
    expect_status(UNAUTHENTICATED, s1.heartbeat)
    srv.wait_status("site-1 gone",
                    lambda st: [s["name"] for s in st["sites"]]
                    == ["site-2"])


def test_register_for_another_project_is_invalid(server):
    """A ClientLogin naming another project (task): INVALID_ARGUMENT."""
    srv = server(min_num_clients=2)
    s1 = srv.site("site-1")
    s1.project = "another-project"
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, s1.register)


def test_max_num_clients_is_enforced(server):
    """max_num_clients 2: the third site gets RESOURCE_EXHAUSTED; a
    registered site registering again still may."""
    srv = server(min_num_clients=2, max_num_clients=2)
    s1, s2 = srv.registered("site-1", "site-2")
    s3 = srv.site("site-3")
    expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, s3.register)
    assert s1.register()


def test_missing_or_malformed_token_is_invalid_argument(server):
    """No token, or one that is not a token at all: INVALID_ARGUMENT;
    a well-formed token the server never gave: UNAUTHENTICATED."""
    srv = server(min_num_clients=2)
    s1, = srv.registered("site-1")
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, s1.heartbeat, token="")
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, s1.heartbeat,
                  token="not a token")
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, s1.get_model,
                  token="")
    expect_status(UNAUTHENTICATED, s1.heartbeat,
                  token="0" * len(s1.token))
    s1.heartbeat()


def test_token_in_metadata_only_is_accepted(server):
    """A site that sends its token as gRPC metadata x-custom-token, with
    the message's token field empty, is authenticated by it: Heartbeat
    and GetModel answer OK; a dead token in the metadata does not."""
    srv = server(min_num_clients=1)
    s1, = srv.registered("site-1")
    live = [("x-custom-token", s1.token)]
    beat = fpb.Token(client_name="site-1").SerializeToString()
    s1.call_raw("Heartbeat", fpb.FederatedSummary, beat, metadata=live)
    reply = s1.call_raw("GetModel", fpb.CurrentModel,
                        s1.state(token="").SerializeToString(),
                        metadata=live)
    assert reply.meta.current_round == 0

    old = s1.token
    s1.register()
    expect_status(UNAUTHENTICATED, s1.call_raw, "Heartbeat",
                  fpb.FederatedSummary, beat,
                  metadata=[("x-custom-token", old)])
