#!/usr/bin/python3
"""demo - a real federated training run on real patient data.

    make demo        (or: /usr/bin/python3 examples/demo.py)

Three hospitals train a logistic regression on the Wisconsin diagnostic
breast cancer table that Debian's python3-sklearn ships (569 patients,
30 features), without pooling their records:

1. flprovision makes the PKI and the startup kits for examples/project.json
   in a temporary folder, on free ports chosen now, so that a busy 8002 or
   a second demo does not get in the way.
2. The table is shuffled with a fixed seed; about 20% is held out as the
   test set; the rest is split into three unequal site shards (50/30/20%).
3. packaging/flserverctl starts netd, aggd and admind with
   examples/config_fed_server.json; three build/flsite processes train.
4. For each round, the demo reads the provenance record the server wrote
   (which sites' updates were averaged) and evaluates the model file the
   server saved for that round on the held-out set, with numpy.
5. The same model is trained centrally on the union of the shards
   (flsite -T: same initial model, same epochs in total) for comparison.

Exit status 0 only if everything worked, the federated model's accuracy
is at least 0.95 and no more than two points below the central one, and
no server process is left behind. Started by root (make demo creates the
appliance's users), flserverctl runs the daemons as those users, flnetd,
flaggd and fladmind, in the appliance's layout, as in production; the
demo's folder is then opened for them to pass through, and what aggd
reads (the configuration, the initial model) is readable by others.
"""

import hashlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLPROVISION = os.path.join(REPO, "tools", "flprovision")
FLSERVERCTL = os.path.join(REPO, "packaging", "flserverctl")
FLSITE = os.path.join(REPO, "build", "flsite")
PROJECT = os.path.join(REPO, "examples", "project.json")
CONFIG = os.path.join(REPO, "examples", "config_fed_server.json")
TABLE = "/usr/lib/python3/dist-packages/sklearn/datasets/data/" \
    "breast_cancer.csv"

SEED = 20240501
TEST_FRACTION = 0.2
SHARES = (0.5, 0.3, 0.2)	# of the training rows, site by site

# Each site's training in a round; the central run gets the same settings
# and as many epochs as a site trains over all the rounds.
EPOCHS = 1
RATE = 0.1
BATCH = 16
HEARTBEAT = 5		# seconds
POLL = 1		# seconds between a site's asks for the next round

MIN_ACCURACY = 0.95
MAX_BEHIND_CENTRAL = 0.02
DEADLINE = 110		# seconds for the whole federated run
LOG_TAIL = 15


class DemoError(Exception):
    """Something failed; the message says what."""


# -- setting up -------------------------------------------------------------

def check_users():
    """Started by root, the daemons become the appliance's users."""
    if os.geteuid() != 0 or os.environ.get("FLSERVER_USER"):
        return
    for name in ("flnetd", "flaggd", "fladmind"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            raise DemoError("started as root, the daemons run as user %s, "
                            "which does not exist (run packaging/"
                            "create-users, or make demo)" % name)
    print("demo: started as root; the daemons run as flnetd, flaggd and "
          "fladmind")


def free_ports(count):
    """Ports nothing listens on now, held open until all are chosen."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def run(args, what, timeout=60):
    done = subprocess.run(args, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise DemoError("%s failed (exit %d):\n%s%s" % (
            what, done.returncode, done.stdout, done.stderr))
    return done.stdout


def provision(tmp):
    with open(PROJECT) as f:
        project = json.load(f)
    fl_port, admin_port = free_ports(2)
    project["server"]["fed_learn_port"] = fl_port
    project["server"]["admin_port"] = admin_port
    path = os.path.join(tmp, "project.json")
    with open(path, "w") as f:
        json.dump(project, f, indent=2)
    kits = os.path.join(tmp, "kits")
    run([FLPROVISION, "-p", path, "-o", kits], "flprovision")
    return project, kits


def load_table():
    """The 569 x 30 features and the 0/1 labels, checked."""
    with open(TABLE) as f:
        head = f.readline().strip().split(",")
    if len(head) < 2 or not head[0].isdigit() or not head[1].isdigit():
        raise DemoError("%s: unexpected first line %r" % (TABLE, head))
    rows, features = int(head[0]), int(head[1])
    table = np.loadtxt(TABLE, delimiter=",", skiprows=1, ndmin=2)
    if table.shape != (rows, features + 1) or \
            not np.isin(table[:, -1], (0, 1)).all():
        raise DemoError("%s: expected %d rows of %d features and a 0/1 "
                        "label, found shape %s" % (TABLE, rows, features,
                                                   table.shape))
    return table[:, :-1], table[:, -1]


def split(x, y):
    """A fixed held-out test set, standardized training shards."""
    order = np.random.default_rng(SEED).permutation(len(y))
    x, y = x[order], y[order]
    n_test = int(round(TEST_FRACTION * len(y)))
    x_test, y_test = x[:n_test], y[:n_test]
    x_train, y_train = x[n_test:], y[n_test:]

    # The consortium's agreed scaling: each feature centred and scaled by
    # the mean and standard deviation of the training rows, which every
    # hospital applies to its own records and the evaluation to the test
    # set. The test set never informs the scaling.
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0
    x_train = (x_train - mean) / std
    x_test = (x_test - mean) / std

    bounds = np.cumsum([0] + [int(s * len(y_train)) for s in SHARES[:-1]])
    bounds = list(bounds) + [len(y_train)]
    shards = [(x_train[a:b], y_train[a:b])
              for a, b in zip(bounds[:-1], bounds[1:])]
    return shards, (x_test, y_test)


def write_table(path, x, y):
    header = ",".join("x%d" % (i + 1) for i in range(x.shape[1]))
    np.savetxt(path, np.column_stack([x, y]), delimiter=",",
               fmt=["%.17g"] * x.shape[1] + ["%d"],
               header=header + ",label", comments="")


def write_config(tmp, features):
    """The training configuration and the initial model it names."""
    folder = os.path.join(tmp, "config")
    os.mkdir(folder)
    config = os.path.join(folder, "config_fed_server.json")
    shutil.copyfile(CONFIG, config)
    with open(config) as f:
        settings = json.load(f)["servers"][0]
    initial = os.path.join(folder, settings["ckpt_preload_path"])
    np.savez(initial, w=np.zeros(features, dtype=np.float32),
             b=np.zeros(1, dtype=np.float32))
    # aggd reads both as its own user, whatever the umask.
    os.chmod(folder, 0o755)
    os.chmod(config, 0o644)
    os.chmod(initial, 0o644)
    return config, initial, settings["num_rounds"], \
        settings.get("start_round", 0)


# -- evaluating -------------------------------------------------------------

def evaluate(model_path, test):
    """Accuracy (threshold 0.5) and mean log-loss of a saved model."""
    x, y = test
    with np.load(model_path, allow_pickle=False) as npz:
        w = npz["w"].astype(np.float64)
        b = npz["b"].astype(np.float64)
    z = x @ w + b[0]
    p = 0.5 * (1.0 + np.tanh(0.5 * z))
    p = np.clip(p, 1e-15, 1.0 - 1e-15)
    accuracy = float(np.mean((p >= 0.5) == (y == 1)))
    log_loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return accuracy, log_loss


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class Run:
    """The running server, its sites, and what the demo reads of them."""

    def __init__(self, tmp, project, kits, config):
        self.tmp = tmp
        self.project = project
        self.kits = kits
        self.config = config
        self.ws = os.path.join(tmp, "workspace")
        self.logs = os.path.join(tmp, "logs")
        self.sites = {}
        self.started = False
        self.snapshot = None

    def start_server(self):
        os.mkdir(self.ws, 0o700)
        shutil.copytree(os.path.join(self.kits, "server", "startup"),
                        os.path.join(self.ws, "startup"))
        self.started = True
        run([FLSERVERCTL, "start", self.ws, self.config],
            "flserverctl start")

    def start_sites(self, shard_files):
        os.mkdir(self.logs)
        for name, data in shard_files.items():
            log = open(os.path.join(self.logs, name + ".log"), "w")
            self.sites[name] = (subprocess.Popen(
                [FLSITE, "-k", os.path.join(self.kits, name, "startup"),
                 "-d", data, "-e", str(EPOCHS), "-l", str(RATE),
                 "-B", str(BATCH), "-b", str(HEARTBEAT), "-p", str(POLL)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log), log)

    def check_sites(self):
        for name, (proc, _) in self.sites.items():
            rc = proc.poll()
            if rc is not None and rc != 0:
                raise DemoError("%s exited with status %d" % (name, rc))

    def wait_round(self, number, deadline, middle):
        """The provenance record of a closed round and its model file."""
        run_dir = os.path.join(self.ws, "run_1")
        record_path = os.path.join(run_dir, "provenance",
                                   "round_%d.json" % number)
        while True:
            self.watch_status(middle)
            record = read_json(record_path)
            if record is not None:
                model = os.path.join(run_dir, "models",
                                     record.get("model", ""))
                if os.path.exists(model) and \
                        sha256_file(model) == record.get("model_sha256"):
                    return record, model
            self.check_sites()
            if time.monotonic() > deadline:
                raise DemoError("round %d did not close in time" % number)
            time.sleep(0.05)

    def status(self):
        return read_json(os.path.join(self.ws, "state", "status.json"))

    def watch_status(self, middle):
        """Keep the first status.json that shows round middle or a later
        one under way: rounds may run ahead of the rows printed."""
        if self.snapshot is not None:
            return
        status = self.status()
        if status is not None and status["state"] == "training" and \
                status["round"] >= middle:
            self.snapshot = status

    def wait_sites(self, timeout):
        """The sites stop by themselves once training is over."""
        end = time.monotonic() + timeout
        for name, (proc, log) in self.sites.items():
            try:
                rc = proc.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise DemoError("%s still runs after training ended" % name)
            log.close()
            if rc != 0:
                raise DemoError("%s exited with status %d" % (name, rc))

    def stop(self):
        for name, (proc, log) in self.sites.items():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()
        if self.started:
            self.started = False
            run([FLSERVERCTL, "stop", self.ws], "flserverctl stop")

    def leftovers(self):
        """Processes still running with this demo's folder in their
        command line: there must be none."""
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(
                        errors="replace")
            except OSError:
                continue
            if self.tmp in cmdline:
                found.append("%s: %s" % (pid, cmdline.strip()))
        return found

    def log_tails(self):
        out = []
        for folder in (os.path.join(self.ws, "log"), self.logs):
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                with open(os.path.join(folder, name),
                          errors="replace") as f:
                    tail = f.readlines()[-LOG_TAIL:]
                out.append("--- %s:\n%s" % (os.path.join(folder, name),
                                            "".join(tail)))
        return "\n".join(out)


# -- the run ----------------------------------------------------------------

def print_state(status):
    """The server's state as admind wrote it while a round ran (up to a
    quarter of a second behind aggd)."""
    if status is None:
        print("      server state: state/status.json not written yet")
        return
    sites = ", ".join("%s (last contact %s)" % (s["name"],
                                               s["last_contact"][11:19])
                      for s in status["sites"])
    print("      while round %d ran, state/status.json said: run %d, "
          "num_rounds %d, %s; %d sites live: %s; updates in by then: %s" % (
              status["round"], status["run"], status["num_rounds"],
              status["state"], len(status["sites"]), sites,
              ", ".join(status["round_sites"]) or "none"))


def federated(run_, num_rounds, start_round, test):
    deadline = time.monotonic() + DEADLINE
    print("round  updates averaged (site: n_iter)          "
          "accuracy  log-loss")
    last = None
    shown = False
    middle = start_round + (num_rounds - start_round) // 2
    for number in range(start_round, num_rounds):
        record, model = run_.wait_round(number, deadline, middle)
        contributions = sorted((s["site"], s["n_iter"])
                               for s in record["sites"])
        accuracy, log_loss = evaluate(model, test)
        print("%5d  %-40s %8.3f  %8.3f" % (
            number, ", ".join("%s: %d" % c for c in contributions),
            accuracy, log_loss), flush=True)
        if run_.snapshot is not None and not shown:
            print_state(run_.snapshot)
            shown = True
        last = (accuracy, log_loss)
    if not shown:
        print_state(run_.status())
    return last


def central(tmp, shards, initial, rounds, test):
    union = os.path.join(tmp, "central.csv")
    write_table(union, np.concatenate([x for x, _ in shards]),
                np.concatenate([y for _, y in shards]))
    out = os.path.join(tmp, "central.npz")
    run([FLSITE, "-T", "-d", union, "-m", initial, "-o", out,
         "-e", str(EPOCHS * rounds), "-l", str(RATE), "-B", str(BATCH)],
        "central training (flsite -T)", timeout=120)
    return evaluate(out, test)


def demo(tmp):
    project, kits = provision(tmp)
    x, y = load_table()
    shards, test = split(x, y)
    site_names = [s["name"] for s in project["sites"]]
    shard_files = {}
    for (sx, sy), name in zip(shards, site_names):
        shard_files[name] = os.path.join(tmp, name + ".csv")
        write_table(shard_files[name], sx, sy)
    config, initial, num_rounds, start_round = write_config(tmp, x.shape[1])
    rounds = num_rounds - start_round

    print("demo: %d patients, %d features; %d held out for testing" % (
        len(y), x.shape[1], len(test[1])))
    print("demo: %s" % ", ".join(
        "%s (%s): %d patients" % (s["name"], s["org"], len(sy))
        for s, (_, sy) in zip(project["sites"], shards)))
    print("demo: %d rounds; each site trains %d epoch(s) per round, "
          "learning rate %g, batch %d" % (rounds, EPOCHS, RATE, BATCH))

    run_ = Run(tmp, project, kits, config)
    try:
        run_.start_server()
        print("demo: server started (ports %d and %d)" % (
            project["server"]["fed_learn_port"],
            project["server"]["admin_port"]))
        run_.start_sites(shard_files)
        fed = federated(run_, num_rounds, start_round, test)
        run_.wait_sites(30)
    except (DemoError, subprocess.SubprocessError, OSError):
        print(run_.log_tails(), file=sys.stderr)
        raise
    finally:
        run_.stop()
    left = run_.leftovers()
    if left:
        raise DemoError("processes left behind:\n  " + "\n  ".join(left))

    cen = central(tmp, shards, initial, rounds, test)
    print("central: one site holding all %d training patients, %d epochs: "
          "accuracy %.3f, log-loss %.3f" % (
              sum(len(sy) for _, sy in shards), EPOCHS * rounds, *cen))
    print("federated, after the last round:%s accuracy %.3f, log-loss "
          "%.3f" % (" " * 14, *fed))
    if fed[0] < MIN_ACCURACY:
        raise DemoError("federated accuracy %.3f is below %.2f" % (
            fed[0], MIN_ACCURACY))
    if fed[0] < cen[0] - MAX_BEHIND_CENTRAL:
        raise DemoError("federated accuracy %.3f is more than %.0f points "
                        "below central %.3f" % (fed[0],
                                                100 * MAX_BEHIND_CENTRAL,
                                                cen[0]))
    print("demo: OK: federated accuracy %.3f >= %.2f and within %.0f points "
          "of central (%.3f)" % (fed[0], MIN_ACCURACY,
                                 100 * MAX_BEHIND_CENTRAL, cen[0]))


def main():
    started = time.monotonic()
    tmp = None
    try:
        check_users()
        for path in (FLPROVISION, FLSERVERCTL, FLSITE, TABLE):
            if not os.path.exists(path):
                raise DemoError("%s is missing (run make first)" % path)
        tmp = tempfile.mkdtemp(prefix="fldemo.")
        # The daemons' users pass through to the workspace and config.
        os.chmod(tmp, 0o711)
        demo(tmp)
    except (DemoError, subprocess.SubprocessError, OSError) as e:
        print("demo: FAILED: %s" % e, file=sys.stderr)
        if tmp is not None:
            print("demo: files kept in %s" % tmp, file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("demo: finished in %.0f s" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
