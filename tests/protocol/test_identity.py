"""Who may train: the training port takes only the project's site
certificates, and a site registers only under its certificate's CN.
Every refusal leaves the registry untouched: after it, a good site
registers and the operator's status lists that site alone.
"""

import grpc

from conftest import ADMIN
from site_client import expect_status

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED
UNAVAILABLE = grpc.StatusCode.UNAVAILABLE


def assert_only_site_1_registers(srv):
    """The refusals before registered nobody: status lists site-1 only."""
    status = srv.status()
    assert status is None or status.get("sites", []) == []
    s1, = srv.registered("site-1")
    srv.wait_status("site-1 listed",
                    lambda st: "site-1" in [s["name"] for s in st["sites"]])
    assert srv.status_sites() == ["site-1"]


def test_client_name_other_than_certificate_cn_is_unauthenticated(server):
    """site-1's certificate registering as site-2: UNAUTHENTICATED."""
    srv = server(min_num_clients=2)
    impostor = srv.site("site-1")
    expect_status(UNAUTHENTICATED, impostor.register, client_name="site-2")
    assert_only_site_1_registers(srv)


def test_admin_certificate_on_training_port_is_unauthenticated(server):
    """The admin's certificate (CA-signed, OU=admin) registering under
    its own CN or under a site's name: UNAUTHENTICATED."""
    srv = server(min_num_clients=2)
    admin = srv.site(ADMIN, kit=srv.project.kit(ADMIN))
    expect_status(UNAUTHENTICATED, admin.register)
    expect_status(UNAUTHENTICATED, admin.register, client_name="site-1")
    assert_only_site_1_registers(srv)


def test_certificate_of_another_ca_fails_handshake(server, foreign_project):
    """A site-1 certificate from another project's root CA (the client
    trusts the real server): the TLS handshake fails, UNAVAILABLE."""
    srv = server(min_num_clients=2)
    foreign = srv.site("site-1", kit=foreign_project.kit("site-1"),
                       root=srv.project.kit("site-1").root)
    expect_status(UNAVAILABLE, foreign.register)
    assert_only_site_1_registers(srv)


def test_no_client_certificate_fails_handshake(server):
    """TLS without a client certificate: the handshake fails,
    UNAVAILABLE."""
    srv = server(min_num_clients=2)
    anonymous = srv.site("site-1", with_client_cert=False)
    expect_status(UNAVAILABLE, anonymous.register)
    assert_only_site_1_registers(srv)


def test_token_of_another_site_is_unauthenticated(server):
    """site-1's certificate presenting site-2's live token, under either
    name: UNAUTHENTICATED; site-2's token still works for site-2."""
    srv = server(min_num_clients=2)
    s1, s2 = srv.registered("site-1", "site-2")
    expect_status(UNAUTHENTICATED, s1.heartbeat, token=s2.token)
    expect_status(UNAUTHENTICATED, s1.get_model, token=s2.token)
    s1.name = "site-2"
    expect_status(UNAUTHENTICATED, s1.heartbeat, token=s2.token)
    expect_status(UNAUTHENTICATED, s1.get_model, token=s2.token)
    s2.heartbeat()
    meta, _ = s2.get_model()
    assert meta.current_round == 0
