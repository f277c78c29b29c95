"""A harness that runs build/aggd alone and plays netd's part.

It makes a throwaway workspace in a temporary folder: a project of N
sites provisioned by tools/flprovision (so that the server's startup kit
is signed, as aggd requires: common/kitsig.c), a training configuration,
an initial model of a given size. It starts aggd with -s and speaks to
it over its ZeroMQ socket exactly as netd does: a DEALER sending
two-frame messages, an flipc.Envelope stamped with the site's identity
(its CN, peer kind SITE and its certificate's fingerprint, which aggd
checks against the revocation list) and the serialized gRPC request.
Replies are matched by request id, so many requests can be in flight at
once, as when many sites talk together.

Who runs aggd: started by an ordinary user, aggd runs as that user, and
so does this harness. Started by root, aggd runs as $FLSERVER_USER
(nobody when unset), as packaging/flserverctl does for developers: an
ordinary user, so aggd keeps its unprivileged layout (a runtime folder
of its own, 0700) with its seccomp filter on, and root, which plays
netd, may connect. As its appliance user flaggd, aggd would take the
appliance layout, whose sockets accept flnetd's uid only; playing netd
there would mean running this harness as flnetd in a runtime folder laid
out as /run/flserver, for figures that do not depend on the uid: the
harness refuses the appliance users instead.

Used by the benchmarks in bench/; it prints nothing itself.
"""

import hashlib
import json
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import zmq

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
AGGD = os.path.join(REPO, "build", "aggd")
FLPROVISION = os.path.join(REPO, "tools", "flprovision")
PROJECT = "bench"
APPLIANCE_USERS = ("flnetd", "flaggd", "fladmind")


def _run_as():
    """The setpriv prefix that runs aggd as FLSERVER_USER (root only)."""
    if os.geteuid() != 0:
        return [], None
    name = os.environ.get("FLSERVER_USER") or "nobody"
    if name in APPLIANCE_USERS:
        raise SystemExit("FLSERVER_USER=%s: aggd would take the "
                         "appliance layout, whose sockets accept only "
                         "flnetd; use an ordinary user" % name)
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        raise SystemExit("FLSERVER_USER=%s: no such user" % name)
    if pw.pw_uid == 0:
        raise SystemExit("FLSERVER_USER=%s is root" % name)
    return (["setpriv", "--reuid=%d" % pw.pw_uid,
             "--regid=%d" % pw.pw_gid, "--clear-groups"],
            (pw.pw_uid, pw.pw_gid))


AS_USER, OWNER = _run_as()


def _protos():
    """federated_pb2 and envelope_pb2: from build/py, else made here."""
    py = os.path.join(REPO, "build", "py")
    if not os.path.exists(os.path.join(py, "envelope_pb2.py")):
        py = tempfile.mkdtemp(prefix="flpb")
        subprocess.run(["/usr/bin/python3", "-m", "grpc_tools.protoc",
                        "-I" + os.path.join(REPO, "proto"),
                        "--python_out=" + py,
                        "federated.proto", "envelope.proto"], check=True)
    sys.path.insert(0, py)
    import envelope_pb2
    import federated_pb2
    return envelope_pb2, federated_pb2


envelope_pb2, federated_pb2 = _protos()


def npy_bytes(array):
    """The .npy encoding of array, as numpy.save writes it."""
    import io
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def cert_fingerprint(path):
    """SHA-256 of a PEM certificate's DER, lowercase hex, as netd
    stamps it on each request of the site that presented it."""
    with open(path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def vm_kib(pid, field):
    """VmHWM or VmRSS of a process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s for pid %d" % (field, pid))


class Aggd:
    """aggd on a fresh workspace with nsites sites and a model of
    model_bytes bytes of float32 (tensor "w") plus a small tensor "b"."""

    def __init__(self, nsites, model_bytes, min_clients=None,
                 num_rounds=1, wait_after=30):
        self.sites = ["site-%d" % i for i in range(1, nsites + 1)]
        # ipc:// paths are limited to 107 bytes: stay short, under /tmp.
        self.top = tempfile.mkdtemp(prefix="flb", dir="/tmp")
        self.workspace = os.path.join(self.top, "ws")
        self.rundir = os.path.join(self.top, "run")
        self._provision()

        rng = np.random.default_rng(1)
        self.initial = {
            "w": rng.standard_normal(model_bytes // 4).astype(np.float32),
            "b": np.arange(10, dtype=np.float32)}
        np.savez(os.path.join(self.top, "initial.npz"), **self.initial)
        self.config = os.path.join(self.top, "config_fed_server.json")
        self._write(self.config, {
            "min_num_clients": min_clients or nsites,
            "max_num_clients": max(nsites, 1),
            "wait_after_min_clients": wait_after,
            "heart_beat_timeout": 600,
            "start_round": 0,
            "num_rounds": num_rounds,
            "ckpt_preload_path": os.path.join(self.top, "initial.npz")})
        self.proc = None
        self.log = []
        self.tokens = {}
        self.next_id = 0

    def _provision(self):
        """The server's signed kit from flprovision, as the workspace."""
        project = os.path.join(self.top, "project.json")
        self._write(project, {
            "name": PROJECT,
            "server": {"org": "bench", "cn": "localhost",
                       "address": "127.0.0.1"},
            "sites": [{"org": "bench", "name": s} for s in self.sites]})
        kits = os.path.join(self.top, "kits")
        done = subprocess.run([FLPROVISION, "-p", project, "-o", kits],
                              capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(self.top, ignore_errors=True)
            raise RuntimeError("flprovision failed:\n" + done.stdout +
                               done.stderr)
        os.rename(os.path.join(kits, "server"), self.workspace)
        self.fingerprints = {s: cert_fingerprint(os.path.join(
            kits, s, "startup", "client.crt")) for s in self.sites}
        # The sites' kits and the root CA's key are not aggd's to see.
        shutil.rmtree(kits)

    @staticmethod
    def _write(path, doc):
        with open(path, "w") as f:
            json.dump(doc, f)

    def _hand_over(self):
        """Give the workspace to the user aggd runs as."""
        if not AS_USER:
            return
        for folder, dirs, files in os.walk(self.top):
            for name in [folder] + [os.path.join(folder, n)
                                    for n in dirs + files]:
                os.chown(name, *OWNER)

    def start(self, timeout=30):
        self._hand_over()
        self.proc = subprocess.Popen(
            AS_USER + [AGGD, "-w", self.workspace, "-r", self.rundir, "-c",
                       self.config, "-s"], stderr=subprocess.PIPE,
            text=True)
        ready = threading.Event()

        def reader():
            for line in self.proc.stderr:
                self.log.append(line.rstrip("\n"))
                if line.rstrip().endswith("ready"):
                    ready.set()
        threading.Thread(target=reader, daemon=True).start()
        if not ready.wait(timeout):
            self.stop()
            raise RuntimeError("aggd did not get ready:\n" +
                               "\n".join(self.log))
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect("ipc://%s/aggd/aggd.sock" % self.rundir)

    @property
    def pid(self):
        return self.proc.pid

    def hwm_kib(self):
        return vm_kib(self.pid, "VmHWM")

    def send(self, kind, site, payload, token=""):
        """Send one request without waiting; returns its id."""
        self.next_id += 1
        env = envelope_pb2.Envelope(
            request_id=self.next_id, kind=kind, metadata_token=token,
            peer=envelope_pb2.Peer(common_name=site,
                                   kind=envelope_pb2.PEER_SITE,
                                   fingerprint=self.fingerprints[site]))
        self.sock.send_multipart([env.SerializeToString(), payload],
                                 copy=False)
        return self.next_id

    def collect(self, ids, timeout=90, keep=None):
        """Replies to ids: {id: (status, message, payload or size)}.
        Payloads are kept only for the ids in keep; for the others only
        their size, so big replies do not pile up in this process."""
        want = set(ids)
        out = {}
        deadline = time.monotonic() + timeout
        while want:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000)):
                raise RuntimeError("no reply to %d requests" % len(want))
            frames = self.sock.recv_multipart(copy=False)
            env = envelope_pb2.Envelope.FromString(frames[0].bytes)
            if env.request_id not in want:
                continue
            want.discard(env.request_id)
            body = frames[1]
            keep_it = keep is not None and env.request_id in keep
            out[env.request_id] = (env.status, env.status_message,
                                   body.bytes if keep_it else len(body))
        return out

    def call(self, kind, site, payload, token=""):
        rid = self.send(kind, site, payload, token)
        return self.collect([rid], keep={rid})[rid]

    def register_all(self):
        ids = {}
        for s in self.sites:
            login = federated_pb2.ClientLogin(client_name=s)
            ids[self.send(envelope_pb2.REGISTER, s,
                          login.SerializeToString())] = s
        replies = self.collect(ids, keep=set(ids))
        for rid, (status, message, body) in replies.items():
            if status != 0:
                raise RuntimeError("register %s: %d %s" %
                                   (ids[rid], status, message))
            summary = federated_pb2.FederatedSummary.FromString(body)
            self.tokens[ids[rid]] = summary.token

    def fetch_all(self, keep_one=False):
        """Every site asks for the model at once; returns the first
        reply's CurrentModel if keep_one."""
        ids = {}
        for s in self.sites:
            state = federated_pb2.ClientState(client_name=s)
            ids[self.send(envelope_pb2.GET_MODEL, s,
                          state.SerializeToString(), self.tokens[s])] = s
        first = min(ids)
        replies = self.collect(ids, keep={first} if keep_one else None)
        for rid, (status, message, _) in replies.items():
            if status != 0:
                raise RuntimeError("fetch %s: %d %s" %
                                   (ids[rid], status, message))
        if keep_one:
            return federated_pb2.CurrentModel.FromString(replies[first][2])
        return replies

    def update_payload(self, delta, round_number=0, n_iter=1):
        """One serialized Contribution that every site can send: the
        token travels in the envelope, as gRPC metadata would carry it."""
        c = federated_pb2.Contribution(
            client=federated_pb2.ClientState(
                meta=federated_pb2.MetaData(current_round=round_number)),
            n_iter=n_iter, type="delta_w")
        for name, array in delta.items():
            c.data.params[name].ndarray = npy_bytes(array)
        return c.SerializeToString()

    def submit_all(self, payload):
        ids = {}
        for s in self.sites:
            ids[self.send(envelope_pb2.SUBMIT_UPDATE, s, payload,
                          self.tokens[s])] = s
        replies = self.collect(ids)
        for rid, (status, message, _) in replies.items():
            if status != 0:
                raise RuntimeError("update from %s: %d %s" %
                                   (ids[rid], status, message))

    def wait_log(self, text, timeout=30):
        """Wait for a log line of aggd's containing text."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.log):
            if time.monotonic() > deadline:
                raise RuntimeError("aggd never logged %r:\n%s" %
                                   (text, "\n".join(self.log)))
            time.sleep(0.02)

    def provenance(self, round_number, timeout=60):
        path = os.path.join(self.workspace, "run_1", "provenance",
                            "round_%d.json" % round_number)
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                raise RuntimeError("round %d did not close:\n%s" %
                                   (round_number, "\n".join(self.log)))
            time.sleep(0.05)
        with open(path) as f:
            return json.load(f)

    def global_model(self):
        path = os.path.join(self.workspace, "run_1", "models",
                            "FL_global_model.npz")
        with np.load(path) as z:
            return {k: z[k] for k in z.files}

    def stop(self):
        if getattr(self, "sock", None) is not None:
            self.sock.close()
            self.ctx.term()
            self.sock = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.top, ignore_errors=True)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
