"""MMAR uploads and deploys, against the real daemons and a real flsite.

A good MMAR goes up with build/fladmin's upload_folder, is deployed to
the server (aggd's status then shows its configuration's num_rounds)
and to a site (which unpacks it into its workspace's mmar/). Evil
archives, made with Python's tarfile and sent as the console's file
item with Python's ssl, are each refused with their reason, leaving no
staging folder and nothing outside it: a `../` entry, an absolute
entry, a symbolic link, a device, a file over the cap, a compression
bomb. Names with `..` are refused for upload and deploy, as is a run
number that is not a number, and a configuration with a wrong type
(the key named). A deploy to another org's site by a role without
deploy_all, or of site code to a site whose org does not allow it, is
refused, audited, and nothing reaches any site.
"""

import base64
import io
import json
import os
import subprocess
import tarfile
import time

import numpy as np

from admin_client import (EOT, connect, context, items_of_type,
                          parse_transmission, read_until_closed)
from conftest import ADMIN, REPO, ROLE_ADMINS
from test_flsite import logreg_model
from test_site_relay import flsite  # noqa: F401

FLADMIN = os.path.join(REPO, "build", "fladmin")
NUM_ROUNDS = 7


def write_mmar(folder, name, num_rounds=NUM_ROUNDS, custom=False,
               server=None):
    """An MMAR folder: config/config_fed_server.json, models/initial.npz,
    and custom/ when asked."""
    mmar = os.path.join(folder, name)
    os.makedirs(os.path.join(mmar, "config"))
    os.makedirs(os.path.join(mmar, "models"))
    np.savez(os.path.join(mmar, "models", "initial.npz"), **logreg_model())
    conf = {"servers": [{"min_num_clients": 2, "num_rounds": num_rounds,
                         "wait_after_min_clients": 1,
                         "ckpt_preload_path": "../models/initial.npz"}],
            "aggregator": {"name": "ModelAggregator", "args": {}}}
    if server is not None:
        conf["servers"][0].update(server)
    with open(os.path.join(mmar, "config", "config_fed_server.json"),
              "w") as f:
        json.dump(conf, f)
    if custom:
        os.makedirs(os.path.join(mmar, "custom"))
        with open(os.path.join(mmar, "custom", "site.py"), "w") as f:
            f.write("print('site code')\n")
    return mmar


def tar_of(folder):
    """A folder's contents as tar bytes, names relative to it."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for entry in sorted(os.listdir(folder)):
            tar.add(os.path.join(folder, entry), arcname=entry)
    return out.getvalue()


class Console:
    """One admin's console over Python's ssl, able to send a file item."""

    def __init__(self, srv, email=ADMIN):
        self.port = srv.project.admin_port
        self.ctx = context(srv.project.kit(email))
        answer = self.send("_cert_login " + email)
        self.token = items_of_type(answer, "token")[0]["data"]

    def send(self, command, token=None, file_item=None):
        items = [{"type": "command", "data": command}]
        if token is not None:
            items.append({"type": "token", "data": token})
        if file_item is not None:
            items.append(file_item)
        doc = json.dumps({"time": time.time(), "data": items}).encode()
        with connect(self.port, self.ctx) as sock:
            sock.sendall(doc + b"\x03" + EOT)
            return parse_transmission(read_until_closed(sock))

    def run(self, command, file_item=None):
        return self.send(command, self.token, file_item)

    def upload(self, name, archive):
        item = {"type": "file", "data": {
            "name": name, "format": "tar",
            "content": base64.b64encode(archive).decode()}}
        return self.run("upload_folder " + name, item)


def errors(docs):
    return " ".join(i["data"] for i in items_of_type(docs, "error"))


def transfer(srv):
    folder = os.path.join(srv.ws, "transfer")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def audit_records(srv):
    with open(os.path.join(srv.ws, "audit", "audit.log")) as f:
        return [json.loads(line) for line in f]


def test_good_mmar_uploads_and_deploys_to_server_and_site(server, flsite,
                                                          tmp_path):
    """fladmin uploads the folder; deploy server hands aggd its
    configuration; deploy client unpacks it at the site."""
    srv = server(min_num_clients=2, model=logreg_model())
    site = flsite(srv, "site-1")
    mmar = write_mmar(str(tmp_path), "seg-mmar")
    kit = os.path.join(srv.project.folder, ADMIN, "startup")
    done = subprocess.run([FLADMIN, "-k", kit, "-c", "upload_folder " +
                           mmar], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr + srv.logs()
    assert "uploaded" in done.stdout
    assert transfer(srv) == ["seg-mmar"]

    con = Console(srv)
    again = con.upload("seg-mmar", tar_of(mmar))
    assert "seg-mmar exists already" in errors(again)

    docs = con.run("deploy seg-mmar server")
    assert errors(docs) == "", docs
    texts = " ".join(i["data"] for i in items_of_type(docs, "success"))
    assert "seg-mmar deployed into run 1" in texts
    assert os.path.isfile(os.path.join(srv.ws, "transfer", ".deployed",
                                       "run_1", "seg-mmar", "config",
                                       "config_fed_server.json"))
    status = con.run("check_status server")
    rows = items_of_type(status, "table")[0]["data"]["rows"]
    assert dict(zip(rows[0], rows[1]))["num_rounds"] == str(NUM_ROUNDS)

    docs = con.run("deploy seg-mmar client site-1")
    rows = items_of_type(docs, "table")[0]["data"]["rows"]
    assert rows == [["site", "mmar"], ["site-1", "seg-mmar"]], docs
    deployed = os.path.join(site.workspace, "mmar", "seg-mmar")
    assert os.path.isfile(os.path.join(deployed, "models", "initial.npz"))
    assert [n for n in os.listdir(os.path.dirname(deployed))
            if n.startswith(".staging")] == []


def evil_tar(kind):
    """A tar with one evil entry next to a good config/."""
    out = io.BytesIO()
    tar = tarfile.open(fileobj=out, mode="w")
    conf = b'{"servers": [{}]}'
    info = tarfile.TarInfo("config/config_fed_server.json")
    info.size = len(conf)
    tar.addfile(info, io.BytesIO(conf))
    if kind == "dotdot":
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    elif kind == "absolute":
        info = tarfile.TarInfo("/tmp/mmar-absolute-escaped.txt")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"evil"))
    elif kind == "symlink":
        info = tarfile.TarInfo("config/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    elif kind == "device":
        info = tarfile.TarInfo("config/null")
        info.type = tarfile.CHRTYPE
        info.devmajor, info.devminor = 1, 3
        tar.addfile(info)
    elif kind == "big":
        # A header claiming more than the 512 MiB a file may hold.
        info = tarfile.TarInfo("models/huge.npz")
        info.size = 600 << 20
        tar.fileobj.write(info.tobuf(tarfile.GNU_FORMAT))
        tar.fileobj.write(b"\0" * 4096)
        return out.getvalue()
    tar.close()
    return out.getvalue()


def bomb_tar():
    """64 MiB of zeros, gzipped to a few tens of kilobytes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo("models/zeros.npz")
        info.size = 64 << 20

        class Zeros(io.RawIOBase):
            left = info.size

            def readinto(self, b):
                n = min(len(b), self.left)
                b[:n] = bytes(n)
                self.left -= n
                return n
        tar.addfile(info, Zeros())
    return out.getvalue()


EVIL = [
    ("dotdot", "../escaped.txt"),
    ("absolute", "/tmp/mmar-absolute-escaped.txt"),
    ("symlink", "config/link"),
    ("device", "config/null"),
    ("big", "models/huge.npz"),
]


def test_evil_archives_are_refused_and_leave_nothing(server):
    srv = server()
    con = Console(srv)
    outside = os.path.dirname(srv.ws)
    before = sorted(os.listdir(outside))
    for kind, entry in EVIL:
        docs = con.upload("evil-" + kind, evil_tar(kind))
        why = errors(docs)
        assert "upload_folder evil-%s refused" % kind in why, (kind, docs)
        assert entry in why, (kind, why)
        assert transfer(srv) == [], (kind, transfer(srv))
    why = errors(con.upload("bomb", bomb_tar()))
    assert "upload_folder bomb refused" in why and "models/zeros.npz" in why
    assert transfer(srv) == []
    assert not os.path.exists("/tmp/mmar-absolute-escaped.txt")
    assert not os.path.exists(os.path.join(srv.ws, "escaped.txt"))
    assert sorted(os.listdir(outside)) == before
    refused = [r for r in audit_records(srv) if "upload_folder" in
               json.dumps(r)]
    assert len(refused) >= 2 * (len(EVIL) + 1)


def test_names_and_numbers_are_checked(server, tmp_path):
    """`..` in an MMAR's name, for upload and deploy; a run number that
    is not one; a file item with another command."""
    srv = server()
    con = Console(srv)
    good = tar_of(write_mmar(str(tmp_path), "m"))
    assert "not an MMAR name" in errors(con.upload("../x", good))
    assert "not an MMAR name" in errors(con.upload("..", good))
    assert "not an MMAR name" in errors(con.upload(".deployed", good))
    assert "not an MMAR name" in errors(con.run("deploy ../x server"))
    assert "not an MMAR name" in errors(con.run("deploy .. server"))
    assert "not a run number" in errors(con.run("set_run_number ../1"))
    item = {"type": "file", "data": {"name": "m", "format": "tar",
                                     "content": ""}}
    assert "a file item comes only with upload_folder" in errors(
        con.run("check_status server", item))
    assert "no MMAR nothing in transfer/" in errors(
        con.run("deploy nothing server"))
    assert transfer(srv) == []
    assert not os.path.exists(os.path.join(srv.ws, "x"))

    # fladmin refuses a link itself: nothing is sent.
    linked = write_mmar(str(tmp_path), "linked")
    os.symlink("/etc/passwd", os.path.join(linked, "config", "passwd"))
    kit = os.path.join(srv.project.folder, ADMIN, "startup")
    done = subprocess.run([FLADMIN, "-k", kit, "-c", "upload_folder " +
                           linked], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "config/passwd: a symbolic link" in done.stderr
    assert transfer(srv) == []


def test_configuration_with_a_wrong_type_names_the_key(server, tmp_path):
    srv = server()
    con = Console(srv)
    bad = write_mmar(str(tmp_path), "bad", server={"num_rounds": "ten"})
    why = errors(con.upload("bad", tar_of(bad)))
    assert "upload_folder bad refused" in why and "num_rounds" in why, why
    assert transfer(srv) == []


def test_deploy_refused_by_policy_sends_nothing(server, flsite, tmp_path):
    """site_researcher (hospital-1) may not deploy at site-2 (hospital-2);
    site code may not go where allow_byoc does not hold (every org of
    the test project is strict). Refused, audited, nothing sent."""
    srv = server(min_num_clients=2, model=logreg_model())
    site = flsite(srv, "site-2")
    con = Console(srv)
    assert errors(con.upload("plain", tar_of(write_mmar(
        str(tmp_path), "plain")))) == ""
    assert errors(con.upload("byoc", tar_of(write_mmar(
        str(tmp_path), "byoc", custom=True)))) == ""

    researcher = Console(srv, ROLE_ADMINS["site_researcher"][0])
    why = errors(researcher.run("deploy plain client site-2"))
    assert why.startswith("not authorized: deploy needs the deploy right "
                          "at site-2"), why
    why = errors(con.run("deploy byoc client site-2"))
    assert "allow_byoc does not hold at site-2" in why, why

    records = [r for r in audit_records(srv) if r.get("command") ==
               "deploy"]
    assert any("plain" in json.dumps(r["args"]) and "not authorized" in
               json.dumps(r) for r in records), records
    assert any("byoc" in json.dumps(r["args"]) and "allow_byoc" in
               json.dumps(r) for r in records), records
    # A later request reaches the site: had a deploy been queued, the
    # site would have logged it before this one.
    con.run("check_status client site-2")
    site.wait_log("train.check_status")
    assert site.request_lines("train.deploy") == [], site.log()
    assert not os.path.exists(os.path.join(site.workspace, "mmar"))
