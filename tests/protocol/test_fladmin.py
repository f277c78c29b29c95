"""The admin console, build/fladmin, against an admin port the test plays
itself: a small TLS server (Python's ssl, the provisioned server's
certificate, client certificates verified against the project's root CA)
on a free port, answering canned transmissions. The admin's kit is copied
and pointed at that port.

It pins the console's side of the wire (one transmission per connection:
one JSON document, 0x03, 0x04; a login first, the token after), how the
answers are shown (aligned tables, "key: value" dicts, text lines, errors),
exit codes, logging in again when the session expired, and that neither
the password nor the token reaches the output or the history file. One
last test checks that fladmin reaches the real netd's admin port and gets
a well-formed answer.
"""

import json
import os
import pty
import select
import shutil
import socket
import ssl
import stat
import subprocess
import threading
import time

import pytest

from conftest import ADMIN, REPO

FLADMIN = os.path.join(REPO, "build", "fladmin")
RUN_TIMEOUT = 30
PASSWORD = "correct-horse-battery"
# How a server says "log in again": admind's words for an idle session
# and for one it does not know (it restarted), and Clara's.
EXPIRED = "session expired after 3600 s without a command: log in again"
SESSION_GONE = [EXPIRED, "unknown session: log in again",
                "session_inactive"]


if not os.path.exists(FLADMIN):
    subprocess.run(["make", "-C", REPO, "build/fladmin"], check=True,
                   stdout=subprocess.DEVNULL)


def items_bytes(*documents):
    """A transmission from lists of items: each document, 0x03; 0x04."""
    out = b""
    for items in documents:
        out += json.dumps({"time": time.time(), "data": items}).encode()
        out += b"\x03"
    return out + b"\x04"


def table(*rows):
    return {"type": "table", "data": {"rows": [list(r) for r in rows]}}


def text(kind, data):
    return {"type": kind, "data": data}


class AdminPort:
    """A TLS server that answers the console as netd and admind would.

    answers maps a command line to the items of its answer, or to raw
    bytes sent as they are. Logins: _cert_login with the certificate's
    CN, or _login with PASSWORD; each gets a fresh token. expire is how
    many commands, from now on, are told their session expired.
    """

    def __init__(self, cert, key, ca, answers=None, host="127.0.0.1"):
        self.answers = dict(answers or {})
        self.expire = 0
        self.expired_text = EXPIRED
        self.tokens = set()
        self.issued = []
        self.requests = []      # (raw bytes, peer CN)
        self.errors = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        ctx.load_verify_locations(ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx = ctx
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()

    def commands(self):
        """The command lines received, in order."""
        return [command_of(json.loads(raw[:-2]))
                for raw, _ in self.requests]

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            try:
                self._one(conn)
            except (OSError, ValueError, KeyError) as e:
                self.errors.append(repr(e))
            finally:
                conn.close()

    def _one(self, conn):
        conn.settimeout(10)
        tls = self.ctx.wrap_socket(conn, server_side=True)
        raw = b""
        while not raw.endswith(b"\x04"):
            chunk = tls.recv(65536)
            if not chunk:
                raise ValueError("closed before 0x04: %r" % raw)
            raw += chunk
        cn = dict(x[0] for x in tls.getpeercert()["subject"])["commonName"]
        self.requests.append((raw, cn))
        answer = self._answer(json.loads(raw[:-2]), cn)
        tls.sendall(answer if isinstance(answer, bytes)
                    else items_bytes(answer))
        tls.close()

    def _login(self, words, cn):
        if (words[0] == "_cert_login" and words[1:] == [cn]) or \
                (words[0] == "_login" and words[2:] == [PASSWORD]):
            token = "token-%d-%s" % (len(self.issued), os.urandom(8).hex())
            self.issued.append(token)
            self.tokens.add(token)
            return [text("string", "OK"), text("token", token)]
        return [text("string", "REJECT")]

    def _answer(self, doc, cn):
        command = command_of(doc)
        words = command.split()
        if words[0] in ("_cert_login", "_login"):
            return self._login(words, cn)
        token = [i["data"] for i in doc["data"] if i["type"] == "token"]
        if token[0] not in self.tokens:
            return [text("error", "not authenticated")]
        if self.expire > 0:
            self.expire -= 1
            self.tokens.discard(token[0])
            return [text("error", self.expired_text)]
        return self.answers.get(command, [text("error",
                                               "unknown command")])


def command_of(doc):
    return [i["data"] for i in doc["data"] if i["type"] == "command"][0]


@pytest.fixture
def admin_port(project):
    """admin_port(answers) starts an AdminPort with the server's own
    certificate; closed when the test ends."""
    started = []

    def start(answers=None, cert=None, key=None, host="127.0.0.1"):
        startup = project.server_startup
        port = AdminPort(cert or os.path.join(startup, "server.crt"),
                         key or os.path.join(startup, "server.key"),
                         os.path.join(startup, "rootCA.pem"), answers, host)
        started.append(port)
        return port
    yield start
    for port in started:
        port.close()
        assert port.errors == []


@pytest.fixture
def kit(project, tmp_path):
    """kit(port, host) copies the admin's kit, pointed at host:port."""
    def make(port, host=None):
        folder = tmp_path / ("kit-%d" % port)
        shutil.copytree(os.path.join(project.folder, ADMIN, "startup"),
                        folder)
        path = folder / "fed_admin.json"
        conf = json.loads(path.read_text())
        conf["admin"]["port"] = port
        if host is not None:
            conf["admin"]["host"] = host
        path.write_text(json.dumps(conf))
        return str(folder)
    return make


def fladmin(kit_dir, *args, stdin=None, env=None, home=None):
    environment = dict(os.environ)
    environment.pop("FLADMIN_PASSWORD", None)
    environment["HOME"] = home or "/nonexistent"
    environment.update(env or {})
    return subprocess.run([FLADMIN, "-k", kit_dir] + list(args),
                          input=stdin, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT, env=environment)


# The wire.

def test_command_is_one_document_after_a_certificate_login(admin_port,
                                                          kit):
    """-c: a _cert_login as the certificate's CN, then the command with
    the token it got; each transmission one JSON document, 0x03, 0x04."""
    port = admin_port({"check_status server": [text("string", "fine")]})
    done = fladmin(kit(port.port), "-c", "check_status server")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "fine\n"

    assert [cn for _, cn in port.requests] == [ADMIN, ADMIN]
    for raw, _ in port.requests:
        assert raw.endswith(b"\x03\x04") and raw.count(b"\x03") == 1
        assert raw.count(b"\x04") == 1
    login, command = [json.loads(raw[:-2]) for raw, _ in port.requests]
    assert abs(login["time"] - time.time()) < 60
    assert login["data"] == [{"type": "command",
                              "data": "_cert_login " + ADMIN}]
    assert command["data"] == [
        {"type": "command", "data": "check_status server"},
        {"type": "token", "data": port.issued[0]}]


def test_answer_of_several_documents_is_shown_whole(admin_port, kit):
    """An answer may hold several documents: every item is shown."""
    port = admin_port({"pwd server": items_bytes(
        [text("string", "first")], [text("success", "second")])})
    done = fladmin(kit(port.port), "-c", "pwd server")
    assert (done.returncode, done.stdout) == (0, "first\nsecond\n")


def test_password_login_takes_the_password_from_the_environment(
        admin_port, kit):
    """-u USER: _login USER PASSWORD, the password from FLADMIN_PASSWORD,
    never shown."""
    port = admin_port({"check_status server": [text("string", "fine")]})
    done = fladmin(kit(port.port), "-u", "operator", "-c",
                   "check_status server",
                   env={"FLADMIN_PASSWORD": PASSWORD})
    assert done.returncode == 0, done.stderr
    assert port.commands() == ["_login operator " + PASSWORD,
                               "check_status server"]
    assert PASSWORD not in done.stdout + done.stderr


def test_refused_login_fails_without_a_command(admin_port, kit):
    """A wrong password: REJECT, exit 1, and the command never goes."""
    port = admin_port({"check_status server": [text("string", "fine")]})
    done = fladmin(kit(port.port), "-u", "operator", "-c",
                   "check_status server", env={"FLADMIN_PASSWORD": "wrong"})
    assert done.returncode == 1
    assert "login as operator refused: REJECT" in done.stderr
    assert port.commands() == ["_login operator wrong"]
    assert "wrong" not in done.stdout


@pytest.mark.parametrize("words", SESSION_GONE)
def test_expired_session_logs_in_again_and_retries_once(admin_port, kit,
                                                        words):
    """The server says the session expired: one new login, the command
    again with the new token, and only the second answer is shown."""
    port = admin_port({"check_status server": [text("string", "fine")]})
    port.expire = 1
    port.expired_text = words
    done = fladmin(kit(port.port), "-c", "check_status server")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "fine\n"
    assert port.commands() == ["_cert_login " + ADMIN, "check_status server",
                               "_cert_login " + ADMIN, "check_status server"]
    last = json.loads(port.requests[-1][0][:-2])
    assert last["data"][1] == {"type": "token", "data": port.issued[1]}


def test_session_expired_twice_in_a_row_fails(admin_port, kit):
    """Logging in again is tried once per command, not in a loop."""
    port = admin_port({"check_status server": [text("string", "fine")]})
    port.expire = 2
    done = fladmin(kit(port.port), "-c", "check_status server")
    assert done.returncode == 1
    assert done.stdout.startswith("Error: %s\n" % EXPIRED)
    assert port.commands().count("_cert_login " + ADMIN) == 2


# How answers are shown.

def test_table_is_aligned_with_an_underlined_header(admin_port, kit):
    port = admin_port({"check_status client": [table(
        ["site", "state", "last contact"],
        ["site-1", "training", "2024-05-01T12:00:00Z"],
        ["site-22", "idle", None],
        ["s3", 7, True])]})
    done = fladmin(kit(port.port), "-c", "check_status client")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "site     state     last contact\n"
        "-------  --------  --------------------\n"
        "site-1   training  2024-05-01T12:00:00Z\n"
        "site-22  idle\n"
        "s3       7         true\n")


def test_dict_strings_and_success_are_lines(admin_port, kit):
    port = admin_port({"check_status server": [
        text("string", "Engine status: training"),
        {"type": "dict", "data": {"run": 1, "round": 3,
                                  "state": "training"}},
        text("success", "done")]})
    done = fladmin(kit(port.port), "-c", "check_status server")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("Engine status: training\n"
                           "run: 1\nround: 3\nstate: training\n"
                           "done\n")


def test_control_characters_from_the_server_are_not_sent_to_the_terminal(
        admin_port, kit):
    port = admin_port({"cat server log.txt": [
        text("string", "red \x1b[31malert\x07\nnext line"),
        table(["name"], ["a\x1b]0;title\x07"])]})
    done = fladmin(kit(port.port), "-c", "cat server log.txt")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("red ?[31malert?\nnext line\n"
                           "name\n" "-----------\n" "a?]0;title?\n")


def test_text_that_ends_its_own_line_gets_no_second_newline(admin_port,
                                                            kit):
    port = admin_port({"ls server": [text("string", "log\nstartup\n")]})
    done = fladmin(kit(port.port), "-c", "ls server")
    assert (done.returncode, done.stdout) == (0, "log\nstartup\n")


def test_error_item_fails_the_command(admin_port, kit):
    """An error item: shown, and exit status 1."""
    port = admin_port({"start server": [text("error", "not implemented")]})
    done = fladmin(kit(port.port), "-c", "start server")
    assert (done.returncode, done.stdout) == (1,
                                             "Error: not implemented\n")


def test_malformed_answer_fails_the_command(admin_port, kit):
    port = admin_port({"check_status server": b"{not json\x03\x04"})
    done = fladmin(kit(port.port), "-c", "check_status server")
    assert done.returncode == 1
    assert "the answer is not JSON" in done.stderr


def test_answer_cut_before_its_end_fails_the_command(admin_port, kit):
    port = admin_port({"check_status server": b'{"time": 1, "data": []}'})
    done = fladmin(kit(port.port), "-c", "check_status server")
    assert done.returncode == 1
    assert "closed the connection before the end of its answer" in \
        done.stderr


# Reaching the server, and refusing the wrong one.

def test_unreachable_server_fails(kit, project):
    with socket.socket() as s:      # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        unused = s.getsockname()[1]
    done = fladmin(kit(unused), "-c", "check_status server")
    assert done.returncode == 1
    assert "cannot connect to localhost port %d" % unused in done.stderr


def test_server_address_in_its_certificate_is_accepted(admin_port, kit):
    """The kit may name the server by address: checked against the
    certificate's IP subjectAltName."""
    port = admin_port({"check_status server": [text("string", "fine")]})
    done = fladmin(kit(port.port, host="127.0.0.1"), "-c",
                   "check_status server")
    assert (done.returncode, done.stdout) == (0, "fine\n"), done.stderr


def test_server_certificate_for_another_name_is_refused(admin_port, kit):
    """A server at 127.0.0.2 showing the certificate of 127.0.0.1."""
    port = admin_port({}, host="127.0.0.2")
    done = fladmin(kit(port.port, host="127.0.0.2"), "-c",
                   "check_status server")
    assert done.returncode == 1
    assert "the server's certificate is refused" in done.stderr
    assert port.requests == []
    port.errors.clear()     # its handshake failed, as it should


def test_server_certificate_of_another_project_is_refused(
        admin_port, kit, foreign_project):
    startup = foreign_project.server_startup
    port = admin_port({}, cert=os.path.join(startup, "server.crt"),
                      key=os.path.join(startup, "server.key"))
    done = fladmin(kit(port.port), "-c", "check_status server")
    assert done.returncode == 1
    assert "the server's certificate is refused" in done.stderr
    assert port.requests == []
    port.errors.clear()


# Modes and client-side commands.

def test_script_skips_comments_and_stops_at_the_first_failure(
        admin_port, kit, tmp_path):
    port = admin_port({
        "check_status server": [text("string", "fine")],
        "start server": [text("error", "not implemented")],
        "abort server": [text("string", "aborted")]})
    script = tmp_path / "script.txt"
    script.write_text("# the morning checks\n\ncheck_status server\n"
                      "  # indented comment\nstart server\nabort server\n")
    done = fladmin(kit(port.port), "-f", str(script))
    assert done.returncode == 1
    assert done.stdout == ("> check_status server\nfine\n"
                           "> start server\nError: not implemented\n")
    assert "script.txt:5 failed; stopping" in done.stderr
    assert port.commands()[1:] == ["check_status server", "start server"]


def test_script_of_good_commands_succeeds(admin_port, kit, tmp_path):
    port = admin_port({"check_status server": [text("string", "fine")]})
    script = tmp_path / "script.txt"
    script.write_text("check_status server\nlpwd\ncheck_status server\n")
    done = fladmin(kit(port.port), "-f", str(script))
    assert done.returncode == 0, done.stderr
    assert port.commands()[1:] == ["check_status server"] * 2


def test_client_side_commands_never_reach_the_server(admin_port, kit,
                                                    tmp_path):
    port = admin_port({})
    folder = kit(port.port)
    lpwd = subprocess.run([FLADMIN, "-k", folder, "-c", "lpwd"],
                          cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=RUN_TIMEOUT)
    assert (lpwd.returncode, lpwd.stdout) == (0, "%s\n" % tmp_path)
    info = fladmin(folder, "-c", "info")
    assert info.returncode == 0
    assert "server: localhost port %d\n" % port.port in info.stdout
    assert "user: %s\nlogin: certificate\n" % ADMIN in info.stdout
    assert port.commands() == ["_cert_login " + ADMIN] * 2


def test_login_typed_as_a_command_is_refused(admin_port, kit):
    port = admin_port({})
    done = fladmin(kit(port.port), "-c", "_login someone secret")
    assert done.returncode == 1
    assert "logs in by itself" in done.stderr
    assert port.commands() == ["_cert_login " + ADMIN]


def test_history_holds_commands_but_no_password_or_token(admin_port, kit,
                                                         tmp_path):
    """Interactive, fed by a pipe: each command line goes to
    ~/.fladmin_history (0600), _login lines and secrets never do."""
    port = admin_port({
        "_commands": [table(["scope", "command", "description"],
                            ["training", "check_status", "status"])],
        "check_status server": [text("string", "fine")]})
    home = tmp_path / "home"
    home.mkdir()
    done = fladmin(kit(port.port), "-u", "operator",
                   stdin="check_status server\n_login operator %s\n"
                         "lpwd\nbye\ncheck_status server\n" % PASSWORD,
                   env={"FLADMIN_PASSWORD": PASSWORD}, home=str(home))
    assert done.returncode == 0, done.stderr
    assert "fine\n" in done.stdout
    assert port.commands() == ["_login operator " + PASSWORD, "_commands",
                               "check_status server"]

    history = home / ".fladmin_history"
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    saved = history.read_text()
    assert "check_status" in saved and "lpwd" in saved
    assert "_login" not in saved and PASSWORD not in saved
    assert all(token not in saved for token in port.issued)
    assert PASSWORD not in done.stdout + done.stderr
    assert all(token not in done.stdout + done.stderr
               for token in port.issued)


class Terminal:
    """fladmin on a pseudo-terminal, as an operator types at it."""

    def __init__(self, kit_dir, *args, env=None, home="/nonexistent"):
        environment = dict(os.environ, HOME=home, TERM="xterm")
        environment.pop("FLADMIN_PASSWORD", None)
        environment.update(env or {})
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(FLADMIN, [FLADMIN, "-k", kit_dir] + list(args),
                      environment)
        self.seen = b""

    def expect(self, wanted, timeout=RUN_TIMEOUT):
        """Read until wanted shows; returns what came since the last
        call."""
        deadline = time.monotonic() + timeout
        start = len(self.seen)
        while wanted.encode() not in self.seen[start:]:
            left = deadline - time.monotonic()
            assert left > 0, "no %r in %r" % (wanted, self.seen[start:])
            if select.select([self.fd], [], [], left)[0]:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                assert chunk, "fladmin ended: %r" % self.seen[start:]
                self.seen += chunk
        return self.seen[start:].decode(errors="replace")

    def type(self, keys):
        os.write(self.fd, keys.encode())

    def close(self):
        """Wait for the end; returns the exit status."""
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            if select.select([self.fd], [], [], 0.1)[0]:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:
                    pass
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        raise AssertionError("fladmin did not end: %r" % self.seen)


def test_tab_completes_the_server_commands_and_the_console_ones(
        admin_port, kit):
    """Completion knows the "command" column of the server's _commands
    table and the console's own commands."""
    port = admin_port({
        "_commands": [table(["scope", "command", "description"],
                            ["training", "check_status", "status"],
                            ["training", "set_timeout", "timeout"])],
        "check_status server": [text("string", "fine")]})
    term = Terminal(kit(port.port))
    try:
        term.expect("> ")
        term.type("che\t")
        term.expect("ck_status ")
        term.type("server\r")
        term.expect("fine")
        term.type("inf\t")
        term.expect("o ")
        term.type("\r")
        term.expect("login: certificate")
        term.type("bye\r")
    finally:
        assert term.close() == 0
    assert port.commands()[1:] == ["_commands", "check_status server"]


def test_password_typed_on_the_terminal_is_not_echoed(admin_port, kit):
    port = admin_port({"check_status server": [text("string", "fine")]})
    term = Terminal(kit(port.port), "-u", "operator", "-c",
                    "check_status server")
    try:
        term.expect("Password for operator: ")
        term.type(PASSWORD + "\r")
        term.expect("fine")
    finally:
        assert term.close() == 0
    assert PASSWORD.encode() not in term.seen
    assert port.commands()[0] == "_login operator " + PASSWORD


def test_kit_without_its_configuration_is_refused(tmp_path):
    done = fladmin(str(tmp_path), "-c", "check_status server")
    assert done.returncode == 1
    assert "fed_admin.json" in done.stderr


# The real admin port.

def test_real_admin_port_answers_a_listing_of_commands(server, project):
    """netd's admin port and admind: fladmin with the admin's own kit
    logs in with its certificate and gets a well-formed table back."""
    srv = server()
    done = fladmin(os.path.join(project.folder, ADMIN, "startup"), "-c",
                   "_commands")
    assert done.returncode == 0, done.stdout + done.stderr + srv.logs()
    header, rule = done.stdout.splitlines()[:2]
    assert header.split() == ["scope", "command", "usage"]
    assert set(rule) == {"-", " "}
