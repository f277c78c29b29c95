"""Fixtures for the protocol tests: the real daemons (build/netd, aggd,
admind) started with packaging/flserverctl, on a project provisioned with
tools/flprovision (four sites site-1..site-4, each of its own org
hospital-N, and one admin of each role of the demo policy: ROLE_ADMINS;
ports chosen at run time), spoken to over mutual TLS by Python grpcio.

- `project`: the provisioned kits, once per session.
- `foreign_project`: a second project with its own root CA.
- `server(**settings)`: writes a training configuration and an initial
  model, starts the daemons on a fresh workspace, and stops them when the
  test ends, whatever happened.
- `Server.site(name)`: a site's channel with its own key pair.
"""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD_PY = os.path.join(REPO, "build", "py")
FLPROVISION = os.path.join(REPO, "tools", "flprovision")
FLSERVERCTL = os.path.join(REPO, "packaging", "flserverctl")

SITES = ["site-1", "site-2", "site-3", "site-4"]
ADMIN = "admin@protocol.example.org"
PROJECT = "protocol-test"
# One admin per role of policy/authorization.json: (email, org, roles).
# The site roles belong to hospital-1, the org of site-1 only.
ROLE_ADMINS = {
    "super": (ADMIN, "consortium", ["super"]),
    "lead_it": ("lead-it@protocol.example.org", "consortium", ["lead_it"]),
    "site_it": ("site-it@hospital-1.example.org", "hospital-1",
                ["site_it"]),
    "lead_researcher": ("lead-researcher@protocol.example.org",
                        "consortium", ["lead_researcher"]),
    "site_researcher": ("site-researcher@hospital-1.example.org",
                        "hospital-1", ["site_researcher"]),
}

if not os.path.exists(os.path.join(BUILD_PY, "federated_pb2.py")):
    subprocess.run(["make", "-C", REPO, "build/py/federated_pb2.py"],
                   check=True, stdout=subprocess.DEVNULL)
sys.path.insert(0, BUILD_PY)

from model_math import small_model  # noqa: E402
from site_client import Kit, Site, read_json  # noqa: E402

START_TIMEOUT = 60
STOP_TIMEOUT = 60


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, probe, timeout, interval=0.05):
    """Poll probe() until it returns something true; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" %
                                 (timeout, what))
        time.sleep(interval)


class Project:
    """A provisioned project: its folder, name, ports and kits."""

    def __init__(self, folder, name, fl_port, admin_port):
        self.folder = folder
        self.name = name
        self.fl_port = fl_port
        self.admin_port = admin_port

    def kit(self, participant):
        return Kit(os.path.join(self.folder, participant))

    @property
    def server_startup(self):
        return os.path.join(self.folder, "server", "startup")


def admin_entry(admin):
    """An email alone is a super admin of the consortium; else a tuple
    (email, org, roles)."""
    if isinstance(admin, str):
        return {"org": "consortium", "email": admin, "roles": ["super"]}
    email, org, roles = admin
    return {"org": org, "email": email, "roles": list(roles)}


def provision(base, name, sites=SITES, admins=(ADMIN,)):
    fl_port, admin_port = free_port(), free_port()
    while admin_port == fl_port:
        admin_port = free_port()
    description = {
        "name": name,
        "server": {"org": "consortium", "cn": "localhost",
                   "address": "127.0.0.1", "fed_learn_port": fl_port,
                   "admin_port": admin_port, "min_num_clients": 2,
                   "max_num_clients": 100},
        "sites": [{"org": "hospital-%s" % s.split("-")[-1], "name": s}
                  for s in sites],
        "admins": [admin_entry(a) for a in admins],
    }
    os.makedirs(base, exist_ok=True)
    path = os.path.join(base, "project.json")
    with open(path, "w") as f:
        json.dump(description, f, indent=1)
    out = os.path.join(base, "kits")
    done = subprocess.run([FLPROVISION, "-p", path, "-o", out],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, "flprovision failed:\n%s%s" % (
        done.stdout, done.stderr)
    return Project(out, name, fl_port, admin_port)


class WorkRoot:
    """The session's folder under /tmp.

    Started by root, flserverctl runs the daemons as the appliance's
    users (flnetd, flaggd, fladmind: `make users` creates them), or all
    as FLSERVER_USER when the environment names one. They must reach the
    workspace and read the configuration and the initial model: pytest's
    own temporary folders are root's alone, so this one is open to pass
    through, and what the daemons read is made readable.
    """

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="flproto.", dir="/tmp")
        os.chmod(self.path, 0o711)
        self.count = 0
        self.env = dict(os.environ)

    def folder(self, name):
        self.count += 1
        path = os.path.join(self.path, "%s%d" % (name, self.count))
        os.makedirs(path, mode=0o755)
        os.chmod(path, 0o755)
        return path

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


@pytest.fixture(scope="session")
def workroot():
    root = WorkRoot()
    yield root
    if not os.environ.get("FLPROTO_KEEP"):
        root.remove()


@pytest.fixture(scope="session")
def project(workroot):
    return provision(workroot.folder("project"), PROJECT,
                     admins=list(ROLE_ADMINS.values()))


@pytest.fixture(scope="session")
def foreign_project(workroot):
    """Same site names, another root CA."""
    return provision(workroot.folder("foreign"), "foreign")


def sign_kit(project, startup):
    """Sign a startup folder again after a test changed a file of it on
    purpose, as an operator would: the daemons refuse unsigned changes."""
    done = subprocess.run(
        [FLPROVISION, "sign", "-k", os.path.join(project.folder,
                                                 "rootCA.key"), startup],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, "flprovision sign failed:\n%s%s" % (
        done.stdout, done.stderr)


def password_hash(password):
    """A users.passwd entry as Clara stored it: 64 hex characters of salt,
    used as they are, then the hex PBKDF2-HMAC-SHA512 of the password."""
    salt = os.urandom(32).hex()
    key = hashlib.pbkdf2_hmac("sha512", password.encode(), salt.encode(),
                              100000)
    return salt + key.hex()


def write_users(path, users):
    """WORKSPACE/startup/users.passwd for {user: password}, mode 0600."""
    with open(path, "w") as f:
        json.dump({u: password_hash(p) for u, p in users.items()}, f,
                  indent=1)
    os.chmod(path, 0o600)


def training_config(model_path, settings):
    """config_fed_server.json as Clara's MMARs wrote it."""
    server = {
        "min_num_clients": settings.get("min_num_clients", 2),
        "max_num_clients": settings.get("max_num_clients", 100),
        "wait_after_min_clients": settings.get("wait_after_min_clients", 1),
        "heart_beat_timeout": settings.get("heart_beat_timeout", 600),
        "start_round": settings.get("start_round", 0),
        "num_rounds": settings.get("num_rounds", -1),
        "ckpt_preload_path": model_path,
    }
    for key in ("exclude_vars", "server_type", "round_robin_seed",
                "cross_site_validation"):
        if key in settings:
            server[key] = settings[key]
    args = {}
    if "aggregation_weights" in settings:
        args["aggregation_weights"] = settings["aggregation_weights"]
    return {
        "servers": [server],
        "aggregator": {"name": "ModelAggregator", "args": args},
        "model_saver": {"name": "NPZModelSaver", "args": {
            "keep_round_models": settings.get("keep_round_models", True)}},
    }


class Server:
    """One running server: its workspace and what the tests read there."""

    def __init__(self, project, base, settings, env):
        self.project = project
        self.env = env
        self.base = base
        self.ws = os.path.join(base, "ws")
        self.settings = settings
        self.initial_model = settings.get("model") or small_model()
        self.target = "127.0.0.1:%d" % project.fl_port
        self.sites = []
        self.started = False
        self.ctl_output = []

    # Start and stop.

    def _write_workspace(self):
        shutil.copytree(self.project.server_startup,
                        os.path.join(self.ws, "startup"))
        options = self.settings.get("service_options")
        extra = self.settings.get("fed_server", {})
        if options is not None or extra:
            path = os.path.join(self.ws, "startup", "fed_server.json")
            conf = read_json(path)
            if options is not None:
                conf["servers"][0]["service"]["options"] = options
            conf["servers"][0].update(extra)
            with open(path, "w") as f:
                json.dump(conf, f, indent=1)
            sign_kit(self.project, os.path.join(self.ws, "startup"))
        users = self.settings.get("users")
        if users is not None:
            write_users(os.path.join(self.ws, "startup", "users.passwd"),
                        users)

    def _write_mmar(self):
        mmar = os.path.join(self.base, "mmar")
        os.makedirs(os.path.join(mmar, "config"))
        os.makedirs(os.path.join(mmar, "models"))
        model_path = os.path.join(mmar, "models", "initial.npz")
        np.savez(model_path, **self.initial_model)
        self.config = os.path.join(mmar, "config", "config_fed_server.json")
        with open(self.config, "w") as f:
            json.dump(training_config(model_path, self.settings), f,
                      indent=1)
        # Readable by the daemons' user whatever the umask.
        for folder in (mmar, os.path.dirname(self.config),
                       os.path.dirname(model_path)):
            os.chmod(folder, 0o755)
        os.chmod(model_path, 0o644)
        os.chmod(self.config, 0o644)

    def _ctl(self, *args, timeout):
        env = self.env
        if "admind_args" in self.settings:
            env = dict(env, FLSERVER_ADMIND_ARGS=self.settings[
                "admind_args"])
        done = subprocess.run([FLSERVERCTL] + list(args),
                              capture_output=True, text=True,
                              timeout=timeout, env=env)
        self.ctl_output.append("$ flserverctl %s -> %d\n%s%s" % (
            " ".join(args), done.returncode, done.stdout, done.stderr))
        return done

    def start(self):
        self._write_workspace()
        self._write_mmar()
        self.started = True
        done = self._ctl("start", self.ws, self.config,
                         timeout=START_TIMEOUT)
        assert done.returncode == 0, "flserverctl start failed:\n%s" % (
            self.logs())

    def restart(self):
        """Stop the daemons and start them again on the same workspace."""
        self._ctl("stop", self.ws, timeout=STOP_TIMEOUT)
        done = self._ctl("start", self.ws, self.config,
                         timeout=START_TIMEOUT)
        assert done.returncode == 0, "flserverctl start failed:\n%s" % (
            self.logs())

    def daemon_pid(self, daemon):
        """The pid of one of this workspace's daemons, from the launcher's
        pid file, checked against the process's command line."""
        with open(os.path.join(self.ws, "state", "rundir")) as f:
            rundir = f.read().strip()
        with open(os.path.join(rundir, daemon + ".pid")) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            args = f.read().split(b"\0")
        assert os.path.basename(args[0]) == daemon.encode() and \
            rundir.encode() in args, "pid %d is not %s of %s" % (
                pid, daemon, self.ws)
        return pid

    def supervisor_pid(self):
        """The pid of flserverctl's supervisor of this workspace."""
        with open(os.path.join(self.ws, "state", "rundir")) as f:
            rundir = f.read().strip()
        with open(os.path.join(rundir, "supervisor.pid")) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            args = f.read().split(b"\0")
        assert b"supervise" in args and rundir.encode() in args, \
            "pid %d is not the supervisor of %s" % (pid, self.ws)
        return pid

    def unsupervise(self):
        """Kill the supervisor, so that a daemon that dies stays dead
        (flserverctl stop still stops the daemons left)."""
        pid = self.supervisor_pid()
        os.kill(pid, signal.SIGKILL)

        def gone():
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    return f.read() == b""
            except OSError:
                return True
        wait_for("the supervisor to die", gone, 10)

    def stop(self):
        for site in self.sites:
            site.close()
        self.sites = []
        if self.started:
            self.started = False
            self._ctl("stop", self.ws, timeout=STOP_TIMEOUT)

    def logs(self, lines=80):
        out = list(self.ctl_output)
        log_dir = os.path.join(self.ws, "log")
        if os.path.isdir(log_dir):
            for name in sorted(os.listdir(log_dir)):
                with open(os.path.join(log_dir, name), errors="replace") as f:
                    tail = f.readlines()[-lines:]
                out.append("== %s\n%s" % (name, "".join(tail)))
        return "\n".join(out)

    # Sites.

    def site(self, name, kit=None, **kw):
        """A site's channel; kit defaults to the site's own startup kit."""
        if kit is None and kw.get("with_client_cert", True):
            kit = self.project.kit(name)
        elif kit is None:
            kw.setdefault("root", self.project.kit(SITES[0]).root)
        site = Site(name, self.target, self.project.name, kit=kit, **kw)
        self.sites.append(site)
        return site

    def registered(self, *names):
        """A registered Site for each name, in that order."""
        out = [self.site(name) for name in names]
        for s in out:
            s.register()
        return out

    # The workspace as an operator reads it.

    @property
    def run_dir(self):
        return os.path.join(self.ws, "run_1")

    def status(self):
        """state/status.json, or None while it is absent or half written."""
        try:
            return read_json(os.path.join(self.ws, "state", "status.json"))
        except (OSError, ValueError):
            return None

    def status_sites(self):
        status = self.status()
        if status is None:
            return None
        return sorted(s["name"] for s in status.get("sites", []))

    def wait_status(self, what, predicate, timeout=10):
        def probe():
            status = self.status()
            return status if status is not None and predicate(status) \
                else None
        return wait_for("status.json: " + what, probe, timeout)

    def provenance_path(self, round_number):
        return os.path.join(self.run_dir, "provenance",
                            "round_%d.json" % round_number)

    def model_path(self, name="FL_global_model.npz"):
        return os.path.join(self.run_dir, "models", name)

    def wait_round(self, round_number, timeout=20):
        """Wait until round_number closed; returns its provenance record.

        aggd writes a round's models before the record that names them.
        """
        def probe():
            try:
                return read_json(self.provenance_path(round_number))
            except (OSError, ValueError):
                return None
        return wait_for("round %d to close" % round_number, probe, timeout)

    def global_model(self, name="FL_global_model.npz"):
        with np.load(self.model_path(name), allow_pickle=False) as npz:
            return {k: npz[k].copy() for k in npz.files}


class Launcher:
    """Starts servers in fresh workspaces of one project."""

    def __init__(self, project, workroot):
        self.project = project
        self.workroot = workroot

    def start(self, **settings):
        server = Server(self.project, self.workroot.folder("server"),
                        settings, self.workroot.env)
        try:
            server.start()
        except BaseException:
            server.stop()
            raise
        return server


@pytest.fixture(scope="session")
def launcher(project, workroot):
    return Launcher(project, workroot)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "report_" + report.when, report)


@pytest.fixture
def server(launcher, request):
    """server(**settings) starts the daemons; they stop after the test.

    settings: min_num_clients, max_num_clients, wait_after_min_clients,
    heart_beat_timeout, start_round, num_rounds, exclude_vars,
    server_type, round_robin_seed, cross_site_validation,
    aggregation_weights, keep_round_models, model (dict of arrays),
    service_options (replaces fed_server.json's service.options),
    fed_server (a dict of keys set in fed_server.json's servers[0]),
    users ({user: password} written as startup/users.passwd's hashes),
    admind_args (added to admind's command line, e.g. "-E 3").
    """
    started = []

    def start(**settings):
        s = launcher.start(**settings)
        started.append(s)
        return s
    yield start
    failed = getattr(request.node, "report_call", None)
    for s in started:
        if failed is not None and failed.failed:
            print("---- server logs (%s)\n%s" % (s.ws, s.logs()))
        s.stop()
