"""Knock on one of the daemons' IPC sockets as another user.

probe(path, kind, payload, user) runs a ZeroMQ DEALER in a child process
that becomes user (in that user's own group, no other), connects to the
ipc:// path, sends one request (an envelope of that kind, then the
payload) and watches for an answer and for what the connection did.
It returns a dict:

- "connected": the socket was reached at all (a connect(2) succeeded);
- "handshake": ZeroMQ's handshake with the daemon completed, so the
  daemon kept the connection (a refused uid is cut off before);
- "answered": a reply came back within the time given.
"""

import json
import pwd
import subprocess

# Run by the child, as the other user: only the standard library and zmq,
# nothing from the repository, which that user may not be able to read.
CHILD = r"""
import json, sys, time
import zmq

path, kind, payload, seconds = sys.argv[1], int(sys.argv[2]), \
    sys.argv[3].encode(), float(sys.argv[4])

def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7f
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)

# Envelope{request_id = 1, kind = kind}, as protobuf packs it.
envelope = b"\x08" + varint(1) + b"\x10" + varint(kind)
ctx = zmq.Context()
sock = ctx.socket(zmq.DEALER)
sock.setsockopt(zmq.LINGER, 0)
monitor = sock.get_monitor_socket()
sock.connect("ipc://" + path)
sock.send_multipart([envelope, payload])
seen = {"connected": False, "handshake": False, "answered": False}
poller = zmq.Poller()
poller.register(sock, zmq.POLLIN)
poller.register(monitor, zmq.POLLIN)
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    ready = dict(poller.poll(50))
    if monitor in ready:
        frames = monitor.recv_multipart()
        event = int.from_bytes(frames[0][:2], "little")
        if event == zmq.EVENT_CONNECTED:
            seen["connected"] = True
        elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            seen["handshake"] = True
    if sock in ready:
        sock.recv_multipart()
        seen["answered"] = True
print(json.dumps(seen))
sock.disable_monitor()
monitor.close()
sock.close()
ctx.term()
"""

PYTHON = "/usr/bin/python3"


def start(path, kind, payload, user, seconds):
    """The probe as a running child; finish() reads its verdict."""
    pw = pwd.getpwnam(user)
    return subprocess.Popen(
        [PYTHON, "-c", CHILD, path, str(kind), payload, str(seconds)],
        user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
        cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


def finish(proc, timeout=30):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, "probe failed: %s" % err
    return json.loads(out)


def probe(path, kind, payload, user, seconds=2.0):
    return finish(start(path, kind, payload, user, seconds))
