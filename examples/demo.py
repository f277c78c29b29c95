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
   server saved for that round on the held-out set, with numpy. Once the
   middle round has closed, the admin console (build/fladmin, logged in
   with the admin's certificate from the project's kits) answers
   check_status server; the demo prints what does not change from one
   run to the next (the round it has reached and the sites' times do).
5. Training over, cross-site validation (on in the configuration): each
   site submits its best local model (lowest log-loss on its own
   records), then validates the server's global model and the other
   sites' best models on its own records. The demo prints the matrix the
   server gathered (run_1/cross_val_results.json), having checked each
   accuracy against numpy on the model file the server stored.
6. The same model is trained centrally on the union of the shards
   (flsite -T: same initial model, same epochs in total) for comparison.
7. build/flaudit verifies admind's audit trail (the admin commands of
   step 4) against the last head admind published in its log.

Exit status 0 only if everything worked, the federated model's accuracy
is at least 0.95 and no more than two points below the central one, the
cross-site matrix is whole and agrees with numpy, the audit trail is
whole, and no server process is left behind. Started by root (make demo
creates the appliance's users), flserverctl runs the daemons as those
users, flnetd, flaggd and fladmind, in the appliance's layout, as in
production; the demo's folder is then opened for them to pass through,
and what aggd reads (the configuration, the initial model) is readable
by others. The sites, fladmin and flaudit run as the demo's user: they
are the hospitals, the operator and the auditor, not the appliance.
"""

import hashlib
import json
import os
import pwd
import re
import shutil
import signal
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
FLADMIN = os.path.join(REPO, "build", "fladmin")
FLAUDIT = os.path.join(REPO, "build", "flaudit")
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
MATRIX_TOLERANCE = 1e-9	# the sites' accuracies against numpy's
# check_status's columns that are the same in every run of the demo.
STATUS_COLUMNS = ("run", "state", "num_rounds", "site", "note")
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
        self.admin_kit = os.path.join(kits, project["admins"][0]["email"],
                                      "startup")
        self.run_dir = os.path.join(self.ws, "run_1")
        self.sites = {}
        self.started = False

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

    def hold_sites(self, hold):
        """Stop (SIGSTOP) or continue every site: held, they send nothing
        and no round can close."""
        for proc, _ in self.sites.values():
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGSTOP if hold else
                        signal.SIGCONT)

    def check_sites(self):
        for name, (proc, _) in self.sites.items():
            rc = proc.poll()
            if rc is not None and rc != 0:
                raise DemoError("%s exited with status %d" % (name, rc))

    def wait_round(self, number, deadline):
        """The provenance record of a closed round and its model file."""
        record_path = os.path.join(self.run_dir, "provenance",
                                   "round_%d.json" % number)
        while True:
            record = read_json(record_path)
            if record is not None:
                model = os.path.join(self.run_dir, "models",
                                     record.get("model", ""))
                if os.path.exists(model) and \
                        sha256_file(model) == record.get("model_sha256"):
                    return record, model
            self.check_sites()
            if time.monotonic() > deadline:
                raise DemoError("round %d did not close in time" % number)
            time.sleep(0.05)

    def admin(self, command):
        """One command through the real admin console, logged in with
        the admin's certificate (_cert_login); its output."""
        return run([FLADMIN, "-k", self.admin_kit, "-c", command],
                   "fladmin -c '%s'" % command, timeout=30)

    def last_audit_head(self):
        """SEQ:CHAIN of the last head admind published in its log."""
        heads = []
        with open(os.path.join(self.ws, "log", "admind.log"),
                  errors="replace") as f:
            for line in f:
                m = re.search(r"audit: seq (\d+) chain ([0-9a-f]+)$",
                              line.rstrip("\n"))
                if m:
                    heads.append("%s:%s" % m.groups())
        if not heads:
            raise DemoError("admind's log names no audit head")
        return heads[-1]

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

def text_tables(text):
    """The tables in fladmin's output, as lists of {column: cell}: a
    header line, a line of dashes under each column (two spaces apart),
    then rows, up to the next table's header or a line of another kind."""
    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines)
             if i > 0 and re.fullmatch(r"-+(  -+)*", line)]
    tables = []
    for k, i in enumerate(rules):
        starts = [m.start() for m in re.finditer(r"-+", lines[i])]
        bounds = list(zip(starts, starts[1:] + [None]))
        header = [lines[i - 1][a:b].strip() for a, b in bounds]
        end = rules[k + 1] - 1 if k + 1 < len(rules) else len(lines)
        rows = []
        for line in lines[i + 1:end]:
            if not line.strip():
                break
            rows.append(dict(zip(header, (line[a:b].strip()
                                          for a, b in bounds))))
        tables.append((header, rows))
    return tables


def print_table(header, rows, indent):
    """Aligned columns, as fladmin prints them."""
    cells = [header] + [[row.get(h, "") for h in header] for row in rows]
    width = [max(len(r[c]) for r in cells) for c in range(len(header))]
    for r in cells[:1] + [["-" * w for w in width]] + cells[1:]:
        print(indent + "  ".join(v.ljust(w) for v, w in
                                 zip(r, width)).rstrip())


def print_status(out, after):
    """The admin console's answer to check_status server, its columns
    that do not change from one run of the demo to the next."""
    tables = text_tables(out)
    if len(tables) < 2 or "state" not in tables[0][0] or \
            "site" not in tables[1][0]:
        raise DemoError("check_status server: unexpected answer:\n" + out)
    print("      after round %d, with the sites held for a moment, the admin "
          "console (fladmin -c" % after)
    print("      'check_status server') said (the round reached and the "
          "sites' last contact differ")
    print("      from run to run: not shown):")
    for header, rows in tables:
        keep = [h for h in header if h in STATUS_COLUMNS and
                any(row.get(h) for row in rows)]
        print_table(keep, rows, " " * 8)


def federated(run_, num_rounds, start_round, test):
    deadline = time.monotonic() + DEADLINE
    print("round  updates averaged (site: n_iter)          "
          "accuracy  log-loss")
    last = None
    middle = start_round + (num_rounds - start_round) // 2
    for number in range(start_round, num_rounds):
        record, model = run_.wait_round(number, deadline)
        status = None
        if number == middle:
            # A round takes a twentieth of a second here: the sites are
            # held for the console's answer, so that it shows training
            # under way however busy the machine is.
            run_.hold_sites(True)
            try:
                status = run_.admin("check_status server")
            finally:
                run_.hold_sites(False)
        contributions = sorted((s["site"], s["n_iter"])
                               for s in record["sites"])
        accuracy, log_loss = evaluate(model, test)
        print("%5d  %-40s %8.3f  %8.3f" % (
            number, ", ".join("%s: %d" % c for c in contributions),
            accuracy, log_loss), flush=True)
        if status is not None:
            print_status(status, number)
        last = (accuracy, log_loss)
    return last


def cross_site(run_, shards, names):
    """The cross-site matrix the server gathered, whole, every accuracy
    checked against numpy on the model file the server stored."""
    matrix = read_json(os.path.join(run_.run_dir, "cross_val_results.json"))
    owners = ["server"] + names
    models = {"server": os.path.join(run_.run_dir, "models",
                                     "FL_global_model.npz")}
    for name in names:
        models[name] = os.path.join(run_.run_dir, "cross_site",
                                    name + ".npz")
    if matrix is None or sorted(matrix) != sorted(names) or \
            any(sorted(matrix[v]) != sorted(owners) for v in names):
        raise DemoError("the cross-site matrix is not whole: %s" % (
            json.dumps(matrix),))
    for v, shard in zip(names, shards):
        for owner in owners:
            got = matrix[v][owner].get("accuracy")
            want = evaluate(models[owner], shard)[0]
            if got is None or abs(got - want) > MATRIX_TOLERANCE:
                raise DemoError("%s's accuracy on %s's model is %r, numpy "
                                "says %.17g" % (v, owner, got, want))
    return matrix


def print_matrix(matrix, names):
    owners = ["server"] + names
    print("cross-site validation: the accuracy of each model (columns: the "
          "server's global model,")
    print("each site's best local model) on each site's own patients "
          "(rows), as the sites measured")
    print("it, checked against numpy on the model files the server stored:")
    print("%-12s" % "" + "".join("%10s" % o for o in owners))
    for v in names:
        print("%-12s" % v + "".join("%10.3f" % matrix[v][o]["accuracy"]
                                    for o in owners))


def audit(run_):
    """flaudit's verdict on admind's audit trail, pinned to the last head
    admind published: (seq, verdict)."""
    trail = os.path.join(run_.ws, "audit")
    head = run_.last_audit_head()
    args = [FLAUDIT, "verify", "-k", os.path.join(trail, "audit.pub"),
            "-H", head, os.path.join(trail, "audit.log")]
    done = subprocess.run(args, capture_output=True, text=True, timeout=30)
    verdict = done.stdout.strip()
    if done.returncode != 0 or not verdict.startswith("audit trail OK"):
        raise DemoError("flaudit verify (exit %d): %s%s" % (
            done.returncode, done.stdout, done.stderr))
    return head.split(":")[0], verdict


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
        matrix = cross_site(run_, shards, site_names)
    except (DemoError, subprocess.SubprocessError, OSError):
        print(run_.log_tails(), file=sys.stderr)
        raise
    finally:
        run_.stop()
    left = run_.leftovers()
    if left:
        raise DemoError("processes left behind:\n  " + "\n  ".join(left))
    seq, verdict = audit(run_)

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
    print_matrix(matrix, site_names)
    print("audit: flaudit verify, pinned to the last head admind logged "
          "(seq %s): %s" % (seq, verdict))


def main():
    started = time.monotonic()
    tmp = None
    try:
        check_users()
        for path in (FLPROVISION, FLSERVERCTL, FLSITE, FLADMIN, FLAUDIT,
                     TABLE):
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
