"""End to end, as an operator runs it: three real flsite processes train
against the real daemons while the admin drives them with build/fladmin -c
(certificate login, one command per run): check_status of the server
(with its certificate's expiry) and of the sites, sys_info of the sites, abort of the sites and of the
server, set_run_number refused while training and accepted once the
server is aborted, then start of the server and of the sites, after which
rounds close in the new run.
"""

import os
import subprocess

from conftest import ADMIN, wait_for
from test_fladmin import FLADMIN
from test_flsite import SHARDS, TABLE, logreg_model
from test_site_relay import flsite  # noqa: F401 (the fixture)

SITES = ("site-1", "site-2", "site-3")
RUN_TIMEOUT = 60


def fladmin_c(srv, command):
    """fladmin -c COMMAND with the admin's kit: (exit status, output)."""
    env = dict(os.environ, HOME="/nonexistent")
    env.pop("FLADMIN_PASSWORD", None)
    done = subprocess.run(
        [FLADMIN, "-k", srv.project.kit(ADMIN).folder + "/startup", "-c",
         command], capture_output=True, text=True, timeout=RUN_TIMEOUT,
        env=env)
    return done.returncode, done.stdout + done.stderr


def ok(srv, command):
    rc, out = fladmin_c(srv, command)
    assert rc == 0, "%s: exit %d: %s" % (command, rc, out)
    return out


def rows_with(out, word):
    return [line for line in out.splitlines() if word in line.split()]


def closed_in(srv, run):
    folder = os.path.join(srv.ws, "run_%d" % run, "provenance")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_operator_drives_three_training_sites(server, flsite,  # noqa: F811
                                              monkeypatch):
    # A third shard for this test only: other tests simulate SHARDS whole.
    monkeypatch.setitem(SHARDS, "site-3", TABLE[2:8])
    srv = server(min_num_clients=3, wait_after_min_clients=0,
                 num_rounds=100000, model=logreg_model())
    for name in SITES:
        flsite(srv, name)
    srv.wait_round(1, timeout=60)

    out = ok(srv, "check_status server")
    assert "training" in out
    for name in SITES:
        assert name in out
    # flprovision's certificates last a year: far from the warning.
    assert "server certificate expires" in out
    assert "renew it soon" not in out

    out = ok(srv, "check_status client " + " ".join(SITES))
    for name in SITES:
        assert len(rows_with(out, name)) == 1, out

    out = ok(srv, "sys_info client " + " ".join(SITES))
    for name in SITES:
        assert name in out

    rc, out = fladmin_c(srv, "set_run_number 2")
    assert rc == 1 and "training" in out, out

    out = ok(srv, "abort client " + " ".join(SITES))
    for name in SITES:
        assert "stopped" in rows_with(out, name)[0].split(), out
    ok(srv, "abort server")
    srv.wait_status("training stopped",
                    lambda st: st.get("state") != "training")

    ok(srv, "set_run_number 2")
    assert "2" in ok(srv, "check_status server").split()

    ok(srv, "start server")
    ok(srv, "start client " + " ".join(SITES))
    wait_for("a round closed in run 2", lambda: closed_in(srv, 2), 60)
