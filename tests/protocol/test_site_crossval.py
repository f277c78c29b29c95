"""Cross-site validation as the reference site plays it: three build/flsite
processes train three rounds on small tables of their own against the
real daemons with cross_site_validation on, then each submits its best
local model (the round whose local model had the lowest log-loss on its
own table), validates the server's global model and the two other sites'
best models on its table, reports accuracy and log-loss, and exits 0.
The matrix aggd wrote is checked against numpy: every cell against the
model file aggd stored, on the validating site's table. Also: a site
whose token dies while it waits for a model registers again and goes on;
-X skips the phase; a server without cross-site validation ends it at
once.
"""

import os
import subprocess

import numpy as np

import federated_pb2 as fpb
from conftest import REPO, wait_for
from model_math import assert_models_equal
from site_client import model_entries, read_json

FLSITE = os.path.join(REPO, "build", "flsite")
RUN_TIMEOUT = 90
TOLERANCE = 1e-9

EPOCHS, RATE, BATCH, ROUNDS = 2, 0.5, 4, 3
NAMES = ["site-1", "site-2", "site-3"]
FEATURES = 4


def make_tables():
    """Three tables of 10, 8 and 6 rows, labels from a linear rule with
    a fifth flipped. site-3's rule is not the others': the global model
    pulls away from it, so that its best local model is round 0's, and
    site-2's too, whose round 1 has a better accuracy but a worse
    log-loss; site-1's best is the last round's."""
    rng = np.random.default_rng(7)
    rules = {"site-1": [1.0, -0.5, 0.8, 0.2],
             "site-2": [1.0, -0.5, 0.8, 0.2],
             "site-3": [-1.0, 0.5, 0.3, 0.2]}
    tables = {}
    for name, rows in zip(NAMES, (10, 8, 6)):
        x = np.round(rng.standard_normal((rows, FEATURES)), 3)
        y = (x @ np.array(rules[name]) > 0).astype(float)
        flip = rng.random(rows) < 0.2
        y[flip] = 1 - y[flip]
        tables[name] = np.column_stack([x, y])
    return tables


TABLES = make_tables()


def logreg_model():
    return {"w": np.zeros(FEATURES, np.float32),
            "b": np.zeros(1, np.float32)}


def write_table(path, rows):
    header = ",".join("f%d" % i for i in range(rows.shape[1] - 1))
    with open(path, "w") as f:
        f.write(header + ",label\n")
        for row in rows:
            f.write(",".join(repr(float(v)) for v in row[:-1]))
            f.write(",%d\n" % int(row[-1]))
    return path


def evaluate(model, rows):
    """Accuracy (threshold 0.5) and mean log-loss, in float64."""
    x, y = rows[:, :-1], rows[:, -1]
    w = model["w"].astype(np.float64)
    b = float(model["b"].astype(np.float64)[0])
    p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
    accuracy = float(np.mean((p >= 0.5) == (y == 1)))
    p = np.clip(p, 1e-15, 1.0 - 1e-15)
    log_loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return accuracy, log_loss


def load(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k].copy() for k in npz.files}


def sgd(model, rows):
    """flsite's local training: float64 mini-batch SGD in file order,
    stored as float32; returns the model and the steps taken."""
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
    return {"w": w.astype(np.float32),
            "b": np.array([b], np.float32)}, steps


def best_local_models():
    """The federated run in numpy; for each site (round, local model) of
    the round with the lowest log-loss on its own table (the earliest on
    a tie)."""
    model = logreg_model()
    best = {}
    for number in range(ROUNDS):
        deltas = []
        for name in NAMES:
            local, steps = sgd(model, TABLES[name])
            loss = evaluate(local, TABLES[name])[1]
            if name not in best or loss < best[name][0]:
                best[name] = (loss, number, local)
            deltas.append(({k: (local[k].astype(np.float64) - model[k])
                            .astype(np.float32) for k in model}, steps))
        total = sum(steps for _, steps in deltas)
        model = {k: (model[k] + sum(d[k].astype(np.float64) * steps
                                    for d, steps in deltas) / total)
                 .astype(np.float32) for k in model}
    return {name: (number, local)
            for name, (_, number, local) in best.items()}


def start_sites(srv, tmp_path, names, extra=()):
    """One flsite per name on its table: {name: (process, log file)}."""
    procs = {}
    for name in names:
        table = write_table(os.path.join(str(tmp_path), name + ".csv"),
                            TABLES[name])
        log = open(os.path.join(str(tmp_path), name + ".log"), "w+")
        kit = os.path.join(srv.project.folder, name, "startup")
        procs[name] = (subprocess.Popen(
            [FLSITE, "-k", kit, "-d", table, "-e", str(EPOCHS),
             "-l", str(RATE), "-B", str(BATCH), "-b", "2", "-p", "1"] +
            list(extra), stdout=subprocess.DEVNULL, stderr=log), log)
    return procs


def finish_sites(procs):
    """Wait for every site to end: {name: (exit status, log text)}."""
    results = {}
    for name, (proc, log) in procs.items():
        try:
            code = proc.wait(timeout=RUN_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log.seek(0)
        results[name] = (code, log.read())
        log.close()
    return results


def run_sites(srv, tmp_path, names, extra=()):
    return finish_sites(start_sites(srv, tmp_path, names, extra))


def log_count(log, text):
    """How many times a site's log says text, so far."""
    with open(log.name) as f:
        return f.read().count(text)


def assert_all_exited_0(srv, results):
    for name, (code, text) in results.items():
        assert code == 0, "%s exited %d:\n%s\n%s" % (name, code, text,
                                                     srv.logs())


def test_three_sites_fill_the_matrix_numpy_agrees(server, tmp_path):
    """Every site validates the server's model and the two others' best
    models and reports its own: a full 3 x 4 matrix, each cell equal to
    numpy's accuracy and log-loss of the model file aggd stored on the
    validating site's table; each stored best model is the local model
    of the round with the lowest log-loss on the site's own table."""
    srv = server(min_num_clients=3, num_rounds=ROUNDS,
                 cross_site_validation=True, model=logreg_model())
    results = run_sites(srv, tmp_path, NAMES)
    assert_all_exited_0(srv, results)
    for _, text in results.values():
        assert "cross-site validation finished: 3 models validated" in \
            text, text

    matrix = read_json(os.path.join(srv.run_dir, "cross_val_results.json"))
    owners = ["server"] + NAMES
    assert sorted(matrix) == NAMES
    models = {"server": srv.global_model()}
    for owner in NAMES:
        models[owner] = load(os.path.join(srv.run_dir, "cross_site",
                                          owner + ".npz"))
    for site in NAMES:
        assert sorted(matrix[site]) == sorted(owners), matrix[site]
        for owner in owners:
            cell = matrix[site][owner]
            assert sorted(cell) == ["accuracy", "log_loss"]
            accuracy, log_loss = evaluate(models[owner], TABLES[site])
            assert abs(cell["accuracy"] - accuracy) <= TOLERANCE, \
                (site, owner, cell, accuracy)
            assert abs(cell["log_loss"] - log_loss) <= TOLERANCE, \
                (site, owner, cell, log_loss)

    expected = best_local_models()
    assert [expected[name][0] for name in NAMES] == [2, 0, 0]
    for name in NAMES:
        number, local = expected[name]
        assert_models_equal(models[name], local)
        assert "best local model submitted: round %d's" % number in \
            results[name][1]


def test_site_registers_again_while_it_waits(server, tmp_path):
    """site-3 (grpcio) registers and stays silent, so the two flsites,
    once they have validated what there is, wait for its best model. A
    registration as site-1 kills site-1's token: its flsite registers
    again and waits on; site-3's model then comes in, both flsites
    validate it and exit 0, and both rows of the matrix are whole."""
    srv = server(min_num_clients=2, num_rounds=1, wait_after_min_clients=1,
                 cross_site_validation=True, model=logreg_model())
    silent = srv.registered("site-3")[0]
    procs = start_sites(srv, tmp_path, ["site-1", "site-2"], extra=["-v"])
    try:
        for name, (_, log) in procs.items():
            wait_for(name + " to wait for site-3", lambda: log_count(
                log, "waiting for the best local model of 1 more site"), 60)
        srv.site("site-1").register()
        # Its relay, its heartbeat or its next ask finds the token dead.
        wait_for("site-1 to register again", lambda: log_count(
            procs["site-1"][1], "registered as site-1 with") == 2, 30)

        model = {"w": np.full(FEATURES, 0.25, np.float32),
                 "b": np.zeros(1, np.float32)}
        data = fpb.ModelData(params={name: fpb.NDArray(ndarray=blob)
                                     for name, blob in model_entries(model)})
        silent.call_raw("SubmitBestLocalModel", fpb.FederatedSummary,
                        fpb.LocalModel(client=silent.state(), data=data,
                                       metrics={"accuracy": 0.5})
                        .SerializeToString())
    finally:
        results = finish_sites(procs)
    assert_all_exited_0(srv, results)
    assert "registering again" in results["site-1"][1]

    matrix = read_json(os.path.join(srv.run_dir, "cross_val_results.json"))
    for site in ("site-1", "site-2"):
        assert sorted(matrix[site]) == ["server", "site-1", "site-2",
                                        "site-3"], matrix
        accuracy, _ = evaluate(model, TABLES[site])
        assert abs(matrix[site]["site-3"]["accuracy"] - accuracy) <= \
            TOLERANCE
    assert matrix["site-3"] == {"site-3": {"accuracy": 0.5}}


def test_flag_x_skips_cross_site_validation(server, tmp_path):
    """-X: training ends, the sites quit at once and exit 0; no best
    model is stored and no matrix written."""
    srv = server(min_num_clients=3, num_rounds=1,
                 cross_site_validation=True, model=logreg_model())
    results = run_sites(srv, tmp_path, NAMES, extra=["-X"])
    assert_all_exited_0(srv, results)
    for _, text in results.values():
        assert "training finished" in text
        assert "cross-site validation" not in text
    assert not os.path.exists(os.path.join(srv.run_dir, "cross_site"))
    assert not os.path.exists(os.path.join(srv.run_dir,
                                           "cross_val_results.json"))


def test_server_without_cross_site_validation(server, tmp_path):
    """cross_site_validation off: the site is told so, says why it
    stops, and exits 0; nothing is stored."""
    srv = server(min_num_clients=1, num_rounds=1, model=logreg_model())
    code, text = run_sites(srv, tmp_path, ["site-1"])["site-1"]
    assert code == 0, text
    assert "cross-site validation: the server has none (cross-site " \
        "validation is not enabled on this server" in text, text
    assert not os.path.exists(os.path.join(srv.run_dir, "cross_site"))
