"""The bad-input catalog (tests/catalog/cases.py) against the real
daemons, and two abuses of the training port's connections.

One server for the module: sites 1-3 registered, training started, each
holding round 0's model; site-1 plays the hostile site, site-2 the
well-behaved one, and nobody sends a good update, so no round closes.
For every case: site-1 gets the status the catalog names, with a short
message; site-2 is served right after; the daemons are the same
processes; their memory (VmRSS) comes back near where it was, and stays
there when site-1 sends the same request twice more (what malloc keeps
for reuse is bounded by what decoding the request may take, at most
UNPACK_FACTOR times its size; leaks are the sanitizer run's to find);
and the workspace's run and state folders (but status.json) hash the
same.

Then: connections that open and send nothing (no TLS ClientHello, or TLS
and then no HTTP/2), and a flood of a few hundred connections on the
loopback: site-2's calls go on meanwhile, netd drops the silent ones at
its handshake deadline, and its open files come back to their count.
"""

import hashlib
import os
import socket
import ssl
import sys
import threading
import time

import grpc
import pytest

from conftest import HERE, wait_for
from site_client import RPC_TIMEOUT, SERVICE, expect_status

sys.path.insert(0, os.path.join(os.path.dirname(HERE), "catalog"))
from cases import CASES, LIMIT, MODEL  # noqa: E402

DAEMONS = ("netd", "aggd", "admind")
OPTIONS = [["grpc.max_send_message_length", LIMIT],
           ["grpc.max_receive_message_length", LIMIT]]
SITE_OPTIONS = [("grpc.max_send_message_length", 2 * LIMIT),
                ("grpc.max_receive_message_length", LIMIT)]
# Memory a daemon may keep after a case beyond what malloc keeps of the
# request's decoding (common/unpack.h: at most UNPACK_FACTOR times the
# request), however often the request comes.
RSS_SLACK = 8 * 1024 * 1024
SENDS = 3
UNPACK_FACTOR = 4
RSS_WAIT = 10
# netd's handshake deadline (grpc_server.c) and the time to notice it.
HANDSHAKE_TIMEOUT = 10
SILENT = 40		# connections of each silent kind
FLOOD = 300		# connections of the flood


class Catalog:
    """The module's server and what a case compares before and after."""

    def __init__(self, srv):
        self.srv = srv
        self.hostile, self.good, self.third = [
            srv.site(name, options=SITE_OPTIONS)
            for name in ("site-1", "site-2", "site-3")]
        for site in (self.hostile, self.good, self.third):
            site.register()
        for site in (self.hostile, self.good, self.third):
            wait_for("round 0 to start", lambda s=site: _fetched(s), 20,
                     interval=0.2)
        self.pids = self.daemon_pids()

    def daemon_pids(self):
        return {d: self.srv.daemon_pid(d) for d in DAEMONS}

    def rss(self):
        out = {}
        for daemon, pid in self.pids.items():
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        out[daemon] = int(line.split()[1]) * 1024
        return out

    def open_files(self, daemon):
        return len(os.listdir("/proc/%d/fd" % self.pids[daemon]))

    def disk(self):
        """SHA-256 of every file under run_*/ and state/ but status.json
        (and admind's temporary copy of it),
        by path."""
        out = {}
        for top in sorted(os.listdir(self.srv.ws)):
            if not (top.startswith("run_") or top == "state"):
                continue
            for folder, dirs, files in os.walk(os.path.join(self.srv.ws,
                                                            top)):
                dirs.sort()
                for name in sorted(files):
                    if name.startswith("status.json"):
                        continue
                    path = os.path.join(folder, name)
                    with open(path, "rb") as f:
                        out[os.path.relpath(path, self.srv.ws)] = \
                            hashlib.sha256(f.read()).hexdigest()
        return out

    def wait_rss_near(self, before, kept):
        """Wait until each daemon's VmRSS is within RSS_SLACK and kept
        bytes of before; returns it. Not against sanitized daemons
        (make sanitize): ASan keeps freed memory in quarantine, and
        LeakSanitizer checks them at exit instead."""
        if os.environ.get("FLSERVER_SANITIZED"):
            return None

        def near():
            now = self.rss()
            if all(now[d] <= before[d] + RSS_SLACK + kept for d in DAEMONS):
                return now
            return None
        try:
            return wait_for("memory back near its level", near, RSS_WAIT,
                            interval=0.2)
        except AssertionError:
            raise AssertionError("VmRSS before %s, after %s" % (
                before, self.rss()))

    def still_serving(self):
        """site-2 is served and the daemons are the same processes."""
        reply = self.good.heartbeat()
        assert reply.comment == "alive"
        assert self.daemon_pids() == self.pids


def _fetched(site):
    try:
        site.get_model()
    except grpc.RpcError as err:
        if err.details().startswith("No token"):
            return False
        raise
    return True


@pytest.fixture(scope="module")
def catalog(launcher, request):
    srv = launcher.start(min_num_clients=3, wait_after_min_clients=1,
                         model=MODEL, service_options=OPTIONS)
    failed = request.session.testsfailed
    try:
        yield Catalog(srv)
        if request.session.testsfailed != failed:
            print("---- server logs (%s)\n%s" % (srv.ws, srv.logs()))
    finally:
        srv.stop()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_and_changes_nothing(catalog, case):
    """site-1 sends case: the catalog's status and words, site-2 still
    served, memory back near its level, nothing on disk changed."""
    rpc, build, code, words = CASES[case]
    disk, rss = catalog.disk(), catalog.rss()
    request = build(catalog.hostile)

    path = rpc if rpc.startswith("/") else SERVICE + rpc
    call = catalog.hostile.channel.unary_unary(path)

    def send():
        details = expect_status(getattr(grpc.StatusCode, code), call,
                                request, timeout=RPC_TIMEOUT,
                                contains=words)
        assert len(details) < 600, "a message of %d bytes" % len(details)
        catalog.still_serving()
    for _ in range(SENDS):
        send()
        catalog.wait_rss_near(rss, UNPACK_FACTOR * len(request))
    assert catalog.disk() == disk


def _tls_context(kit):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=kit.root.decode())
    startup = os.path.join(kit.folder, "startup")
    ctx.load_cert_chain(os.path.join(startup, "client.crt"),
                        os.path.join(startup, "client.key"))
    ctx.set_alpn_protocols(["h2"])
    return ctx


def _connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _closed_by_server(sock, deadline):
    """True once the server closed sock (EOF or reset) before deadline."""
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        while True:
            if sock.recv(4096) == b"":
                return True
    except (ConnectionResetError, ssl.SSLError, OSError) as err:
        return not isinstance(err, socket.timeout)


def _served_meanwhile(catalog, stop, failures, latencies):
    while not stop.is_set():
        start = time.monotonic()
        try:
            catalog.still_serving()
        except Exception as err:  # noqa: BLE001 - recorded for the test
            failures.append(repr(err))
        latencies.append(time.monotonic() - start)
        time.sleep(0.2)


class Meanwhile:
    """site-2's heartbeats in a thread while a test abuses the port."""

    def __init__(self, catalog):
        self.stop = threading.Event()
        self.failures, self.latencies = [], []
        self.thread = threading.Thread(
            target=_served_meanwhile,
            args=(catalog, self.stop, self.failures, self.latencies))
        self.thread.start()

    def finish(self):
        self.stop.set()
        self.thread.join()
        assert self.failures == [], self.failures
        assert self.latencies, "no heartbeat went through"
        assert max(self.latencies) < 5, "a heartbeat took %.1f s" % max(
            self.latencies)


def test_silent_connections_are_dropped_and_others_served(catalog):
    """SILENT connections that send nothing and SILENT that complete TLS
    with a site's certificate and then send nothing: site-2 is served
    throughout, netd closes them all at its handshake deadline (which
    covers HTTP/2's preface too), and its open files come back to their
    count."""
    port = catalog.srv.project.fl_port
    disk, rss = catalog.disk(), catalog.rss()
    files = catalog.open_files("netd")
    ctx = _tls_context(catalog.srv.project.kit("site-3"))
    meanwhile = Meanwhile(catalog)
    silent, quiet_tls = [], []
    try:
        silent = [_connect(port) for _ in range(SILENT)]
        for _ in range(SILENT):
            quiet_tls.append(ctx.wrap_socket(_connect(port),
                                             server_hostname="localhost"))
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT + 10
        dropped = [_closed_by_server(s, deadline)
                   for s in silent + quiet_tls]
    finally:
        meanwhile.finish()
        for s in silent + quiet_tls:
            s.close()
    assert all(dropped), "%d of %d silent connections still open" % (
        dropped.count(False), len(dropped))
    wait_for("netd's open files back to %d" % files,
             lambda: catalog.open_files("netd") <= files + 2, 20,
             interval=0.2)
    catalog.still_serving()
    catalog.wait_rss_near(rss, 0)
    assert catalog.disk() == disk


def _flood_one(port, ctx, i, errors):
    """One connection of the flood: TLS that closes at once, garbage
    instead of a ClientHello, or a connection closed unused."""
    try:
        with _connect(port) as sock:
            if i % 3 == 0:
                with ctx.wrap_socket(sock, server_hostname="localhost"):
                    pass
            elif i % 3 == 1:
                sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" * 64)
    except (OSError, ssl.SSLError) as err:
        errors.append(repr(err))


def test_connection_flood_leaves_service_and_files(catalog):
    """FLOOD connections on the loopback, twenty at a time: site-2 is
    served throughout, and netd's open files come back to their
    count."""
    port = catalog.srv.project.fl_port
    disk, rss = catalog.disk(), catalog.rss()
    files = catalog.open_files("netd")
    ctx = _tls_context(catalog.srv.project.kit("site-3"))
    meanwhile = Meanwhile(catalog)
    errors = []
    try:
        for first in range(0, FLOOD, 20):
            threads = [threading.Thread(target=_flood_one,
                                        args=(port, ctx, i, errors))
                       for i in range(first, first + 20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        meanwhile.finish()
    # Garbage and early closes may be reset by netd: that is its answer.
    assert all("Reset" in e or "EOF" in e or "Broken pipe" in e
               for e in errors), errors
    wait_for("netd's open files back to %d" % files,
             lambda: catalog.open_files("netd") <= files + 2, 20,
             interval=0.2)
    catalog.still_serving()
    catalog.wait_rss_near(rss, 0)
    assert catalog.disk() == disk
