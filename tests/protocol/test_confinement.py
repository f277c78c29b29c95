"""The daemons' confinement, as the running processes and their sockets
show it. A server is started; every thread of netd, aggd and admind runs
under a seccomp filter with no_new_privs and no capability. Started by
root (the appliance's layout), each daemon runs as its own user, and
their IPC sockets answer only their peer daemon: a user outside group
flserver cannot reach them at all, a daemon's user in the group but not
the socket's peer is cut off by the uid filter, while the peer's own
user is answered; in the workspace each may write only its own part. A
runtime folder that others may write keeps the daemons from starting,
and from being started again by the supervisor.
(What the filters allow is tested in tests/unit/test_sandbox.c.)
"""

import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile

import pytest

import ipc_probe
from conftest import Server, wait_for

DAEMONS = ("netd", "aggd", "admind")
ROOT = os.geteuid() == 0
as_root = pytest.mark.skipif(not ROOT, reason="the appliance's layout "
                             "needs root")

# Envelope kinds (proto/envelope.proto).
HEARTBEAT, ADMIN_RETRIEVE, SERVER_STATUS, NOTICE_ROUND = 5, 20, 40, 61

# Each bound socket: its peer's user, a request that peer may make (and
# whether it is answered), and a daemon's user that is not its peer.
SOCKETS = {
    "aggd/aggd.sock": ("flnetd", HEARTBEAT, "", True, "fladmind"),
    "aggd/control.sock": ("fladmind", SERVER_STATUS, "{}", True, "flnetd"),
    "admind/admind.sock": ("flnetd", ADMIN_RETRIEVE, "", True, "flaggd"),
    "admind/notice.sock": ("flaggd", NOTICE_ROUND, "{}", False, "flnetd"),
}


def thread_status(pid):
    """Each thread's /proc status as a dict of its fields."""
    out = {}
    task = "/proc/%d/task" % pid
    for tid in os.listdir(task):
        fields = {}
        try:
            with open(os.path.join(task, tid, "status")) as f:
                for line in f:
                    key, _, value = line.partition(":")
                    fields[key] = value.strip()
        except FileNotFoundError:
            continue		# a thread that ended meanwhile
        out[int(tid)] = fields
    return out


def rundir_of(srv):
    with open(os.path.join(srv.ws, "state", "rundir")) as f:
        return f.read().strip()


def processes_naming(text):
    """Live processes whose command line holds text."""
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
        if text in cmdline:
            found.append("%s: %s" % (pid, cmdline))
    return found


def test_every_thread_is_filtered_without_privileges(server):
    """In every thread of each daemon: Seccomp 2 (filter), NoNewPrivs 1,
    no effective, permitted or inheritable capability."""
    srv = server(min_num_clients=2)
    for daemon in DAEMONS:
        threads = thread_status(srv.daemon_pid(daemon))
        assert threads, daemon
        for tid, fields in threads.items():
            where = "%s thread %d" % (daemon, tid)
            assert fields["Seccomp"] == "2", where
            assert fields["NoNewPrivs"] == "1", where
            assert fields["CapEff"] == "0000000000000000", where
            assert fields["CapPrm"] == "0000000000000000", where
            assert fields["CapInh"] == "0000000000000000", where


@as_root
def test_each_daemon_runs_as_its_own_user(server):
    """As root: netd, aggd and admind run as flnetd, flaggd and fladmind
    (real, effective, saved and file system uid alike), in group
    flserver only, with an empty bounding set; three different uids."""
    srv = server(min_num_clients=2)
    gid = grp.getgrnam("flserver").gr_gid
    uids = set()
    for daemon in DAEMONS:
        uid = pwd.getpwnam("fl" + daemon).pw_uid
        for tid, fields in thread_status(srv.daemon_pid(daemon)).items():
            where = "%s thread %d" % (daemon, tid)
            assert fields["Uid"].split() == [str(uid)] * 4, where
            assert fields["Gid"].split() == [str(gid)] * 4, where
            assert fields["Groups"] == "", where
            assert fields["CapBnd"] == "0000000000000000", where
        uids.add(uid)
    assert len(uids) == 3
    assert 0 not in uids


@as_root
def test_sockets_answer_only_their_peer_daemon(server):
    """As root, on each of the four sockets: the peer daemon's user is
    answered (or, for notices, kept connected); a daemon's user that is
    not the peer is cut off before ZeroMQ's handshake and gets no
    answer; nobody, outside group flserver, cannot even connect."""
    srv = server(min_num_clients=2)
    rundir = rundir_of(srv)
    probes = []
    for name, (peer, kind, payload, answers, other) in SOCKETS.items():
        path = os.path.join(rundir, name)
        for user in (peer, other, "nobody"):
            probes.append((name, user, ipc_probe.start(path, kind, payload,
                                                       user, 2.0)))
    seen = {(name, user): ipc_probe.finish(p) for name, user, p in probes}

    for name, (peer, _, _, answers, other) in SOCKETS.items():
        assert seen[name, peer] == {"connected": True, "handshake": True,
                                    "answered": answers}, (name, peer)
        assert seen[name, other] == {"connected": True, "handshake": False,
                                     "answered": False}, (name, other)
        assert seen[name, "nobody"] == {"connected": False,
                                        "handshake": False,
                                        "answered": False}, name


@as_root
def test_world_writable_runtime_folder_refuses_start(project, workroot):
    """As root, a runtime folder (FLSERVER_RUNDIR) as the appliance's
    but open to everyone (mode 0777): flserverctl start fails, and the
    log of the first daemon started names the folder and its mode."""
    rundir = tempfile.mkdtemp(prefix="flrw.", dir="/tmp")
    os.chown(rundir, 0, grp.getgrnam("flserver").gr_gid)
    os.chmod(rundir, 0o777)
    env = dict(workroot.env, FLSERVER_RUNDIR=rundir)
    srv = Server(project, workroot.folder("server"), {}, env)
    try:
        srv._write_workspace()
        srv._write_mmar()
        done = srv._ctl("start", srv.ws, srv.config, timeout=60)
        assert done.returncode == 1, srv.logs()
        with open(os.path.join(srv.ws, "log", "admind.log")) as f:
            log = f.read()
        assert "runtime folder %s is open to group or others (mode 0777)" \
            % rundir in log, log
        assert rundir in done.stderr
        assert processes_naming(rundir) == []
    finally:
        srv._ctl("stop", srv.ws, timeout=60)
        shutil.rmtree(rundir, ignore_errors=True)


@as_root
def test_loosened_runtime_folder_stops_restarts(server):
    """As root, the runtime folder is made world-writable while the
    server runs and aggd is killed: each restart is refused by aggd, and
    after five deaths in 300 s the supervisor gives aggd up, says so in
    its log, and flserverctl status shows it (exit 1: not all run)."""
    srv = server(min_num_clients=2)
    rundir = rundir_of(srv)
    os.chmod(rundir, 0o777)
    os.kill(srv.daemon_pid("aggd"), signal.SIGKILL)
    log_path = os.path.join(srv.ws, "log", "flserverctl.log")

    def given_up():
        with open(log_path) as f:
            text = f.read()
        return text if "not restarting it" in text else None
    text = wait_for("the supervisor to give aggd up", given_up, 30)
    assert "was killed by signal 9 (KILL): death 1 in 300 s; restarting" \
        in text, text
    assert "aggd failed to start again: death 5 in 300 s; not " \
        "restarting it" in text, text
    with open(os.path.join(srv.ws, "log", "aggd.log")) as f:
        assert "runtime folder %s is open to group or others" % rundir \
            in f.read()

    done = srv._ctl("status", srv.ws, timeout=30)
    assert done.returncode == 1
    assert "aggd: stopped: died 5 times in 300 s; not restarted" \
        in done.stdout, done.stdout
    assert "netd: running" in done.stdout
    os.chmod(rundir, 0o750)


# Run as one user: what it may do in the workspace.
ACCESS_CHILD = r"""
import json, os, sys
ws, out = sys.argv[1], {}
for what, rel in json.loads(sys.argv[2]):
    path = os.path.join(ws, rel)
    try:
        if what == "create":
            probe = os.path.join(path, "probe.%d" % os.getuid())
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o600))
            os.unlink(probe)
        elif what == "read":
            with open(path, "rb") as f:
                f.read(1)
        elif what == "rename":
            os.rename(path, path + ".moved")
            os.rename(path + ".moved", path)
        out["%s %s" % (what, rel)] = True
    except OSError:
        out["%s %s" % (what, rel)] = False
print(json.dumps(out))
"""

# What each daemon's user may do in the appliance's workspace; anything
# not listed as True must fail.
WORKSPACE_RIGHTS = {
    "flnetd": {"read startup/server.key", "read startup/fed_server.json"},
    "flaggd": {"read startup/fed_server.json", "create .", "create state",
               "create run_1", "create run_1/models",
               "create run_1/provenance", "rename state/aggd.json"},
    "fladmind": {"read startup/fed_server.json", "create state",
                 "create audit", "create transfer",
                 "rename state/status.json"},
}
WORKSPACE_ACTIONS = [
    ("create", "."), ("create", "startup"), ("create", "state"),
    ("create", "run_1"), ("create", "run_1/models"),
    ("create", "run_1/provenance"), ("create", "audit"),
    ("create", "transfer"), ("read", "startup/server.key"),
    ("read", "startup/fed_server.json"), ("rename", "state/aggd.json"),
    ("rename", "state/status.json"), ("rename", "startup/server.key"),
]


@as_root
def test_each_daemon_writes_only_its_part_of_the_workspace(server):
    """As root, once a round is saved, each daemon's user tries every
    part of the workspace: flnetd may write nothing and alone reads the
    TLS key; flaggd may add run folders and write its models, provenance
    and state/aggd.json; fladmind state/status.json, audit/ and
    transfer/; neither may move the other's file in state/."""
    srv = server(min_num_clients=2, wait_after_min_clients=1)
    for site in srv.registered("site-1", "site-2"):
        _, model = site.get_model()
        site.submit(model, n_iter=1)
    srv.wait_round(0)
    srv.wait_status("status.json written", lambda s: True)
    for user, rights in WORKSPACE_RIGHTS.items():
        pw = pwd.getpwnam(user)
        done = subprocess.run(
            ["/usr/bin/python3", "-c", ACCESS_CHILD, srv.ws,
             json.dumps(WORKSPACE_ACTIONS)],
            user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], cwd="/",
            capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        got = json.loads(done.stdout)
        assert {k for k, ok in got.items() if ok} == rights, user


def test_stop_leaves_no_process(server):
    """flserverctl stop ends the supervisor and the three daemons, even
    after the supervisor restarted one: nothing naming the runtime
    folder or the workspace runs afterwards."""
    srv = server(min_num_clients=2)
    rundir = rundir_of(srv)
    old = srv.daemon_pid("admind")
    os.kill(old, signal.SIGKILL)
    wait_for("admind to be restarted",
             lambda: _restarted(srv, "admind", old), 30)
    assert len(processes_naming(rundir)) == 4
    srv.stop()
    assert processes_naming(rundir) == []
    assert processes_naming(srv.ws) == []
    assert not os.path.exists(rundir)


def _restarted(srv, daemon, old):
    try:
        pid = srv.daemon_pid(daemon)
    except (OSError, AssertionError, ValueError):
        return False
    log = os.path.join(srv.ws, "log", "flserverctl.log")
    with open(log) as f:
        ready = "%s ready (pid %d)" % (daemon, pid) in f.read()
    return pid != old and ready
