"""TLS audit of both of netd's ports, with `openssl s_client` presenting
a real client certificate made by flprovision (a site's on the training
port, the admin's on the admin port): TLS 1.0 and 1.1 refused, 1.2 and
1.3 accepted; under TLS 1.2 only forward-secret AEAD suites; no
compression; no client-initiated renegotiation; and no service for a
client without a certificate, with one of another CA, or with one of
the wrong kind for the port.

The client is told to offer what it is asked (@SECLEVEL=0), so that a
refusal is the server's: the probes check that the client did send its
hello ("no protocols available" or "no ciphers available" would be the
client refusing itself).
"""

import subprocess
import os
import ssl
import time

import grpc
import pytest

from admin_client import (EOT, command_document, connect, context,
                          read_until_closed)
from conftest import ADMIN
from site_client import expect_status

PORTS = ["training", "admin"]
# Non-forward-secret, non-AEAD, anonymous or null suites, each refused.
REFUSED_SUITES = [
    "AES128-SHA",                   # RSA key exchange, CBC
    "AES256-GCM-SHA384",            # RSA key exchange, AEAD
    "AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES128-SHA",       # forward secret, CBC
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-SHA384",
    "DHE-RSA-AES128-GCM-SHA256",    # finite-field DH, RSA key
    "ADH-AES128-GCM-SHA256",        # anonymous
    "AECDH-AES128-SHA",
    "ECDHE-ECDSA-NULL-SHA",         # no encryption
]
# The server's key is ECDSA P-256.
ACCEPTED_SUITES = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
]
S_CLIENT_TIMEOUT = 20


@pytest.fixture(scope="module")
def audited(launcher):
    """One server for the whole audit: nothing here changes its state."""
    srv = launcher.start()
    yield srv
    srv.stop()


def kit_for(srv, which):
    """The participant whose certificate the port is for."""
    return srv.project.kit("site-1" if which == "training" else ADMIN)


def port_of(srv, which):
    return srv.project.fl_port if which == "training" else \
        srv.project.admin_port


def s_client(srv, which, *args, kit=None, stdin=b"", wait=0.0, hold=0.0):
    """Run openssl s_client against a port; its output and exit code.

    kit (default: the port's own participant) gives the client
    certificate; the server's certificate must verify against the
    project's root. stdin is sent after wait seconds and kept open for
    hold seconds more."""
    kit = kit or kit_for(srv, which)
    startup = os.path.join(kit.folder, "startup")
    root = os.path.join(srv.project.kit("site-1").folder, "startup",
                        "rootCA.pem")
    cmd = ["openssl", "s_client", "-connect",
           "127.0.0.1:%d" % port_of(srv, which), "-servername", "localhost",
           "-CAfile", root, "-verify_return_error",
           "-cert", os.path.join(startup, "client.crt"),
           "-key", os.path.join(startup, "client.key")]
    if which == "training":
        cmd += ["-alpn", "h2"]
    proc = subprocess.Popen(cmd + list(args), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(wait)
        proc.stdin.write(stdin)
        proc.stdin.flush()
        time.sleep(hold)
        out, _ = proc.communicate(timeout=S_CLIENT_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return out.decode("utf-8", "replace"), proc.returncode


def assert_client_offered(out):
    assert "no protocols available" not in out, out
    assert "no ciphers available" not in out, out


def negotiated(out, protocol=None):
    """The suite s_client reports ("New, TLSv1.2, Cipher is SUITE"), or
    None when there is none; with protocol, only under that version."""
    for line in out.splitlines():
        if line.startswith("New, ") and ", Cipher is " in line:
            version, suite = line[len("New, "):].split(", Cipher is ")
            if suite.strip() == "(NONE)":
                return None
            if protocol is not None and version != protocol:
                return None
            return suite.strip()
    return None


@pytest.mark.parametrize("which", PORTS)
@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_old_tls_versions_are_refused(audited, which, version):
    out, rc = s_client(audited, which, version, "-cipher",
                       "DEFAULT:@SECLEVEL=0")
    assert_client_offered(out)
    assert rc != 0
    assert negotiated(out) is None, out


@pytest.mark.parametrize("which", PORTS)
@pytest.mark.parametrize("version,protocol", [("-tls1_2", "TLSv1.2"),
                                              ("-tls1_3", "TLSv1.3")])
def test_tls_1_2_and_1_3_are_accepted_without_compression(audited, which,
                                                          version, protocol):
    out, _ = s_client(audited, which, version)
    assert negotiated(out, protocol) is not None, out
    assert "Verify return code: 0 (ok)" in out, out
    assert "Compression: NONE" in out, out


@pytest.mark.parametrize("which", PORTS)
@pytest.mark.parametrize("suite", REFUSED_SUITES)
def test_tls_1_2_suite_without_forward_secrecy_or_aead_is_refused(
        audited, which, suite):
    out, rc = s_client(audited, which, "-tls1_2", "-cipher",
                       suite + ":@SECLEVEL=0")
    assert_client_offered(out)
    assert rc != 0
    assert negotiated(out) is None, out


@pytest.mark.parametrize("which", PORTS)
@pytest.mark.parametrize("suite", ACCEPTED_SUITES)
def test_tls_1_2_forward_secret_aead_suite_is_accepted(audited, which,
                                                       suite):
    out, _ = s_client(audited, which, "-tls1_2", "-cipher", suite)
    assert negotiated(out) == suite, out


@pytest.mark.parametrize("which", PORTS)
def test_client_renegotiation_is_refused(audited, which):
    """Under TLS 1.2 the client asks to renegotiate ("R"), once the
    server has said what it says first (HTTP/2's settings on the
    training port): the server answers with a no_renegotiation alert and
    no second handshake."""
    out, _ = s_client(audited, which, "-tls1_2", "-msg", stdin=b"R\n",
                      wait=1.0, hold=2.0)
    assert "RENEGOTIATING" in out, out
    after = out.split("RENEGOTIATING", 1)[1]
    assert "no_renegotiation" in after, after
    assert "<<< TLS 1.2, Handshake" not in after, after


# Who may connect: certificates the ports refuse.

def admin_answer_or_refusal(srv, ctx):
    """What an admin port client gets for a command: the bytes of the
    answer, or None when the connection is refused by a TLS alert."""
    try:
        with connect(srv.project.admin_port, ctx) as sock:
            sock.sendall(command_document("check_status server") + EOT)
            return read_until_closed(sock)
    except (ssl.SSLError, ConnectionError):
        return None


def test_admin_port_answers_its_admin(audited):
    """The control: the admin's own kit gets an answer."""
    ctx = context(audited.project.kit(ADMIN))
    assert admin_answer_or_refusal(audited, ctx)


def test_admin_port_refuses_no_client_certificate(audited):
    ctx = context(audited.project.kit(ADMIN), with_client_cert=False)
    assert admin_answer_or_refusal(audited, ctx) is None


def test_admin_port_refuses_certificate_of_another_ca(audited,
                                                      foreign_project):
    """The same admin name, signed by another project's root."""
    ctx = context(foreign_project.kit(ADMIN),
                  root=audited.project.kit(ADMIN).root)
    assert admin_answer_or_refusal(audited, ctx) is None


def test_admin_port_refuses_site_certificate(audited):
    ctx = context(audited.project.kit("site-1"))
    assert admin_answer_or_refusal(audited, ctx) is None


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_admin_port_alert_for_site_certificate(audited, version):
    """The refusal is a TLS alert, in the handshake (TLS 1.2) or right
    after it (TLS 1.3, where the client's certificate comes last)."""
    out, rc = s_client(audited, "admin", version, "-ign_eof",
                       kit=audited.project.kit("site-1"))
    assert rc != 0
    assert "SSL alert number" in out, out


def test_training_port_refuses_no_client_certificate(audited):
    site = audited.site("site-1", with_client_cert=False)
    expect_status(grpc.StatusCode.UNAVAILABLE, site.register)


def test_training_port_refuses_certificate_of_another_ca(audited,
                                                         foreign_project):
    site = audited.site("site-1", kit=foreign_project.kit("site-1"),
                        root=audited.project.kit("site-1").root)
    expect_status(grpc.StatusCode.UNAVAILABLE, site.register)


def test_training_port_refuses_admin_certificate(audited):
    """An admin certificate completes the handshake (grpc checks no
    kind) but the first call is UNAUTHENTICATED."""
    site = audited.site(ADMIN, kit=audited.project.kit(ADMIN))
    expect_status(grpc.StatusCode.UNAUTHENTICATED, site.register)
