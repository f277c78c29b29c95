"""Admins' requests reach sites over AdminCommunicating: the real daemons,
real build/flsite processes, and the admin console spoken to as any TLS
client would (Python ssl on netd's admin port, logged in with the
admin's certificate). Each test plays one request from the console to a
site and checks the console's answer, the site's log line for the
request (with the command's audit event id), and what the site did:
check_status while it waits, abort until start, shutdown (Quit, exit 0),
restart (a new registration), a stopped site that learns from the relay
that a restarted server forgot its token, sys_info, the shell-like
commands on the site's workspace with their refusals, and a site started
with -S that refuses them all.
"""

import os
import re
import subprocess
import time

import pytest

from admin_client import context, items_of_type, send_command
from conftest import ADMIN, wait_for
from test_flsite import FLSITE, SHARDS, logreg_model, write_table


NOTES = "alpha\nBeta\n\tgamma\n"
EXIT_TIMEOUT = 20
LOG_TIMEOUT = 20


class Console:
    """One admin, logged in with the certificate; a connection a command."""

    def __init__(self, srv):
        self.port = srv.project.admin_port
        self.ctx = context(srv.project.kit(ADMIN))
        docs = send_command(self.port, self.ctx, "_cert_login " + ADMIN)
        tokens = items_of_type(docs, "token")
        assert tokens, "no token from _cert_login: %r" % docs
        self.token = tokens[0]["data"]

    def run(self, command):
        return send_command(self.port, self.ctx, command, self.token)

    def site_row(self, command, site):
        """The row of site in the answer's table, by column name."""
        docs = self.run(command)
        for table in items_of_type(docs, "table"):
            rows = table["data"]["rows"]
            for row in rows[1:]:
                if row[0] == site:
                    return dict(zip(rows[0], row))
        raise AssertionError("%s: no row for %s in %r" % (command, site,
                                                          docs))

    def text(self, command):
        """The string items of a successful answer, joined."""
        docs = self.run(command)
        errors = items_of_type(docs, "error")
        assert not errors, "%s: %r" % (command, errors)
        return "".join(item["data"] for item in items_of_type(docs,
                                                              "string"))

    def error(self, command):
        """The error items of a refused command, joined."""
        errors = items_of_type(self.run(command), "error")
        assert errors, "%s was not refused" % command
        return " ".join(item["data"] for item in errors)


class FlSite:
    """A build/flsite process with its own workspace and log file."""

    def __init__(self, srv, name, folder, *options):
        self.name = name
        self.workspace = os.path.join(folder, "ws-" + name)
        os.makedirs(os.path.join(self.workspace, "models"))
        with open(os.path.join(self.workspace, "notes.txt"), "w") as f:
            f.write(NOTES)
        with open(os.path.join(self.workspace, "models", "round_1.json"),
                  "w") as f:
            f.write('{"round": 1}\n')
        table = write_table(os.path.join(folder, name + ".csv"),
                            SHARDS[name])
        kit = os.path.join(srv.project.folder, name, "startup")
        self.log_path = os.path.join(folder, name + ".log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [FLSITE, "-k", kit, "-d", table, "-e", "1", "-b", "2", "-p",
             "1", "-w", self.workspace] + list(options),
            stdout=subprocess.DEVNULL, stderr=self.log_file)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, text, count=1, timeout=LOG_TIMEOUT):
        return wait_for("%s's log to say %r" % (self.name, text),
                        lambda: self.log().count(text) >= count, timeout)

    def wait_relay(self):
        """Until the site's first Retrieve was answered."""
        self.wait_log("admin requests: the server's relay answers")

    def request_lines(self, topic):
        """The site's log lines for requests of topic: (event, outcome)."""
        return re.findall(r"admin request \d+ %s(?: \S.*)? \(event (\S+)\):"
                          r" (.*)" % re.escape(topic), self.log())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


@pytest.fixture
def flsite(tmp_path):
    """flsite(srv, name, *options): a running site, stopped after the
    test."""
    started = []

    def start(srv, name, *options):
        site = FlSite(srv, name, str(tmp_path), *options)
        started.append(site)
        site.wait_relay()
        return site
    yield start
    for site in started:
        site.stop()


def closed_rounds(srv):
    """Numbers of the rounds whose provenance record is written."""
    folder = os.path.join(srv.run_dir, "provenance")
    if not os.path.isdir(folder):
        return []
    return sorted(int(m.group(1)) for m in
                  (re.match(r"round_(\d+)\.json$", n)
                   for n in os.listdir(folder)) if m)


def test_check_status_says_waiting_with_the_event_id(server, flsite):
    """One site of two needed: it waits for a model, and says so; its log
    names the request and the command's audit event."""
    srv = server(min_num_clients=2, model=logreg_model())
    site = flsite(srv, "site-1")
    row = Console(srv).site_row("check_status client site-1", "site-1")
    assert row["status"] == "waiting"
    lines = site.request_lines("train.check_status")
    assert len(lines) == 1, site.log()
    event, outcome = lines[0]
    assert re.fullmatch(r"[0-9a-f]{32}", event), event
    assert outcome == "ok"


def test_abort_stops_training_until_start(server, flsite):
    """A site alone trains round after round; abort stops it between
    batches and no round closes while it waits, beating; start resumes
    it and the next round closes."""
    srv = server(min_num_clients=1, wait_after_min_clients=0,
                 model=logreg_model())
    site = flsite(srv, "site-1")
    srv.wait_round(1)
    console = Console(srv)
    row = console.site_row("abort client site-1", "site-1")
    assert row["status"] == "stopped"
    site.wait_log("training stopped by an admin; waiting for train.start")
    settled = closed_rounds(srv)
    time.sleep(3)
    assert closed_rounds(srv) == settled
    row = console.site_row("check_status client site-1", "site-1")
    assert row["status"] == "stopped"
    assert site.proc.poll() is None

    row = console.site_row("start client site-1", "site-1")
    assert row["status"] in ("waiting", "training")
    site.wait_log("training resumed by an admin")
    srv.wait_round(settled[-1] + 1)


def test_stopped_site_registers_again_after_a_server_restart(server,
                                                             flsite):
    """A stopped site makes no training call: when a restarted server has
    forgotten its token, the relay finds out, the site registers again
    and answers, still stopped."""
    srv = server(min_num_clients=2, model=logreg_model())
    site = flsite(srv, "site-1")
    row = Console(srv).site_row("abort client site-1", "site-1")
    assert row["status"] == "stopped"
    srv.restart()
    site.wait_log("Retrieve: token refused (on the admin channel); "
                  "registering again", timeout=60)
    site.wait_log("registered as site-1", count=2)
    site.wait_log("admin requests: the server's relay answers", count=2)
    row = Console(srv).site_row("check_status client site-1", "site-1")
    assert row["status"] == "stopped"
    assert site.proc.poll() is None


def test_shutdown_quits_and_exits_0(server, flsite):
    """shutdown: the site answers, sends Quit (the server forgets it) and
    exits 0."""
    srv = server(min_num_clients=2, model=logreg_model())
    site = flsite(srv, "site-1")
    srv.wait_status("site-1 registered",
                    lambda st: "site-1" in [s["name"] for s in st["sites"]])
    row = Console(srv).site_row("shutdown client site-1", "site-1")
    assert row["status"] == "shutting down"
    assert site.proc.wait(timeout=EXIT_TIMEOUT) == 0, site.log()
    assert "shutting down at an admin's request" in site.log()
    srv.wait_status("site-1 gone after its Quit",
                    lambda st: "site-1" not in [s["name"]
                                                for s in st["sites"]])


def test_restart_registers_again_and_goes_on(server, flsite):
    """restart: the site answers, registers anew, and answers the next
    request with its new token."""
    srv = server(min_num_clients=2, model=logreg_model())
    site = flsite(srv, "site-1")
    console = Console(srv)
    row = console.site_row("restart client site-1", "site-1")
    assert row["status"] == "restarting"
    site.wait_log("registering again at an admin's request")
    site.wait_log("registered as site-1", count=2)
    row = console.site_row("check_status client site-1", "site-1")
    assert row["status"] == "waiting"
    assert site.proc.poll() is None


def test_sys_info_reports_the_site_host(server, flsite):
    """sys_info: the site's kernel, processors and workspace, read by the
    site itself."""
    srv = server(min_num_clients=2, model=logreg_model())
    site = flsite(srv, "site-1")
    row = Console(srv).site_row("sys_info client site-1", "site-1")
    with open("/proc/sys/kernel/osrelease") as f:
        release = f.read().strip()
    assert row["kernel"] == "Linux " + release
    assert str(row["cpus"]) == str(os.sysconf("SC_NPROCESSORS_ONLN"))
    assert row["workspace"] == os.path.realpath(site.workspace)
    assert int(row["memory_bytes"]) > 0


def test_shell_commands_run_on_the_site_workspace(server, flsite):
    """ls and cat run on the site's own workspace, with the site's
    output as the answer."""
    srv = server(min_num_clients=2, model=logreg_model())
    flsite(srv, "site-1")
    console = Console(srv)
    assert console.text("ls site-1") == "models\nnotes.txt\n"
    assert console.text("ls site-1 models") == "round_1.json\n"
    assert console.text("cat site-1 -n notes.txt") == (
        "     1\talpha\n     2\tBeta\n     3\t\tgamma\n")
    assert console.text("grep site-1 -n -i beta notes.txt") == "2:Beta\n"
    assert console.text("tail site-1 -n 1 notes.txt") == "\tgamma\n"


def test_shell_refusals_come_from_the_site(server, flsite):
    """The site refuses, before reading anything, what wsfile refuses;
    the console shows its reason."""
    srv = server(min_num_clients=2, model=logreg_model())
    site = flsite(srv, "site-1")
    os.symlink("/etc/hostname", os.path.join(site.workspace, "out.txt"))
    console = Console(srv)
    assert "'..' is not accepted" in console.error(
        "cat site-1 ../site-1.csv")
    assert "absolute paths are not accepted" in console.error(
        "cat site-1 /etc/hostname")
    assert "links are not followed" in console.error("cat site-1 out.txt")
    assert "only .txt .log .json .csv .sh .config and .py" in \
        console.error("cat site-1 models")
    assert "No such file or directory" in console.error(
        "cat site-1 missing.txt")
    assert any(outcome.startswith("error: ")
               for _, outcome in site.request_lines("sys.shell"))


def test_site_started_with_S_refuses_shell_commands(server, flsite):
    """flsite -S: every shell-like request is refused with that reason,
    and the site goes on answering the others."""
    srv = server(min_num_clients=2, model=logreg_model())
    flsite(srv, "site-1", "-S")
    console = Console(srv)
    assert "this site does not accept remote shell commands" in \
        console.error("ls site-1")
    row = console.site_row("check_status client site-1", "site-1")
    assert row["status"] == "waiting"
