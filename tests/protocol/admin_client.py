"""The admin console's wire as any TLS client sees it: Python's ssl with
an admin's startup kit, one connection per command, JSON documents each
followed by 0x03, a transmission ended by 0x04 (doc/layout.md, "The
admin console's wire").
"""

import json
import os
import socket
import ssl
import time

ETX = b"\x03"
EOT = b"\x04"
TIMEOUT = 30


def context(kit, with_client_cert=True, root=None):
    """A TLS client context with kit's certificate, trusting root (the
    kit's own root CA by default) and checking the server's name."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cadata=(root or kit.root).decode())
    if with_client_cert:
        startup = os.path.join(kit.folder, "startup")
        ctx.load_cert_chain(os.path.join(startup, "client.crt"),
                            os.path.join(startup, "client.key"))
    return ctx


def connect(port, ctx, timeout=TIMEOUT):
    """A TLS connection to the admin port, handshake done."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname="localhost")
    except BaseException:
        raw.close()
        raise


def command_document(command, token=None):
    """The bytes of one document holding a command item (and a token)."""
    items = [{"type": "command", "data": command}]
    if token is not None:
        items.append({"type": "token", "data": token})
    return json.dumps({"time": time.time(), "data": items}).encode() + ETX


def read_until_closed(sock):
    """Everything the server sends until it closes the connection."""
    out = bytearray()
    while True:
        try:
            chunk = sock.recv(65536)
        except ssl.SSLEOFError:
            break
        if not chunk:
            break
        out += chunk
    return bytes(out)


def parse_transmission(data):
    """The documents of one transmission; fails unless it is well formed:
    documents each ended by 0x03, the whole ended by 0x04, nothing
    after."""
    assert data.endswith(EOT), "no 0x04 at the end: %r" % data[-64:]
    body = data[:-1]
    assert EOT not in body, "0x04 before the end"
    assert body.endswith(ETX), "last document not ended by 0x03"
    docs = [json.loads(part.decode("utf-8"))
            for part in body[:-1].split(ETX)]
    for doc in docs:
        assert isinstance(doc.get("time"), (int, float)), doc
        assert isinstance(doc.get("data"), list), doc
        for item in doc["data"]:
            assert isinstance(item.get("type"), str), item
            assert "data" in item, item
    return docs


def items_of_type(docs, kind):
    return [item for doc in docs for item in doc["data"]
            if item["type"] == kind]


def send_command(port, ctx, command, token=None):
    """One command on its own connection: the documents of the answer."""
    with connect(port, ctx) as sock:
        sock.sendall(command_document(command, token) + EOT)
        return parse_transmission(read_until_closed(sock))
