"""The reference site, build/flsite, against the real daemons: sites that
train to the end and exit 0, a global model equal bit for bit to the same
federated run simulated with numpy, the same training as flsite -T, a
server model without "w" refused with a clear message, excluded variables
left untrained.
"""

import os
import subprocess

import numpy as np

from conftest import REPO
from model_math import assert_models_equal

FLSITE = os.path.join(REPO, "build", "flsite")
RUN_TIMEOUT = 90

EPOCHS, RATE, BATCH = 2, 0.5, 4

# Ten rows of four features, label last; the first six are site-1's.
TABLE = np.array([
    [0.5, 1.2, -0.3, 0.0, 1], [-1.0, 0.3, 0.8, 1.5, 0],
    [0.2, -0.7, 1.1, -0.4, 1], [1.3, 0.9, -1.2, 0.6, 1],
    [-0.6, -1.4, 0.5, 0.9, 0], [0.1, 0.4, 0.2, -1.0, 0],
    [0.9, -0.2, -0.5, 0.3, 1], [-1.1, 0.6, 1.4, 0.2, 0],
    [0.7, 1.0, 0.0, -0.6, 1], [-0.3, -0.9, -0.8, 1.2, 0],
])
SHARDS = {"site-1": TABLE[:6], "site-2": TABLE[6:]}


def logreg_model(features=4):
    return {"w": np.zeros(features, np.float32),
            "b": np.zeros(1, np.float32)}


def write_table(path, rows):
    header = ",".join("f%d" % i for i in range(rows.shape[1] - 1))
    with open(path, "w") as f:
        f.write(header + ",label\n")
        for row in rows:
            f.write(",".join(repr(float(v)) for v in row[:-1]))
            f.write(",%d\n" % int(row[-1]))
    return path


def sgd(model, rows):
    """flsite's training, independently: float64 mini-batch SGD in file
    order, stored as float32. Returns the model and the steps taken."""
    x, y = rows[:, :-1], rows[:, -1]
    w = model["w"].astype(np.float64)
    b = float(model["b"][0])
    steps = 0
    for _ in range(EPOCHS):
        for first in range(0, len(x), BATCH):
            xb, yb = x[first:first + BATCH], y[first:first + BATCH]
            p = 1.0 / (1.0 + np.exp(-(xb @ w + b)))
            w = w - RATE * (xb.T @ (p - yb)) / len(xb)
            b = b - RATE * (p - yb).sum() / len(xb)
            steps += 1
    out = dict(model)
    out["w"] = w.astype(np.float32)
    out["b"] = np.array([b], np.float32)
    return out, steps


def simulate(model, rounds):
    """The federated run: deltas in float32, averaged by n_iter."""
    for _ in range(rounds):
        deltas = []
        for rows in SHARDS.values():
            local, steps = sgd(model, rows)
            deltas.append(({k: (local[k].astype(np.float64) - model[k])
                            .astype(np.float32) for k in model}, steps))
        total = sum(steps for _, steps in deltas)
        model = {k: (model[k] + sum(d[k].astype(np.float64) * steps
                                    for d, steps in deltas) / total)
                 .astype(np.float32) for k in model}
    return model


def start_site(srv, name, table, tmp_path):
    kit = os.path.join(srv.project.folder, name, "startup")
    log = open(os.path.join(str(tmp_path), name + ".log"), "w+")
    proc = subprocess.Popen(
        [FLSITE, "-k", kit, "-d", table, "-e", str(EPOCHS), "-l", str(RATE),
         "-B", str(BATCH), "-b", "2", "-p", "1"],
        stdout=subprocess.DEVNULL, stderr=log)
    return proc, log


def finish(proc, log):
    try:
        code = proc.wait(timeout=RUN_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log.seek(0)
    text = log.read()
    log.close()
    return code, text


def run_sites(srv, tmp_path, names):
    procs = {}
    for name in names:
        table = write_table(os.path.join(str(tmp_path), name + ".csv"),
                            SHARDS[name])
        procs[name] = start_site(srv, name, table, tmp_path)
    return {name: finish(*p) for name, p in procs.items()}


def test_two_sites_train_to_the_end_and_match_numpy(server, tmp_path):
    """Three rounds of two flsite processes: both exit 0 once the server
    says training is over, each logs its rounds, and the global model is
    the numpy simulation of the same run, bit for bit."""
    srv = server(min_num_clients=2, num_rounds=3, model=logreg_model())
    results = run_sites(srv, tmp_path, ["site-1", "site-2"])
    for name, (code, text) in results.items():
        assert code == 0, "%s exited %d:\n%s\n%s" % (name, code, text,
                                                     srv.logs())
        assert "registered as %s" % name in text
        steps = 4 if name == "site-1" else 2
        rows = len(SHARDS[name])
        for r in range(3):
            assert ("round %d: trained %d steps on %d rows, update sent" %
                    (r, steps, rows)) in text, text
        assert "training finished" in text
    srv.wait_round(2)
    assert_models_equal(srv.global_model(),
                        simulate(logreg_model(), rounds=3))


def test_one_site_round_equals_local_training(server, tmp_path):
    """One site, one round, from zeros: the global model is what flsite -T
    makes of the same table: the federated and the central path share
    their training code."""
    srv = server(min_num_clients=1, num_rounds=1, model=logreg_model())
    code, text = run_sites(srv, tmp_path, ["site-1"])["site-1"]
    assert code == 0, text
    srv.wait_round(0)

    init = os.path.join(str(tmp_path), "init.npz")
    out = os.path.join(str(tmp_path), "out.npz")
    np.savez(init, **logreg_model())
    done = subprocess.run(
        [FLSITE, "-T", "-d", os.path.join(str(tmp_path), "site-1.csv"),
         "-m", init, "-o", out, "-e", str(EPOCHS), "-l", str(RATE),
         "-B", str(BATCH)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    with np.load(out) as npz:
        central = {k: npz[k].copy() for k in npz.files}
    assert_models_equal(srv.global_model(), central)


def test_model_without_w_is_refused_clearly(server, tmp_path):
    """A global model with no tensor "w" cannot be trained: the site says
    so and exits 1."""
    srv = server(min_num_clients=1, num_rounds=2,
                 model={"b": np.zeros(1, np.float32),
                        "v": np.zeros(4, np.float32)})
    code, text = run_sites(srv, tmp_path, ["site-1"])["site-1"]
    assert code == 1, text
    assert 'round 0: the server\'s model: the model has no tensor "w"' \
        in text


def test_excluded_variables_are_not_trained(server, tmp_path):
    """exclude_vars keeps "frozen" on the server: the site trains what it
    got, and the server's copy stays as it was."""
    model = logreg_model()
    model["frozen"] = np.arange(3, dtype=np.int32)
    srv = server(min_num_clients=1, num_rounds=1, model=model,
                 exclude_vars="frozen")
    code, text = run_sites(srv, tmp_path, ["site-1"])["site-1"]
    assert code == 0, text
    srv.wait_round(0)
    got = srv.global_model()
    assert got["frozen"].tolist() == [0, 1, 2]
    local, _ = sgd(logreg_model(), SHARDS["site-1"])
    assert_models_equal({k: got[k] for k in ("w", "b")}, local)
