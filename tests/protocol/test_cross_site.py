"""Cross-site validation as grpcio sites play it against the real daemons:
after one training round, three sites submit their best local models,
each asks for the models it has not validated (the server's first, then
the other sites'), gets each one byte-exact, submits its metrics, and the
run's cross_val_results.json is exactly the matrix the sites sent. Also
what is refused, and a validation-only server that serves its fixed
model and finishes once every site has validated it.
"""

import os

import grpc

import federated_pb2 as fpb
from model_math import assert_models_equal, random_update, small_model
from site_client import (expect_status, model_entries, read_json,
                         tensor_from_bytes)


def submit_best(site, model, metrics):
    """SubmitBestLocalModel: the site's best local model and its own
    metrics on it."""
    data = fpb.ModelData(params={name: fpb.NDArray(ndarray=blob)
                                 for name, blob in model_entries(model)})
    request = fpb.LocalModel(client=site.state(), data=data,
                             metrics=metrics)
    return site.call_raw("SubmitBestLocalModel", fpb.FederatedSummary,
                         request.SerializeToString())


def next_model(site):
    """GetValidationModels: (owner, {name: array}, more_available)."""
    reply = site.call_raw("GetValidationModels", fpb.ValidationModel,
                          site.state().SerializeToString())
    model = {name: tensor_from_bytes(nd.ndarray)
             for name, nd in reply.data.params.items()}
    return reply.owner, model, reply.more_available


def submit_results(site, owner, metrics):
    request = fpb.ValidationResults(client=site.state(), owner=owner,
                                    metrics=metrics)
    return site.call_raw("SubmitCrossSiteValidationResults",
                         fpb.FederatedSummary, request.SerializeToString())


def train_one_round(srv, sites):
    """Round 0 with every site; training is then finished."""
    for seed, site in enumerate(sites):
        _, model = site.get_model()
        site.submit(random_update(model, seed=seed), n_iter=1)
    srv.wait_round(0)
    for site in sites:
        expect_status(grpc.StatusCode.OUT_OF_RANGE, site.get_model)


def test_three_sites_fill_the_matrix(server):
    """num_rounds 1, cross_site_validation on: each of three sites gets
    the server's global model and the two other best local models, each
    equal to what was saved or sent, then more_available false; the
    matrix holds each site's own metrics and every result sent."""
    srv = server(min_num_clients=3, num_rounds=1,
                 cross_site_validation=True)
    names = ["site-1", "site-2", "site-3"]
    sites = dict(zip(names, srv.registered(*names)))
    train_one_round(srv, list(sites.values()))
    expected = {}
    best = {}
    for i, name in enumerate(names):
        best[name] = small_model(seed=100 + i)
        submit_best(sites[name], best[name], {"accuracy": 0.5 + i / 10})
        expected[name] = {name: {"accuracy": 0.5 + i / 10}}
    best["server"] = srv.global_model()

    for i, name in enumerate(names):
        owners = ["server"] + [n for n in names if n != name]
        for k, owner in enumerate(owners):
            got, model, more = next_model(sites[name])
            assert (got, more) == (owner, k < len(owners) - 1)
            assert_models_equal(model, best[owner])
            metrics = {"accuracy": i + k / 4, "val.loss_1": -k / 3}
            submit_results(sites[name], owner, metrics)
            expected[name][owner] = metrics
        assert next_model(sites[name]) == ("", {}, False)

    matrix = read_json(os.path.join(srv.run_dir, "cross_val_results.json"))
    assert matrix == expected


def test_refusals_change_nothing(server):
    """While training runs, "No token"; then a best local model of the
    wrong shape, results for a model not given, and a NaN metric are
    refused, and the matrix holds only what was accepted."""
    srv = server(min_num_clients=2, num_rounds=1,
                 cross_site_validation=True)
    s1, s2 = srv.registered("site-1", "site-2")
    _, model = s1.get_model()
    expect_status(grpc.StatusCode.RESOURCE_EXHAUSTED, next_model, s1,
                  prefix="No token")
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, submit_best, s1,
                  small_model(), {})
    s1.submit(random_update(model, seed=1), n_iter=1)
    _, model = s2.get_model()
    s2.submit(random_update(model, seed=2), n_iter=1)
    srv.wait_round(0)

    wrong = small_model()
    wrong["fc.weight"] = wrong["fc.weight"][:5]
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, submit_best, s1, wrong,
                  {}, contains=("fc.weight", "shape"))
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, submit_results, s1,
                  "server", {"accuracy": 1.0}, contains=("not given",))
    owner, _, _ = next_model(s1)
    assert owner == "server"
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, submit_results, s1,
                  "server", {"accuracy": float("nan")})
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, submit_results, s1,
                  "nobody", {"accuracy": 1.0})
    submit_results(s1, "server", {"accuracy": 0.25})
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, submit_results, s1,
                  "server", {"accuracy": 0.5}, contains=("already in",))
    matrix = read_json(os.path.join(srv.run_dir, "cross_val_results.json"))
    assert matrix == {"site-1": {"server": {"accuracy": 0.25}}}


def test_validation_only_server_serves_its_fixed_model(server):
    """server_type validation_only, started by itself at min_num_clients
    2: GetModel says training is over (OUT_OF_RANGE), an update is
    refused, each site is given the initial model as "server", and once
    both sent their metrics the server's state is "finished"."""
    srv = server(min_num_clients=2, server_type="validation_only",
                 start_round=4)
    s1, s2 = srv.registered("site-1", "site-2")
    srv.wait_status("validating", lambda st: st["state"] == "training")
    expect_status(grpc.StatusCode.OUT_OF_RANGE, s1.get_model,
                  contains=("cross-site validation",))
    expect_status(grpc.StatusCode.FAILED_PRECONDITION, s1.submit,
                  srv.initial_model, n_iter=1, current_round=4,
                  prefix="Contrib")

    for i, site in enumerate((s1, s2)):
        owner, model, _ = next_model(site)
        assert owner == "server"
        assert_models_equal(model, srv.initial_model)
        submit_results(site, "server", {"dice": 0.8 + i / 10})
    assert next_model(s1) == ("", {}, False)
    srv.wait_status("finished", lambda st: st["state"] == "finished")
    assert srv.status()["round"] == 4
    matrix = read_json(os.path.join(srv.run_dir, "cross_val_results.json"))
    assert matrix == {"site-1": {"server": {"dice": 0.8}},
                      "site-2": {"server": {"dice": 0.9}}}
