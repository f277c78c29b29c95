"""A daemon killed (SIGKILL) in the middle of a round of a real run: three
build/flsite sites train a logistic regression on a small synthetic table
for several short rounds, and once a round is under way with some
updates in, aggd, netd or admind is killed. flserverctl's supervisor starts it
again; the run still reaches its last round, every site exits 0, the
final model file is whole and loads in numpy, and the round counter, as
the provenance records and state/status.json show it, never goes back.

- aggd resumes from state/aggd.json and redoes the open round; the sites
  learn that their tokens died (UNAUTHENTICATED) and register again.
- netd's restart is seen by the sites as a retry and nothing more: no
  site registers again.
- admind's restart loses no audit record, and its status view comes back.

Each test prints the recovery time: from the death to the first request
that succeeds afterwards (a site's Register for aggd and netd, an admin
command answered by admind for admind).
"""

import hashlib
import json
import os
import signal
import subprocess
import threading
import time

import grpc
import numpy as np

from admin_client import context, items_of_type, send_command
from conftest import ADMIN, REPO, wait_for
from site_client import read_json

FLSITE = os.path.join(REPO, "build", "flsite")
SITES = ("site-1", "site-2", "site-3")
PROBE_SITE = "site-4"
FEATURES = 4
ROWS = (40, 30, 20)
NUM_ROUNDS = 8
KILL_ROUND = 3
# Seconds between a site's asks for the next round: the last site asks
# less often, so that a round has some updates in for a while.
POLL = (1, 1, 2)
RUN_TIMEOUT = 120
# Seconds a round stays open after its last flsite update when a silent
# site holds it (Run's holder).
HOLD_SECONDS = 2
RECOVERY_MAX = 30	# seconds; the measured times are far below


def synthetic_table(path, rows, seed):
    """rows x FEATURES of standard normal features; label from a fixed
    linear rule, so that there is something to learn."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, FEATURES))
    y = (x @ np.array([1.0, -2.0, 0.5, 1.5]) > 0).astype(int)
    with open(path, "w") as f:
        f.write(",".join("f%d" % i for i in range(FEATURES)) + ",label\n")
        for features, label in zip(x, y):
            f.write(",".join(repr(float(v)) for v in features))
            f.write(",%d\n" % label)
    return path


class Run:
    """Three flsite processes on one server, and a watch on its rounds.

    With holder (a site's name), that site registers first and never
    sends an update: with wait_after_min_clients set, each round then
    stays open for that long after the three updates are in. Three sites
    alone can fall into step, each asking again right after its update
    and finding the next round open, so that rounds close within
    milliseconds and none is seen under way."""

    def __init__(self, srv, tmp_path, holder=None):
        self.srv = srv
        self.tmp = str(tmp_path)
        self.holder = srv.site(holder) if holder else None
        self.procs = {}
        self.samples = []		# (time, status round, provenance max)
        self.watching = True
        self.watcher = threading.Thread(target=self._watch, daemon=True)

    def start(self):
        if self.holder is not None:
            self.holder.register()
        for i, name in enumerate(SITES):
            table = synthetic_table(os.path.join(self.tmp, name + ".csv"),
                                    ROWS[i], seed=100 + i)
            log = open(os.path.join(self.tmp, name + ".log"), "w+")
            kit = os.path.join(self.srv.project.folder, name, "startup")
            self.procs[name] = (subprocess.Popen(
                [FLSITE, "-k", kit, "-d", table, "-e", "1", "-l", "0.3",
                 "-B", "8", "-b", "1", "-p", str(POLL[i])],
                stdout=subprocess.DEVNULL, stderr=log), log)
        self.watcher.start()

    def _provenance_max(self):
        folder = os.path.join(self.srv.run_dir, "provenance")
        try:
            names = os.listdir(folder)
        except OSError:
            return -1
        rounds = [int(n[6:-5]) for n in names
                  if n.startswith("round_") and n.endswith(".json")]
        return max(rounds, default=-1)

    def _watch(self):
        while self.watching:
            status = self.srv.status()
            self.samples.append((time.monotonic(),
                                 status["round"] if status else None,
                                 self._provenance_max()))
            time.sleep(0.02)

    def mid_round(self):
        """Wait until round KILL_ROUND or later is under way with some,
        not all, updates in (as status.json says); returns its number."""
        expected = len(SITES) + (self.holder is not None)

        def probe():
            s = self.srv.status()
            if s and s["state"] == "training" and \
                    s["round"] >= KILL_ROUND and \
                    0 < len(s["round_sites"]) < expected:
                return s["round"]
            return None
        return wait_for("a round under way with some updates in", probe,
                        60, interval=0.01)

    def finish(self):
        """Each site's exit code and log, once all have stopped."""
        out = {}
        deadline = time.monotonic() + RUN_TIMEOUT
        for name, (proc, log) in self.procs.items():
            try:
                code = proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                code = "killed: still running after %d s" % RUN_TIMEOUT
            log.seek(0)
            out[name] = (code, log.read())
            log.close()
        self.watching = False
        self.watcher.join()
        return out

    def stop(self):
        for proc, log in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
        self.watching = False
        if self.holder is not None:
            try:
                self.holder.quit()
            except grpc.RpcError:
                pass


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def assert_run_completed(srv, run, results):
    """Every site finished; every round has its record; the final model
    is whole; the round counter never went back."""
    for name, (code, text) in results.items():
        assert code == 0, "%s: %s\n%s\n%s" % (name, code, text, srv.logs())
        assert "training finished" in text, text

    last = NUM_ROUNDS - 1
    for number in range(NUM_ROUNDS):
        record = srv.wait_round(number, timeout=10)
        assert record["round"] == number
    record = read_json(srv.provenance_path(last))
    round_model = srv.model_path(record["model"])
    assert sha256_file(round_model) == record["model_sha256"]
    with np.load(srv.model_path(), allow_pickle=False) as npz:
        final = {k: npz[k].copy() for k in npz.files}
    with np.load(round_model, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(final) == ["b", "w"]
        for k in npz.files:
            assert np.array_equal(npz[k], final[k]), k
    assert final["w"].shape == (FEATURES,)
    assert np.all(np.isfinite(final["w"]))
    checkpoint = read_json(os.path.join(srv.ws, "state", "aggd.json"))
    assert checkpoint["round"] == NUM_ROUNDS

    statuses = [r for _, r, _ in run.samples if r is not None]
    provenance = [p for _, _, p in run.samples]
    assert statuses and provenance
    assert statuses == sorted(statuses), "status.json's round went back"
    assert provenance == sorted(provenance), "a provenance record vanished"


def first_registration_after(srv, since):
    """Seconds from since to the first Register that succeeds, each try
    on a fresh channel (no reconnection backoff in the way); the probe
    site quits at once so as not to hold up the rounds."""
    deadline = since + RECOVERY_MAX
    while time.monotonic() < deadline:
        site = srv.site(PROBE_SITE)
        try:
            site.register()
        except grpc.RpcError:
            site.close()
            time.sleep(0.02)
            continue
        took = time.monotonic() - since
        try:
            site.quit()
        except grpc.RpcError:
            pass
        site.close()
        return took
    raise AssertionError("no site request succeeded within %d s of the "
                         "death" % RECOVERY_MAX)


def kill_mid_round(srv, run, daemon):
    """Kill daemon in the middle of a round; returns (round, pid, time)."""
    number = run.mid_round()
    pid = srv.daemon_pid(daemon)
    os.kill(pid, signal.SIGKILL)
    return number, pid, time.monotonic()


def wait_restarted(srv, daemon, old):
    def probe():
        try:
            pid = srv.daemon_pid(daemon)
        except (OSError, ValueError, AssertionError):
            return None
        return pid if pid != old else None
    return wait_for("%s to be restarted" % daemon, probe, RECOVERY_MAX)


def report(daemon, what, seconds):
    print("\nrecovery: %s killed mid-round: %s after %.3f s" % (
        daemon, what, seconds))


def test_aggd_killed_mid_round(server, tmp_path):
    """aggd dies with some updates of a round in: it restarts from its
    checkpoint at that same round, the sites register again, and the
    run goes on to its last round."""
    srv = server(min_num_clients=3, num_rounds=NUM_ROUNDS,
                 wait_after_min_clients=1,
                 model={"w": np.zeros(FEATURES, np.float32),
                        "b": np.zeros(1, np.float32)})
    run = Run(srv, tmp_path)
    try:
        run.start()
        number, old, died = kill_mid_round(srv, run, "aggd")
        took = first_registration_after(srv, died)
        report("aggd", "first site request answered", took)
        wait_restarted(srv, "aggd", old)
        resumed = srv.wait_round(number, timeout=60)
        report("aggd", "round %d closed" % number,
               time.monotonic() - died)
        assert resumed["round"] == number
        results = run.finish()
    finally:
        run.stop()
    assert_run_completed(srv, run, results)
    assert any("registering again" in text for _, text in results.values())
    with open(os.path.join(srv.ws, "log", "aggd.log")) as f:
        assert "at round %d" % number in f.read()


def test_netd_killed_mid_round(server, tmp_path):
    """netd dies mid-round: the sites see it as unavailable for a moment
    and retry; none registers again, and the run goes on to its end."""
    srv = server(min_num_clients=3, num_rounds=NUM_ROUNDS,
                 wait_after_min_clients=1,
                 model={"w": np.zeros(FEATURES, np.float32),
                        "b": np.zeros(1, np.float32)})
    run = Run(srv, tmp_path)
    try:
        run.start()
        number, old, died = kill_mid_round(srv, run, "netd")
        took = first_registration_after(srv, died)
        report("netd", "first site request answered", took)
        wait_restarted(srv, "netd", old)
        results = run.finish()
    finally:
        run.stop()
    assert_run_completed(srv, run, results)
    for name, (_, text) in results.items():
        assert "registering again" not in text, "%s:\n%s" % (name, text)


def admind_answered(srv):
    """An admin command that admind itself answered: not netd's error
    for an admind that is away."""
    try:
        docs = send_command(srv.project.admin_port,
                            context(srv.project.kit(ADMIN)),
                            "_login %s wrong-password" % ADMIN)
    except OSError:
        return False
    errors = " ".join(str(e["data"]) for e in items_of_type(docs, "error"))
    return "admind is not running" not in errors and \
        "admind did not answer in time" not in errors


def audit_records(srv):
    path = os.path.join(srv.ws, "audit", "audit.log")
    try:
        with open(path) as f:
            return [json.loads(line) for line in f]
    except FileNotFoundError:
        return []


def test_admind_killed_mid_round(server, tmp_path):
    """admind dies mid-round: training does not notice; the restarted
    admind answers the console again, its status view comes back at the
    round where training is, and the audit trail keeps every record it
    had (when admind keeps one: admind/audit.c). A fourth site that
    never sends an update holds each round open HOLD_SECONDS after the
    three updates, so that admind dies with a round under way."""
    srv = server(min_num_clients=3, num_rounds=NUM_ROUNDS,
                 wait_after_min_clients=HOLD_SECONDS,
                 model={"w": np.zeros(FEATURES, np.float32),
                        "b": np.zeros(1, np.float32)})
    auditing = os.path.exists(os.path.join(REPO, "admind", "audit.c"))
    run = Run(srv, tmp_path, holder=PROBE_SITE)
    try:
        run.start()
        if auditing:
            assert admind_answered(srv)
        before = audit_records(srv)
        number, old, died = kill_mid_round(srv, run, "admind")
        wait_for("admind to answer again", lambda: admind_answered(srv),
                 RECOVERY_MAX, interval=0.02)
        report("admind", "first admin command answered",
               time.monotonic() - died)
        srv.wait_status("round %d or later again" % number,
                        lambda s: s["round"] >= number, RECOVERY_MAX)
        report("admind", "status view back", time.monotonic() - died)
        wait_restarted(srv, "admind", old)
        after = audit_records(srv)
        results = run.finish()
    finally:
        run.stop()
    assert_run_completed(srv, run, results)
    print("recovery: admind's audit trail: %d records before its death, "
          "%d after" % (len(before), len(after)))
    assert after[:len(before)] == before, "audit records lost or changed"
    if auditing and before:
        assert len(after) > len(before)
        assert [r["seq"] for r in after] == \
            list(range(1, len(after) + 1))
