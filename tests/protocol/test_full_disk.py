"""A full disk while aggd saves a round's model. The run folder is a small
tmpfs (root only); round 0 closes and is saved; then the tmpfs is filled
to the last byte and round 1's updates come in. aggd cannot save round 1:
it logs why, tries again 5 s later, the previous global model stays whole
and unchanged, no provenance record and no half-written file appear, and
the round does not advance, neither in state/aggd.json nor in
state/status.json. Once space
returns, aggd's next try (every 5 s) saves round 1, and it is the model
the updates make.
"""

import errno
import grp
import hashlib
import os
import pwd
import subprocess
import time

import pytest

from conftest import wait_for
from model_math import assert_models_equal, expected_model, random_update
from site_client import read_json

TMPFS_SIZE = "256k"
SAVE_RETRY = 5		# seconds, aggd's AGGD_SAVE_RETRY

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="mounting a tmpfs needs root")


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def mount_tmpfs(path):
    """A small tmpfs at path, aggd's as the folder it replaces."""
    os.makedirs(path, exist_ok=True)
    options = "size=%s,mode=0750,uid=%d,gid=%d" % (
        TMPFS_SIZE, pwd.getpwnam("flaggd").pw_uid,
        grp.getgrnam("flserver").gr_gid)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs",
                           path], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % done.stderr.strip())


def fill(folder):
    """Write a file in folder until the file system is full; its path."""
    path = os.path.join(folder, "filler")
    block = b"\0" * 4096
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(block)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                break
        # The last partial block, byte by byte.
        while True:
            try:
                f.write(b"\0")
            except OSError:
                break
    return path


def log_text(srv):
    with open(os.path.join(srv.ws, "log", "aggd.log")) as f:
        return f.read()


def test_full_disk_keeps_model_and_round(server):
    srv = server(min_num_clients=2, wait_after_min_clients=1,
                 keep_round_models=True)
    mount_tmpfs(srv.run_dir)
    try:
        s1, s2 = srv.registered("site-1", "site-2")
        updates = []
        for seed, site in ((71, s1), (72, s2)):
            _, model = site.get_model()
            update = random_update(model, seed=seed)
            site.submit(update, n_iter=1)
            updates.append((update, 1))
        srv.wait_round(0)
        round0 = expected_model(srv.initial_model, updates)
        model_path = srv.model_path()
        before = sha256_file(model_path)
        models = sorted(os.listdir(os.path.dirname(model_path)))

        filler = fill(srv.run_dir)
        updates = []
        for seed, site in ((73, s1), (74, s2)):
            _, model = site.get_model()
            assert_models_equal(model, round0)
            update = random_update(model, seed=seed)
            site.submit(update, n_iter=2)
            updates.append((update, 2))
        failed = "round 1: the new global model could not be saved"
        wait_for("aggd to fail saving round 1",
                 lambda: failed in log_text(srv), 20)
        # And once more, SAVE_RETRY seconds later, still without space.
        wait_for("aggd to try again", lambda: log_text(srv).count(failed)
                 >= 2, 3 * SAVE_RETRY)
        log = log_text(srv)
        assert "No space left on device" in log, log

        assert sha256_file(model_path) == before
        assert_models_equal(srv.global_model(), round0)
        assert sorted(os.listdir(os.path.dirname(model_path))) == models
        assert not os.path.exists(srv.provenance_path(1))
        checkpoint = read_json(os.path.join(srv.ws, "state", "aggd.json"))
        assert checkpoint["round"] == 1
        status = srv.wait_status("round 1 under way",
                                 lambda s: s["round"] == 1)
        assert status["state"] == "training"

        os.unlink(filler)
        freed = time.monotonic()
        record = srv.wait_round(1, timeout=3 * SAVE_RETRY)
        print("\nfull disk: round 1 saved %.1f s after space returned" % (
            time.monotonic() - freed))
        assert sorted(s["site"] for s in record["sites"]) == \
            ["site-1", "site-2"]
        assert_models_equal(srv.global_model(),
                            expected_model(round0, updates))
        assert read_json(os.path.join(srv.ws, "state",
                                      "aggd.json"))["round"] == 2
    finally:
        srv.stop()
        subprocess.run(["umount", "-l", srv.run_dir], capture_output=True)
