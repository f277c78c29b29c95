"""No room left while aggd saves a round's model. Round 0 closes and is
saved; then room runs out and round 1's updates come in. aggd cannot save
round 1: it logs why, tries again 5 s later, the previous global model
stays whole and unchanged, no provenance record and no half-written file
appear, and the round does not advance, neither in state/aggd.json nor in
state/status.json. Once room returns, aggd's next try (every 5 s) saves
round 1, and it is the model the updates make.

Room runs out in two ways: the run folder is a small tmpfs filled to the
last byte (a full disk; mounting needs root), or aggd's file-size limit
(RLIMIT_FSIZE, set on the running aggd with prlimit, which needs no root)
falls below the model's size: its writes then fail with EFBIG, aggd
ignoring SIGXFSZ, and the same aggd process lives on.
"""

import errno
import grp
import hashlib
import os
import pwd
import subprocess
import time

import numpy as np
import pytest

from conftest import wait_for
from model_math import (assert_models_equal, expected_model, random_update,
                        small_model)
from site_client import read_json

TMPFS_SIZE = "256k"
SAVE_RETRY = 5		# seconds, aggd's AGGD_SAVE_RETRY
# aggd's file-size limit: above its log's size, below its model file's.
FSIZE_LIMIT = 64 * 1024
BIG_TENSOR = 64 * 1024	# float32 values: a model file of 256 KiB


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


def round_of_updates(sites, seeds, n_iter, expected_global=None):
    """Each site fetches the model and sends an update; the updates."""
    updates = []
    for seed, site in zip(seeds, sites):
        _, model = site.get_model()
        if expected_global is not None:
            assert_models_equal(model, expected_global)
        update = random_update(model, seed=seed)
        site.submit(update, n_iter=n_iter)
        updates.append((update, n_iter))
    return updates


def out_of_room(srv, take_room, give_room, error):
    """Round 0 saved; take_room(); round 1 cannot be saved, with error
    in aggd's log, and changes nothing; give_room(); round 1 saved."""
    sites = srv.registered("site-1", "site-2")
    updates = round_of_updates(sites, (71, 72), 1)
    srv.wait_round(0)
    round0 = expected_model(srv.initial_model, updates)
    model_path = srv.model_path()
    before = sha256_file(model_path)
    models = sorted(os.listdir(os.path.dirname(model_path)))

    take_room()
    updates = round_of_updates(sites, (73, 74), 2, round0)
    failed = "round 1: the new global model could not be saved"
    wait_for("aggd to fail saving round 1",
             lambda: failed in log_text(srv), 20)
    # And once more, SAVE_RETRY seconds later, still without room.
    wait_for("aggd to try again", lambda: log_text(srv).count(failed)
             >= 2, 3 * SAVE_RETRY)
    log = log_text(srv)
    assert error in log, log

    assert sha256_file(model_path) == before
    assert_models_equal(srv.global_model(), round0)
    assert sorted(os.listdir(os.path.dirname(model_path))) == models
    assert not os.path.exists(srv.provenance_path(1))
    checkpoint = read_json(os.path.join(srv.ws, "state", "aggd.json"))
    assert checkpoint["round"] == 1
    status = srv.wait_status("round 1 under way",
                             lambda s: s["round"] == 1)
    assert status["state"] == "training"

    give_room()
    freed = time.monotonic()
    record = srv.wait_round(1, timeout=3 * SAVE_RETRY)
    print("\nout of room: round 1 saved %.1f s after room returned" % (
        time.monotonic() - freed))
    assert sorted(s["site"] for s in record["sites"]) == \
        ["site-1", "site-2"]
    assert_models_equal(srv.global_model(),
                        expected_model(round0, updates))
    assert read_json(os.path.join(srv.ws, "state",
                                  "aggd.json"))["round"] == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_full_disk_keeps_model_and_round(server):
    srv = server(min_num_clients=2, wait_after_min_clients=1,
                 keep_round_models=True)
    mount_tmpfs(srv.run_dir)
    filler = []
    try:
        out_of_room(srv, lambda: filler.append(fill(srv.run_dir)),
                    lambda: os.unlink(filler[0]),
                    "No space left on device")
    finally:
        srv.stop()
        subprocess.run(["umount", "-l", srv.run_dir], capture_output=True)


def process_ids(pid):
    """A process's real uid and gid."""
    ids = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid"):
                ids[key] = int(value.split()[0])
    return ids["Uid"], ids["Gid"]


def file_size_limit(pid, soft):
    """Set a process's soft RLIMIT_FSIZE (bytes or "unlimited") as its
    own user: root without CAP_SYS_RESOURCE, as in a container, may not
    change another user's limits."""
    uid, gid = process_ids(pid)
    command = ["prlimit", "--pid", str(pid), "--fsize=%s:" % soft]
    if os.geteuid() != uid:
        command = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid,
                   "--clear-groups"] + command
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_file_size_limit_keeps_model_round_and_aggd(server):
    model = dict(small_model(), big=np.zeros(BIG_TENSOR, np.float32))
    srv = server(min_num_clients=2, wait_after_min_clients=1,
                 keep_round_models=True, model=model)
    pid = srv.daemon_pid("aggd")
    with open("/proc/%d/limits" % pid) as f:
        assert any(line.startswith("Max file size") and
                   line.split()[3] == "unlimited" for line in f)
    out_of_room(srv, lambda: file_size_limit(pid, FSIZE_LIMIT),
                lambda: file_size_limit(pid, "unlimited"),
                "File too large")
    assert srv.daemon_pid("aggd") == pid, "aggd was restarted"
