"""Signed startup kits: flprovision signs every file of every kit with the
root CA's key (startup/signature.json). One changed byte in a file that a
program reads, a file left out of the signatures, or no signatures at all,
and that program refuses to start, naming the file: through flserverctl
for the server (the first daemon to read the file is the one that
refuses), each daemon on its own, and flsite with a site's kit. A file
changed on purpose and signed again with `flprovision sign` is accepted;
a root CA pinned outside the kit (FLSERVER_ROOT_FINGERPRINT) must be the
kit's.
"""

import json
import os
import shutil
import subprocess

import pytest

from conftest import FLPROVISION, REPO, Server

ROOT = os.geteuid() == 0
FLSITE = os.path.join(REPO, "build", "flsite")

# What each daemon reads from the server's kit; flserverctl starts admind,
# then aggd, then netd, so the first of them to read a file refuses.
DAEMON_FILES = {
    "admind": ["fed_server.json", "authorization.json", "rootCA.pem"],
    "aggd": ["fed_server.json", "authorization.json", "rootCA.pem"],
    "netd": ["fed_server.json", "rootCA.pem", "server.crt", "server.key"],
}
FIRST_READER = {
    "fed_server.json": "admind", "authorization.json": "admind",
    "rootCA.pem": "admind", "server.crt": "netd", "server.key": "netd",
}
SITE_FILES = ["fed_client.json", "client.crt", "client.key", "rootCA.pem"]


def change_one_byte(path):
    """Flip the low bit of the byte in the middle of the file, in place."""
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        middle = len(data) // 2
        data[middle] ^= 0x01
        f.seek(0)
        f.write(data)


def refusal(name):
    return "startup kit: %s was changed after it was signed" % name


def new_server(project, workroot, env=None):
    """A server whose workspace and MMAR are written but not started."""
    srv = Server(project, workroot.folder("signed"), {},
                 env or workroot.env)
    srv._write_workspace()
    srv._write_mmar()
    return srv


def start_fails(srv):
    """flserverctl start must fail; returns the daemons' logs."""
    srv.started = True
    done = srv._ctl("start", srv.ws, srv.config, timeout=60)
    assert done.returncode != 0, "flserverctl start succeeded:\n%s" % (
        srv.logs())
    logs = {}
    for daemon in DAEMON_FILES:
        path = os.path.join(srv.ws, "log", daemon + ".log")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                logs[daemon] = f.read()
    return logs


@pytest.fixture
def unstarted(project, workroot):
    made = []

    def make(env=None):
        srv = new_server(project, workroot, env)
        made.append(srv)
        return srv
    yield make
    for srv in made:
        srv.stop()


@pytest.mark.parametrize("name", sorted(FIRST_READER))
def test_server_refuses_a_changed_kit_file(unstarted, name):
    """One changed byte in a signed file of the server's kit: flserverctl
    start fails, and the first daemon that reads the file logs its name
    and exits; none of the daemons after it is started."""
    srv = unstarted()
    change_one_byte(os.path.join(srv.ws, "startup", name))
    logs = start_fails(srv)
    owner = FIRST_READER[name]
    assert refusal(name) in logs.get(owner, ""), srv.logs()
    assert not logs.get("netd") or owner == "netd", srv.logs()


def test_server_refuses_a_file_left_out_of_the_signatures(unstarted):
    """server.crt unchanged but missing from signature.json: netd refuses
    it as not signed."""
    srv = unstarted()
    path = os.path.join(srv.ws, "startup", "signature.json")
    with open(path) as f:
        doc = json.load(f)
    del doc["files"]["server.crt"]
    with open(path, "w") as f:
        json.dump(doc, f)
    logs = start_fails(srv)
    assert "startup kit: server.crt is not signed" in logs["netd"], \
        srv.logs()


def test_server_refuses_an_unsigned_kit(unstarted):
    """No signature.json: admind, the first to start, refuses the kit."""
    srv = unstarted()
    os.unlink(os.path.join(srv.ws, "startup", "signature.json"))
    logs = start_fails(srv)
    assert "startup kit: signature.json is missing: the kit is not " \
        "signed" in logs["admind"], srv.logs()


def test_a_file_changed_on_purpose_and_signed_again_is_accepted(
        unstarted, project):
    """An operator edits fed_server.json, then signs the kit again with
    the project's root key: the daemons start, and flprovision says what
    changed."""
    srv = unstarted()
    startup = os.path.join(srv.ws, "startup")
    path = os.path.join(startup, "fed_server.json")
    with open(path) as f:
        conf = json.load(f)
    conf["servers"][0]["admin_idle_timeout"] = 45
    with open(path, "w") as f:
        json.dump(conf, f, indent=1)
    done = subprocess.run(
        [FLPROVISION, "sign", "-k", os.path.join(project.folder,
                                                 "rootCA.key"), startup],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "  changed: fed_server.json\n" in done.stdout
    srv.started = True
    done = srv._ctl("start", srv.ws, srv.config, timeout=60)
    assert done.returncode == 0, srv.logs()


def test_sign_refuses_another_projects_key(unstarted, foreign_project):
    """flprovision sign with a root key that is not the kit's rootCA.pem's
    refuses and leaves signature.json as it was."""
    srv = unstarted()
    startup = os.path.join(srv.ws, "startup")
    path = os.path.join(startup, "signature.json")
    with open(path, "rb") as f:
        before = f.read()
    done = subprocess.run(
        [FLPROVISION, "sign", "-k", os.path.join(foreign_project.folder,
                                                 "rootCA.key"), startup],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "is not the key of" in done.stderr
    with open(path, "rb") as f:
        assert f.read() == before


def root_fingerprint(project):
    with open(os.path.join(project.server_startup, "signature.json")) as f:
        return json.load(f)["root_fingerprint"]


def test_a_pinned_root_must_be_the_kits(unstarted, project, workroot,
                                        foreign_project):
    """FLSERVER_ROOT_FINGERPRINT names another project's root CA: admind
    refuses the kit's rootCA.pem. Pinned to the kit's own root (in
    upper case with colons, as openssl prints it): the server starts."""
    env = dict(workroot.env, FLSERVER_ROOT_FINGERPRINT=root_fingerprint(
        foreign_project))
    srv = unstarted(env)
    logs = start_fails(srv)
    assert "startup kit: rootCA.pem is not the root CA pinned by " \
        "FLSERVER_ROOT_FINGERPRINT" in logs["admind"], srv.logs()

    fp = root_fingerprint(project).upper()
    pinned = ":".join(fp[i:i + 2] for i in range(0, len(fp), 2))
    srv = unstarted(dict(workroot.env, FLSERVER_ROOT_FINGERPRINT=pinned))
    srv.started = True
    done = srv._ctl("start", srv.ws, srv.config, timeout=60)
    assert done.returncode == 0, srv.logs()
    with open(os.path.join(srv.ws, "log", "netd.log")) as f:
        assert "pinned by FLSERVER_ROOT_FINGERPRINT" in f.read()


def run_daemon(daemon, srv, rundir):
    """One daemon on its own, as the invoking user or, for root, as
    nobody; it must stop at the kit before it looks at anything else."""
    args = [os.path.join(REPO, "build", daemon), "-w", srv.ws, "-r", rundir]
    if daemon == "aggd":
        args += ["-c", srv.config]
    if ROOT:
        args = ["setpriv", "--reuid=nobody", "--regid=nogroup",
                "--clear-groups"] + args
    return subprocess.run(args, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("daemon,name", [
    (d, n) for d in sorted(DAEMON_FILES) for n in DAEMON_FILES[d]])
def test_each_daemon_refuses_each_changed_file_it_reads(unstarted, daemon,
                                                         name):
    """Started by hand, each daemon exits with status 1 on a kit with
    one changed byte in one of the files it reads, naming the file."""
    srv = unstarted()
    startup = os.path.join(srv.ws, "startup")
    change_one_byte(os.path.join(startup, name))
    # Readable by the daemon's user; a key's mode is checked only after
    # the kit's signatures.
    os.chmod(srv.ws, 0o755)
    os.chmod(startup, 0o755)
    for entry in os.listdir(startup):
        os.chmod(os.path.join(startup, entry), 0o644)
    rundir = os.path.join(srv.base, "run")
    os.mkdir(rundir, 0o700)
    done = run_daemon(daemon, srv, rundir)
    assert done.returncode == 1, done.stderr
    assert refusal(name) in done.stderr, done.stderr
    assert "refusing to start" in done.stderr


def site_kit_copy(project, tmp_path):
    folder = os.path.join(str(tmp_path), "site-1")
    shutil.copytree(os.path.join(project.folder, "site-1"), folder)
    return os.path.join(folder, "startup")


def run_flsite(kit, tmp_path):
    data = os.path.join(str(tmp_path), "missing.csv")
    return subprocess.run([FLSITE, "-k", kit, "-d", data],
                          capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("name", SITE_FILES)
def test_flsite_refuses_a_changed_kit_file(project, tmp_path, name):
    """One changed byte in a file of site-1's kit: flsite exits 1 before
    it reads its data or calls the server, naming the file."""
    kit = site_kit_copy(project, tmp_path)
    change_one_byte(os.path.join(kit, name))
    done = run_flsite(kit, tmp_path)
    assert done.returncode == 1
    assert refusal(name) in done.stderr, done.stderr


def test_flsite_accepts_its_kit_as_signed(project, tmp_path):
    """The same kit unchanged passes the check: flsite goes on to its
    data, which is missing here."""
    kit = site_kit_copy(project, tmp_path)
    done = run_flsite(kit, tmp_path)
    assert done.returncode == 1
    assert "files used are signed by the root CA" in done.stderr, \
        done.stderr
    assert "missing.csv" in done.stderr, done.stderr
