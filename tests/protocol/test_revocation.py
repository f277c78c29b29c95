"""Revocation by fingerprint: the project's provisioner revokes a
certificate with `flprovision revoke` and copies the signed list into the
server's WORKSPACE/startup/revoked.json while the server runs.

- A site revoked in the middle of a round: its next request is refused
  (UNAUTHENTICATED "certificate revoked"), it leaves the registry and the
  operator's status, the round closes with the two sites left, and
  aggd's log has the refusal.
- An admin revoked: refused before login and with a session opened
  before, each refusal a record of the audit trail; another admin goes
  on.
- A list signed by another project's root is refused, the list before it
  stays in force, and both are logged.
"""

import json
import os
import subprocess
import time

import grpc

from conftest import FLPROVISION, ROLE_ADMINS
from site_client import expect_status
from test_admin_console import console

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
# aggd and admind look at the list at most once a second.
REREAD = 1.2


def fingerprint(project, participant):
    """The SHA-256 of a participant's certificate, as openssl prints it
    (upper case, colons): flprovision takes that form too."""
    cert = os.path.join(project.folder, participant, "startup",
                        "client.crt")
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout",
                          "-fingerprint", "-sha256"], capture_output=True,
                         text=True, check=True).stdout
    return out.strip().split("=", 1)[1]


def revoke(project, srv, *participants, key=None):
    """flprovision revoke into the server's startup folder, readable by
    the daemons; returns flprovision's output."""
    path = os.path.join(srv.ws, "startup", "revoked.json")
    key = key or os.path.join(project.folder, "rootCA.key")
    done = subprocess.run(
        [FLPROVISION, "revoke", "-k", key, "-o", path] +
        [fingerprint(project, p) for p in participants],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    os.chmod(path, 0o644)
    return done.stdout


def log_of(srv, daemon):
    with open(os.path.join(srv.ws, "log", daemon + ".log"),
              errors="replace") as f:
        return f.read()


def test_site_revoked_during_a_round_is_refused_and_the_round_goes_on(
        server):
    srv = server(min_num_clients=2, wait_after_min_clients=1)
    s1, s2, s3 = srv.registered("site-1", "site-2", "site-3")
    models = [s.get_model()[1] for s in (s1, s2, s3)]
    out = revoke(srv.project, srv, "site-3")
    assert "(site-3)" in out
    time.sleep(REREAD)

    expect_status(UNAUTHENTICATED, s3.submit, models[2], n_iter=1,
                  prefix="certificate revoked")
    srv.wait_status("site-3 removed", lambda st: "site-3" not in [
        s["name"] for s in st["sites"]])
    s1.submit(models[0], n_iter=1)
    s2.submit(models[1], n_iter=1)
    record = srv.wait_round(0)
    assert sorted(s["site"] for s in record["sites"]) == ["site-1",
                                                          "site-2"]
    expect_status(UNAUTHENTICATED, s3.register, prefix="certificate "
                  "revoked")

    log = log_of(srv, "aggd")
    assert "SUBMIT_UPDATE from site-3 refused (16): certificate " \
        "revoked" in log
    assert "REGISTER from site-3 refused (16): certificate revoked" in log
    assert "site-3 removed: certificate revoked" in log
    assert "1 certificates revoked" in log


def audit_records(srv):
    with open(os.path.join(srv.ws, "audit", "audit.log")) as f:
        return [json.loads(line) for line in f]


def test_admin_revoked_is_refused_before_login_and_audited(server):
    srv = server()
    lead = ROLE_ADMINS["lead_it"][0]
    opened = console(srv, "lead_it").login()
    superuser = console(srv, "super").login()
    revoke(srv.project, srv, lead)
    time.sleep(REREAD)

    assert console(srv, "lead_it").send("_cert_login %s" % lead).errors \
        == ["certificate revoked"]
    assert opened.run("check_status server").errors == [
        "certificate revoked"]
    assert superuser.run("check_status server").errors == []

    refused = [r for r in audit_records(srv) if r.get("cn") == lead and
               r.get("decision") == "refused"]
    assert [r["reason"] for r in refused] == ["certificate revoked"] * 2


def test_list_signed_by_another_root_is_refused_and_the_old_kept(
        server, foreign_project):
    srv = server(min_num_clients=2)
    s1, = srv.registered("site-1")
    revoke(srv.project, srv, "site-1")
    time.sleep(REREAD)
    expect_status(UNAUTHENTICATED, s1.heartbeat, prefix="certificate "
                  "revoked")

    # Same site names, another project's key: it signs the list, but the
    # server's root CA does not vouch for it.
    forged = os.path.join(srv.base, "revoked.json")
    done = subprocess.run(
        [FLPROVISION, "revoke", "-k", os.path.join(foreign_project.folder,
                                                   "rootCA.key"), "-o",
         forged, "00" * 32], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    os.chmod(forged, 0o644)
    os.replace(forged, os.path.join(srv.ws, "startup", "revoked.json"))
    time.sleep(REREAD)
    expect_status(UNAUTHENTICATED, s1.register, prefix="certificate "
                  "revoked")
    s2, = srv.registered("site-2")
    assert "its signature does not verify with the root CA; 1 " \
        "certificates stay revoked as before" in log_of(srv, "aggd")
