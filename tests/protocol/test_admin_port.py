"""The admin port's limits, against the real daemons under their seccomp
filters: an admin's command reaches admind and its answer comes back as
one well-formed transmission; a transmission without 0x04 past the cap,
or a connection that goes quiet, gets netd's own error item and is
closed; a flood of silent connections does not keep an admin out; an
admin missing from admin_cns is refused. netd survives every one.

Until admind serves the console, its answer to every command is an
error item: the tests check the shape of an answer, not its words.
"""

import os
import socket
import ssl
import time

import pytest

from admin_client import (EOT, command_document, connect, context,
                          items_of_type, parse_transmission,
                          read_until_closed, send_command)
from conftest import ADMIN

MIB = 1024 * 1024
# netd's limits (netd/admin_port.h).
CONNS_MAX = 64
HANDSHAKE_TIMEOUT = 10


def assert_alive(srv):
    """netd is still the process flserverctl started."""
    pid = srv.daemon_pid("netd")
    os.kill(pid, 0)


def admin_ctx(srv):
    return context(srv.project.kit(ADMIN))


def assert_error_answer(docs):
    """One document with at least one error item whose data is text."""
    errors = items_of_type(docs, "error")
    assert errors, "no error item in %r" % docs
    assert all(isinstance(e["data"], str) and e["data"] for e in errors)


def test_command_is_answered_with_one_transmission(server):
    """A command without a token: admind's answer (an error item while
    the console is not served), ended by 0x04, then the server closes."""
    srv = server()
    docs = send_command(srv.project.admin_port, admin_ctx(srv),
                        "check_status server")
    assert_error_answer(docs)
    assert_alive(srv)


def test_transmission_over_cap_without_end_gets_error_and_close(server):
    """admin_max_transmission 1 MiB; 1 MiB + 64 KiB without 0x04: an
    error item from netd, and the connection closes."""
    srv = server(fed_server={"admin_max_transmission": MIB})
    with connect(srv.project.admin_port, admin_ctx(srv)) as sock:
        sock.sendall(b"x" * (MIB + 64 * 1024))
        start = time.monotonic()
        data = read_until_closed(sock)
        assert time.monotonic() - start < 10
    assert_error_answer(parse_transmission(data))
    assert_alive(srv)


def test_command_just_under_cap_reaches_admind(server):
    """A document padded to the cap, then 0x04: relayed, answered."""
    srv = server(fed_server={"admin_max_transmission": MIB})
    doc = command_document("check_status server")
    pad = MIB - len(doc)
    with connect(srv.project.admin_port, admin_ctx(srv)) as sock:
        sock.sendall(doc[:-1] + b" " * pad + doc[-1:] + EOT)
        docs = parse_transmission(read_until_closed(sock))
    assert_error_answer(docs)
    assert_alive(srv)


@pytest.mark.parametrize("sent", [b"", b'{"time": 1, "da'])
def test_idle_connection_gets_error_and_close(server, sent):
    """admin_idle_timeout 2 s; after the handshake, nothing (or half a
    document) and then silence: an error item after about 2 s, then the
    connection closes."""
    srv = server(fed_server={"admin_idle_timeout": 2})
    with connect(srv.project.admin_port, admin_ctx(srv)) as sock:
        start = time.monotonic()
        if sent:
            sock.sendall(sent)
        data = read_until_closed(sock)
        waited = time.monotonic() - start
    assert 1.5 <= waited < 8, waited
    assert_error_answer(parse_transmission(data))
    assert_alive(srv)


def test_silent_flood_does_not_keep_admin_out(server):
    """200 TCP connections that send nothing, then an admin's command:
    answered well before the handshake timeout would have freed a slot.
    Most of the silent connections were closed by netd."""
    srv = server()
    port = srv.project.admin_port
    flood = []
    try:
        start = time.monotonic()
        for _ in range(200):
            flood.append(socket.create_connection(("127.0.0.1", port),
                                                  timeout=10))
        docs = send_command(port, admin_ctx(srv), "check_status server")
        answered = time.monotonic() - start
        assert_error_answer(docs)
        assert answered < HANDSHAKE_TIMEOUT - 2, answered

        closed = 0
        for s in flood:
            s.settimeout(0.05)
            try:
                if s.recv(1) == b"":
                    closed += 1
            except socket.timeout:
                pass
            except OSError:
                closed += 1
        assert closed >= 200 - CONNS_MAX, closed
    finally:
        for s in flood:
            s.close()
    assert_alive(srv)


def test_admin_not_in_admin_cns_is_refused(server):
    """admin_cns names someone else: the admin's connection is refused
    in the handshake (under TLS 1.3, at its first read) and nothing is
    answered."""
    srv = server(fed_server={"admin_cns": ["someone@else.example.org"]})
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with connect(srv.project.admin_port, admin_ctx(srv)) as sock:
            sock.sendall(command_document("check_status server") + EOT)
            if read_until_closed(sock) == b"":
                raise ConnectionError("closed without an answer")
    assert_alive(srv)


def test_admin_in_admin_cns_is_answered(server):
    """admin_cns names the admin: its command is answered."""
    srv = server(fed_server={"admin_cns": ["someone@else.example.org",
                                           ADMIN]})
    docs = send_command(srv.project.admin_port, admin_ctx(srv),
                        "check_status server")
    assert_error_answer(docs)
    assert_alive(srv)
