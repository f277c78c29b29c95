"""Bad updates are refused whole and change nothing. Each case plays one
round on a shared server: site-1 sends the bad update and gets
INVALID_ARGUMENT naming site-1 and the tensor; site-2 and site-3 send
good ones; the round closes and the global model is byte-equal to what
numpy computes from the good updates alone.
"""

import io

import grpc
import numpy as np
import pytest

from model_math import assert_models_equal, expected_model, random_update
from site_client import (expect_status, model_data_bytes, model_entries,
                         tensor_bytes)


class SharedServer:
    """One server for the module, sites 1-3 registered; a case that fails
    discards it, so that the next case starts from a clean round."""

    def __init__(self, launcher):
        self.launcher = launcher
        self.srv = None
        self.sites = None

    def get(self):
        if self.srv is None:
            self.srv = self.launcher.start(min_num_clients=2,
                                           wait_after_min_clients=1)
            self.sites = self.srv.registered("site-1", "site-2", "site-3")
        return self.srv, self.sites

    def discard(self):
        if self.srv is not None:
            print("---- server logs (%s)\n%s" % (self.srv.ws,
                                                  self.srv.logs()))
            self.srv.stop()
            self.srv = None


@pytest.fixture(scope="module")
def shared(launcher):
    holder = SharedServer(launcher)
    yield holder
    if holder.srv is not None:
        holder.srv.stop()


def with_value(update, name, index, value):
    out = {k: v.copy() for k, v in update.items()}
    out[name][index] = value
    return model_data_bytes(model_entries(out)), 1


def without(update, name):
    out = {k: v for k, v in update.items() if k != name}
    return model_data_bytes(model_entries(out)), 1


def with_entries(update, extra):
    return model_data_bytes(model_entries(update) + extra), 1


def replaced(update, name, blob):
    entries = [(k, blob if k == name else v)
               for k, v in model_entries(update)]
    return model_data_bytes(entries), 1


def pickled_object_array():
    out = io.BytesIO()
    np.save(out, np.array([{"a": 1}, None], dtype=object),
            allow_pickle=True)
    return out.getvalue()


# name: (build(update) -> (ModelData bytes, n_iter), words the error names)
CASES = {
    "nan": (lambda u: with_value(u, "fc.weight", (3, 4), np.nan),
            ["fc.weight"]),
    "nan_half": (lambda u: with_value(u, "fc.bias", 2, np.nan),
                 ["fc.bias"]),
    "positive_inf": (lambda u: with_value(u, "conv1.bias", 5, np.inf),
                     ["conv1.bias"]),
    "negative_inf": (lambda u: with_value(u, "conv1.weight",
                                          (1, 2, 0, 1), -np.inf),
                     ["conv1.weight"]),
    "missing_key": (lambda u: without(u, "conv1.bias"), ["conv1.bias"]),
    "extra_key": (lambda u: with_entries(
        u, [("fc.extra", tensor_bytes(np.zeros(3, np.float32)))]),
        ["fc.extra"]),
    "key_twice": (lambda u: with_entries(
        u, [("fc.weight", tensor_bytes(u["fc.weight"]))]),
        ["fc.weight"]),
    "wrong_shape": (lambda u: replaced(
        u, "fc.weight", tensor_bytes(u["fc.weight"].reshape(30, 10))),
        ["fc.weight"]),
    "wrong_dtype": (lambda u: replaced(
        u, "conv1.weight",
        tensor_bytes(u["conv1.weight"].astype(np.float64))),
        ["conv1.weight"]),
    "truncated_npy": (lambda u: replaced(
        u, "fc.weight", tensor_bytes(u["fc.weight"])[:-7]),
        ["fc.weight"]),
    "pickled_objects": (lambda u: replaced(
        u, "conv1.bias", pickled_object_array()), ["conv1.bias"]),
    "n_iter_zero": (lambda u: (model_data_bytes(model_entries(u)), 0),
                    ["n_iter"]),
    "n_iter_negative": (lambda u: (model_data_bytes(model_entries(u)), -3),
                        ["n_iter"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_update_is_refused_and_changes_nothing(shared, case):
    """site-1's bad update (case): INVALID_ARGUMENT naming site-1 and the
    tensor; the round closes on site-2's and site-3's updates alone."""
    srv, sites = shared.get()
    try:
        play_bad_round(srv, sites, case)
    except BaseException:
        shared.discard()
        raise


def play_bad_round(srv, sites, case):
    s1, s2, s3 = sites
    meta, old = s1.get_model()
    current = meta.current_round
    build, words = CASES[case]
    data, n_iter = build(random_update(old, seed=100))
    expect_status(grpc.StatusCode.INVALID_ARGUMENT, s1.submit_data, data,
                  n_iter, contains=["site-1"] + words)

    good = []
    for seed, site in ((101, s2), (102, s3)):
        meta, model = site.get_model()
        assert meta.current_round == current
        update = random_update(model, seed=seed)
        site.submit(update, n_iter=seed - 99)
        good.append((update, seed - 99))
    record = srv.wait_round(current)
    assert sorted(s["site"] for s in record["sites"]) == ["site-2", "site-3"]
    assert_models_equal(srv.global_model(), expected_model(old, good))
