"""The admin console served by admind, driven through netd's admin port
with Python's ssl and the admins' own kits, against the real daemons.

Scenarios: every command for every role of the demo policy, at the
server, at a site of the admin's own org (site-1, hospital-1) and at
another org's site (site-2), against a written table of allow and deny;
shell-like commands refused before anything is read (.., absolute paths,
a symlink leaving the workspace, shell syntax, a NUL byte, an extension
not on the list, two files), and refused for want of the right before
any argument counts; logins refused for a wrong password, an unknown
user, a name that is not the certificate's, a token from another
certificate, and repeated failures; an expired session that says so and
works again after a new login; requests relayed to sites (played here
with grpcio) that answer, stay silent, or are removed and come back;
and check_status while max_num_clients sites are connected.
"""

import json
import os
import re
import subprocess
import threading
import time

import grpc
import pytest

import admin_pb2
from admin_client import (EOT, command_document, connect, context,
                          read_until_closed, send_command)
from conftest import REPO, ROLE_ADMINS, SITES, wait_for

ROLES = ["super", "lead_it", "site_it", "lead_researcher",
         "site_researcher"]
DENIED = "not authorized"
PASSWORD = "correct-horse-battery"
RELAY = "/admin.AdminCommunicating/"
FLPASSWD = os.path.join(REPO, "tools", "flpasswd")


class Answer:
    """The items of one answer, by kind."""

    def __init__(self, docs):
        self.items = [item for doc in docs for item in doc["data"]]

    def of(self, kind):
        return [i["data"] for i in self.items if i["type"] == kind]

    @property
    def errors(self):
        return self.of("error")

    @property
    def token(self):
        tokens = self.of("token")
        return tokens[0] if tokens else None

    @property
    def tables(self):
        return [t["rows"] for t in self.of("table")]

    @property
    def text(self):
        return "\n".join(i["data"] for i in self.items
                         if isinstance(i["data"], str) and
                         i["type"] != "token")

    def denied(self):
        return any(e.startswith(DENIED) for e in self.errors)

    def __repr__(self):
        return "Answer(%r)" % [i for i in self.items if i["type"] != "token"]


class Console:
    """One admin's console: the admin's certificate and session token."""

    def __init__(self, srv, email):
        self.port = srv.project.admin_port
        self.ctx = context(srv.project.kit(email))
        self.email = email
        self.token = None

    def send(self, line, token=None):
        return Answer(send_command(self.port, self.ctx, line, token))

    def login(self):
        answer = self.send("_cert_login %s" % self.email)
        assert answer.of("string") == ["OK"] and answer.token, answer
        self.token = answer.token
        return self

    def run(self, line):
        return self.send(line, self.token)


def console(srv, role):
    return Console(srv, ROLE_ADMINS[role][0])


# The authorization matrix. Each line: a command, then whether each role
# may run it (super, lead_it, site_it, lead_researcher, site_researcher:
# Y or N). site_it and site_researcher are of hospital-1, the org of
# site-1; site-2 belongs to hospital-2; the server to the consortium.
# From policy/authorization.json: lead_it operates and views everywhere;
# site_it operates and views its own org's sites; lead_researcher
# deploys, trains and views everywhere; site_researcher deploys, trains
# and views at its own org's sites; view_self is granted by default.
MATRIX = """
check_status server             Y Y N Y N
check_status client site-1      Y Y Y Y Y
check_status client site-2      Y Y N Y N
start client site-1             Y N N Y Y
start client site-2             Y N N Y N
abort client site-1             Y N N Y Y
abort client site-2             Y N N Y N
start server                    Y N N Y N
abort server                    Y N N Y N
set_run_number 2                Y N N Y N
delete_run_number 7             Y N N Y N
set_timeout 3                   Y N N Y N
deploy mmar server              Y N N Y N
deploy mmar client site-1       Y N N Y Y
deploy mmar client site-2       Y N N Y N
upload_folder mmar              Y N N Y N
shutdown server                 Y Y N N N
shutdown client site-1          Y Y Y N N
shutdown client site-2          Y Y N N N
restart server                  Y Y N N N
restart client site-1           Y Y Y N N
restart client site-2           Y Y N N N
remove_client site-3            Y Y N N N
sys_info server                 Y Y N N N
sys_info client site-1          Y Y Y N N
sys_info client site-2          Y Y N N N
validate all                    Y Y N Y N
taskname                        Y Y Y Y Y
_commands                       Y Y Y Y Y
pwd server                      Y Y N Y N
pwd site-1                      Y Y Y Y Y
pwd site-2                      Y Y N Y N
ls server startup               Y Y N Y N
ls site-1 models                Y Y Y Y Y
ls site-2 models                Y Y N Y N
cat server startup/fed_server.json  Y Y N Y N
cat site-1 log.txt              Y Y Y Y Y
cat site-2 log.txt              Y Y N Y N
head server -n 2 startup/fed_server.json  Y Y N Y N
head site-1 -n 2 log.txt        Y Y Y Y Y
head site-2 -n 2 log.txt        Y Y N Y N
tail server -n 2 startup/fed_server.json  Y Y N Y N
tail site-1 log.txt             Y Y Y Y Y
tail site-2 log.txt             Y Y N Y N
grep server -n name startup/fed_server.json  Y Y N Y N
grep site-1 round log.txt       Y Y Y Y Y
grep site-2 round log.txt       Y Y N Y N
"""


def matrix_rows():
    rows = []
    for line in MATRIX.strip().splitlines():
        words = line.split()
        command, marks = " ".join(words[:-5]), words[-5:]
        assert all(m in "YN" for m in marks), line
        rows.append((command, dict(zip(ROLES, (m == "Y" for m in marks)))))
    return rows


def test_authorization_matrix(server):
    """Each command of the table, run by each role's admin: refused with
    "not authorized" exactly where the table says N, and otherwise
    answered by the command itself (which may fail for its own reasons:
    no site is connected, the server cannot stop itself...)."""
    srv = server()
    consoles = {role: console(srv, role).login() for role in ROLES}
    wrong = []
    for command, allowed in matrix_rows():
        for role in ROLES:
            answer = consoles[role].run(command)
            if answer.denied() == allowed[role]:
                wrong.append("%s by %s: expected %s, got %r" % (
                    command, role, "allowed" if allowed[role] else
                    "denied", answer))
    assert not wrong, "\n".join(wrong)
    assert len(matrix_rows()) * len(ROLES) == 235


def test_commands_lists_what_the_role_may_run(server):
    """_commands names only the commands the user holds a right for
    somewhere: lead_it (operate, view) gets no start; site_researcher
    gets start (at its own sites) but no shutdown."""
    srv = server()

    def names(role):
        rows = console(srv, role).login().run("_commands").tables[0]
        assert rows[0] == ["scope", "command", "usage"]
        return {row[1] for row in rows[1:]}
    lead_it, site_r = names("lead_it"), names("site_researcher")
    assert "shutdown" in lead_it and "start" not in lead_it
    assert "start" in site_r and "shutdown" not in site_r
    assert {"_login", "_logout", "taskname", "check_status"} <= site_r
    assert len(names("super")) == 24


def test_answers_of_the_server_commands(server):
    """check_status server, taskname, set_timeout, deploy and shutdown
    server, word for word."""
    srv = server()
    admin = console(srv, "super").login()
    status = admin.run("check_status server")
    assert status.tables[0] == [["run", "round", "state", "num_rounds"],
                                ["1", "0", "idle", "-1"]]
    assert status.tables[1] == [["site", "last contact", "note"]]
    assert admin.run("taskname").of("string") == ["protocol-test"]
    assert admin.run("set_timeout 4").of("success") == [
        "sites now have 4 s to answer"]
    assert admin.run("set_timeout 51").errors == [
        "set_timeout: 51 is not a number of seconds from 1 to 50"]
    assert admin.run("deploy mmar all").errors == [
        "deploy: no MMAR mmar in transfer/: upload it first"]
    assert admin.run("training.taskname").errors == [
        "unknown command training.taskname: _commands lists the commands "
        "you may run"]
    assert admin.run("validation.taskname").of("string") == [
        "protocol-test"]
    assert admin.run("delete_run_number 1").errors == [
        "run 1 is the current run: it cannot be deleted"]
    assert admin.run("validate all").errors == [
        "no cross-site validation results for run 1"]
    stop = admin.run("shutdown server").errors
    assert len(stop) == 1 and "flserverctl stop" in stop[0]


# Refusals of the shell-like commands on the server's workspace. Each
# names a file that exists (or a place that does), so that only the
# refusal can explain an answer without its content.
REFUSED_PATHS = [
    ("cat server ../server1/ws/startup/fed_server.json", "'..'"),
    ("cat server startup/../startup/fed_server.json", "'..'"),
    ("ls server ..", "'..'"),
    ("cat server /etc/os-release", "absolute"),
    ("ls server /", "absolute"),
    ("cat server transfer/leak.txt", "link"),
    ("ls server -l transfer/out/secret.txt", "link"),
    ("cat server transfer/out/secret.txt", "link"),
    ("cat server startup/fed_server.json;id", "shell"),
    ("cat server $(id).json", "shell"),
    ("ls server startup | cat", "shell"),
    ("cat server `id`.json", "shell"),
    ("cat server startup/fed_server.json > x.txt", "shell"),
    ("cat server startup/server.key", "may be read"),
    ("cat server startup/users.passwd", "may be read"),
    ("cat server state/audit.key", "may be read"),
    ("cat server startup/fed_server.json startup/authorization.json",
     "one file"),
    ("grep server x startup/fed_server.json startup/authorization.json",
     "one file"),
]


def test_shell_commands_refuse_before_reading(server):
    """Each refused command gets one error naming the rule it broke, and
    never the content of the file it aimed at."""
    srv = server(users={ROLE_ADMINS["lead_it"][0]: PASSWORD})
    outside = os.path.join(srv.base, "outside")
    os.makedirs(outside)
    with open(os.path.join(outside, "secret.txt"), "w") as f:
        f.write("OUTSIDE-SECRET\n")
    os.chmod(outside, 0o755)
    os.chmod(os.path.join(outside, "secret.txt"), 0o644)
    transfer = os.path.join(srv.ws, "transfer")
    os.makedirs(transfer, exist_ok=True)
    os.symlink(os.path.join(outside, "secret.txt"),
               os.path.join(transfer, "leak.txt"))
    os.symlink(outside, os.path.join(transfer, "out"))
    admin = console(srv, "super").login()
    assert "protocol-test" in admin.run(
        "cat server startup/fed_server.json").text
    # ls shows a link as itself, and never what is behind it.
    listing = admin.run("ls server -R transfer").text
    assert "leak.txt" in listing and "secret.txt" not in listing
    wrong = []
    for command, rule in REFUSED_PATHS:
        answer = admin.run(command)
        if (len(answer.errors) != 1 or rule not in answer.errors[0] or
                "OUTSIDE-SECRET" in answer.text or
                "protocol-test" in answer.text or
                "pbkdf2" in answer.text.lower()):
            wrong.append("%s: %r" % (command, answer))
    assert not wrong, "\n".join(wrong)


def test_nul_byte_is_refused_whole(server):
    """A command holding a NUL (JSON's \\u0000) is refused as a request:
    nothing runs, the connection gets one error item."""
    srv = server()
    admin = console(srv, "super").login()
    answer = admin.run("cat server startup/fed_server.json\x00.txt")
    assert len(answer.errors) == 1
    assert answer.errors[0].startswith("document 1 is not JSON")
    assert "protocol-test" not in answer.text


def test_view_right_is_checked_before_any_argument(server):
    """site_researcher lacks view at the server: whatever the path, the
    answer is the authorization error, not the path's refusal."""
    srv = server()
    user = console(srv, "site_researcher").login()
    for command in ("cat server ../../etc/passwd",
                    "cat server /etc/passwd",
                    "ls server $(reboot)",
                    "cat server startup/server.key"):
        assert user.run(command).errors == [
            "not authorized: %s needs the view right at server" %
            command.split()[0]], command


def test_wrong_password_then_right_one(server):
    """A wrong password is rejected, a retry at once is refused with the
    time to wait, and after that wait the right password logs in."""
    email = ROLE_ADMINS["lead_it"][0]
    srv = server(users={email: PASSWORD})
    admin = Console(srv, email)
    answer = admin.send("_login %s wrong-password" % email)
    assert answer.errors == ["REJECT: wrong user name or password"]
    assert answer.token is None
    answer = admin.send("_login %s %s" % (email, PASSWORD))
    # 2 s after the failure, less what the round trip took.
    assert len(answer.errors) == 1 and re.fullmatch(
        r"REJECT: too many failed logins, try again in [12] s",
        answer.errors[0]), answer
    time.sleep(2.2)
    answer = admin.send("_login %s %s" % (email, PASSWORD))
    assert answer.of("string") == ["OK"] and answer.token
    admin.token = answer.token
    assert admin.run("taskname").of("string") == ["protocol-test"]


def test_flpasswd_sets_a_password_admind_takes_at_once(server):
    """tools/flpasswd writes the hash into the running server's users
    file; the next _login uses it, no restart."""
    email = ROLE_ADMINS["site_it"][0]
    srv = server()
    done = subprocess.run([FLPASSWD, "-w", srv.ws, email],
                          input=PASSWORD + "\n", capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    answer = console(srv, "site_it").send("_login %s %s" % (email,
                                                            PASSWORD))
    assert answer.of("string") == ["OK"] and answer.token


def test_unknown_user_is_rejected_like_a_wrong_password(server):
    srv = server(users={ROLE_ADMINS["lead_it"][0]: PASSWORD})
    admin = console(srv, "lead_researcher")
    answer = admin.send("_login nobody@example.org %s" % PASSWORD)
    assert answer.errors == ["REJECT: wrong user name or password"]


def test_no_users_file_means_no_password_logins(server):
    srv = server()
    admin = console(srv, "lead_it")
    answer = admin.send("_login %s %s" % (admin.email, PASSWORD))
    assert answer.errors == [
        "REJECT: password logins are not set up (no users file): use "
        "_cert_login"]


def test_cert_login_needs_the_certificates_name(server):
    srv = server()
    admin = console(srv, "super")
    answer = admin.send("_cert_login %s" % ROLE_ADMINS["lead_it"][0])
    assert answer.errors == [
        "REJECT: %s is not the name in this certificate" %
        ROLE_ADMINS["lead_it"][0]]
    assert answer.token is None


def test_token_from_another_certificate_is_refused(server):
    srv = server()
    token = console(srv, "super").login().token
    other = console(srv, "lead_it")
    other.token = token
    assert other.run("taskname").errors == [
        "this session was opened with another certificate: log in with "
        "your own"]


def test_commands_need_a_session(server):
    srv = server()
    admin = console(srv, "super")
    assert admin.send("check_status server").errors == [
        "not logged in: log in with _login or _cert_login first"]
    assert admin.send("check_status server", "0" * 32).errors == [
        "unknown session: log in again"]


def test_expired_session_says_so_and_a_new_login_works(server):
    """admind -E 3: three idle seconds end the session."""
    srv = server(admind_args="-E 3")
    admin = console(srv, "super").login()
    assert admin.run("taskname").of("string") == ["protocol-test"]
    time.sleep(3.5)
    assert admin.run("taskname").errors == [
        "session expired after 3 s without a command: log in again"]
    admin.login()
    assert admin.run("taskname").of("string") == ["protocol-test"]


def test_logout_ends_the_session(server):
    srv = server()
    admin = console(srv, "super").login()
    assert admin.run("_logout").of("success") == ["logged out"]
    assert admin.run("taskname").errors == ["unknown session: log in again"]


def test_malformed_requests_are_refused(server):
    """Not JSON, two command items, an unknown item type, deep nesting:
    one error item each, and admind still serves."""
    srv = server()
    admin = console(srv, "super").login()
    two = {"time": 1, "data": [{"type": "command", "data": "taskname"},
                               {"type": "command", "data": "taskname"}]}
    other = {"time": 1, "data": [{"type": "string", "data": "x"}]}
    deep = b'{"time": 1, "data": ' + b"[" * 50 + b"]" * 50 + b"}"
    cases = [
        (b"not json\x03", "document 1 is not JSON"),
        (json.dumps(two).encode() + b"\x03", "a request holds one command "
         "item"),
        (json.dumps(other).encode() + b"\x03", "a request holds command, "
         "token and file items only"),
        (deep + b"\x03", "document 1 is nested deeper than 8 levels"),
        (b"\xff\xfe\x03", "document 1 is not UTF-8 text"),
    ]
    for payload, error in cases:
        with connect(admin.port, admin.ctx) as sock:
            sock.sendall(payload + EOT)
            data = read_until_closed(sock)
        assert error.encode() in data, (payload, data)
    assert admin.run("taskname").of("string") == ["protocol-test"]


# The sites, played with grpcio: Retrieve and SendReply by hand.

def relay_call(site, method, reply_class, request):
    call = site.channel.unary_unary(
        RELAY + method, request_serializer=None,
        response_deserializer=reply_class.FromString)
    return call(request.SerializeToString(), timeout=10)


def retrieve(site):
    return relay_call(site, "Retrieve", admin_pb2.Messages,
                      admin_pb2.Client(client_name=site.token)).message


def reply(site, message, body, code="_ok"):
    answer = admin_pb2.Message(
        id=message.id, topic=message.topic, body_type="json",
        body=json.dumps(body).encode(),
        headers={"_refMsgId": str(message.id), "_rtnCode": code})
    relay_call(site, "SendReply", admin_pb2.Empty,
               admin_pb2.Reply(client_name=site.token, message=answer))


def poll_until(site, topic, timeout=10):
    """The site's polls until a request of topic comes."""
    def probe():
        for message in retrieve(site):
            if message.topic == topic:
                return message
        return None
    return wait_for(topic + " for " + site.name, probe, timeout, 0.2)


class Background:
    """A console command run in a thread: sites answer meanwhile."""

    def __init__(self, admin, line):
        self.answer = None
        self.thread = threading.Thread(target=self._run,
                                       args=(admin, line))
        self.thread.start()

    def _run(self, admin, line):
        self.answer = admin.run(line)

    def result(self, timeout=60):
        self.thread.join(timeout)
        assert not self.thread.is_alive()
        return self.answer


def registered(srv, *names):
    sites = srv.registered(*names)
    srv.wait_status("sites registered", lambda s: sorted(
        x["name"] for x in s["sites"]) == sorted(names))
    return sites


def test_check_status_client_relays_to_sites(server):
    """site-1 answers, site-2 stays silent: the table shows the one's
    status and "no reply" for the other once set_timeout (5 s) has passed. The
    request carries the audit event id and its own id."""
    srv = server()
    site1, _ = registered(srv, "site-1", "site-2")
    admin = console(srv, "super").login()
    admin.run("set_timeout 5")
    started = time.monotonic()
    command = Background(admin, "check_status client")
    message = poll_until(site1, "train.check_status")
    assert json.loads(message.body) == {}
    assert len(message.headers["_eventId"]) == 32
    assert message.headers["_msgId"] == str(message.id)
    reply(site1, message, {"site": "site-1", "status": "waiting",
                           "run": 1, "round": 0})
    answer = command.result()
    assert time.monotonic() - started >= 5
    assert answer.tables == [[["site", "status", "run", "round"],
                              ["site-1", "waiting", "1", "0"],
                              ["site-2", "no reply", "", ""]]]


def test_a_site_error_is_shown_and_a_stranger_token_refused(server):
    srv = server()
    site1, site2 = registered(srv, "site-1", "site-2")
    admin = console(srv, "super").login()
    command = Background(admin, "cat site-1 log.txt")
    message = poll_until(site1, "sys.shell")
    assert json.loads(message.body) == {"cmd": "cat log.txt"}
    # site-2's certificate with site-1's token: aggd vouches for no one.
    stolen = admin_pb2.Client(client_name=site1.token)
    with pytest.raises(grpc.RpcError) as e:
        relay_call(site2, "Retrieve", admin_pb2.Messages, stolen)
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    reply(site1, message, {"error": "shell commands are off here"},
          code="_error")
    assert command.result().errors == [
        "site-1: shell commands are off here"]


def test_remove_client_and_its_return(server):
    """remove_client tells the site to stop, aggd forgets it; when the
    site registers again, check_status says so."""
    srv = server()
    site1, _ = registered(srv, "site-1", "site-2")
    admin = console(srv, "super").login()
    command = Background(admin, "remove_client site-1")
    message = poll_until(site1, "train.shutdown")
    reply(site1, message, {"status": "stopping"})
    answer = command.result()
    assert answer.of("success") == ["site removed: its token is revoked"]
    assert answer.tables == [[["site", "status"], ["site-1", "stopping"]]]
    srv.wait_status("site-1 gone", lambda s: "site-1" not in [
        x["name"] for x in s["sites"]])
    rows = admin.run("check_status server").tables[1]
    assert ["site-1", "", "removed"] in rows
    site1.register()
    srv.wait_status("site-1 back", lambda s: "site-1" in [
        x["name"] for x in s["sites"]])
    rows = admin.run("check_status server").tables[1]
    notes = {row[0]: row[2] for row in rows[1:]}
    assert notes["site-1"] == "re-registered after removal"


def test_check_status_with_max_num_clients_connected(server):
    """All max_num_clients sites registered: an admin still logs in and
    check_status server lists every one with its last contact."""
    srv = server(min_num_clients=4, max_num_clients=4)
    registered(srv, *SITES)
    admin = console(srv, "lead_it").login()
    rows = admin.run("check_status server").tables[1]
    assert [row[0] for row in rows[1:]] == SITES
    assert all(row[1].endswith("Z") for row in rows[1:])


SYS_HEADER = ["site", "os", "kernel", "cpus", "memory_bytes", "load",
              "uptime_seconds", "workspace"]


def test_sys_info_of_the_server_and_of_a_site(server):
    """The server's row is admind's own reading of /proc; a site's is
    its sys.info answer, column by column."""
    srv = server()
    site1, _ = registered(srv, "site-1", "site-2")
    admin = console(srv, "lead_it").login()
    rows = admin.run("sys_info server").tables[0]
    assert rows[0] == SYS_HEADER and len(rows) == 2
    assert rows[1][0] == "server" and rows[1][2].startswith("Linux ")
    assert int(rows[1][3]) >= 1 and int(rows[1][4]) > 0
    assert rows[1][7] == os.path.realpath(srv.ws)
    command = Background(admin, "sys_info client site-1")
    message = poll_until(site1, "sys.info")
    reply(site1, message, {"site": "site-1", "os": "Debian",
                           "kernel": "Linux 6.1", "cpus": 4,
                           "memory_bytes": 1024, "load": "0.10 0.20 0.30",
                           "uptime_seconds": 99, "workspace": "/srv/s1"})
    assert command.result().tables == [[SYS_HEADER, [
        "site-1", "Debian", "Linux 6.1", "4", "1024", "0.10 0.20 0.30",
        "99", "/srv/s1"]]]
