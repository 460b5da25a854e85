"""The stack role's verify tasks (tasks_from: verify) against a stand-in for the tutorial app.

A loopback HTTP server (a port the OS picks) answers as the app does; the replicas it names and
the visit counter it reports are scripted, so the checks can be seen to pass and to fail.
The visualizer checks are left out (stack_visualizer_image names no swarmops visualizer).
"""

from __future__ import annotations

import http.server
import subprocess
import threading

import pytest
import yaml

from conftest import BIN, ROOT, ansible_env

PLAY = [{
    "name": "Verify the stand-in app",
    "hosts": "managers",
    "gather_facts": False,
    "tasks": [{
        "name": "Verify",
        "ansible.builtin.include_role": {"name": "swarmops.core.stack", "tasks_from": "verify", "public": True},
        "vars": {"stack_manager_group": "managers", "stack_web_replicas": 3,
                 "stack_visualizer_image": "example/none"},
    }],
}]


class App:
    """Answers like the app: replica 'web-a' alone for the first ``spread_after`` requests, then
    web-a/b/c in turn; ``visits`` maps the request number to the counter shown (None: no Redis)."""

    def __init__(self, spread_after, visits):
        self.requests = 0
        self.spread_after, self.visits = spread_after, visits
        self.lock = threading.Lock()

    def body(self):
        with self.lock:
            self.requests += 1
            number = self.requests
        host = "web-a" if number <= self.spread_after else "web-" + "abc"[number % 3]
        visits = self.visits(number)
        shown = "<i>cannot connect to Redis, counter disabled</i>" if visits is None else str(visits)
        return "<h3>Hello World!</h3><b>Hostname:</b> %s<br/><b>Visits:</b> %s" % (host, shown)


@pytest.fixture
def app():
    servers = []

    def serve(spread_after=0, visits=lambda number: number):
        state = App(spread_after, visits)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the name http.server calls
                body = state.body().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return state, "http://127.0.0.1:%d" % server.server_address[1]

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def verify(tmp_path, url):
    host = {"ansible_connection": "local", "ansible_python_interpreter": str(BIN / "python"), "stack_verify_url": url}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"children": {"managers": {"hosts": {"m1": host}}}}}))
    (tmp_path / "play.yml").write_text(yaml.safe_dump(PLAY, sort_keys=False))
    cmd = [str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}))
    return proc.returncode, proc.stdout + proc.stderr


def test_verify_judges_the_round_that_spread_and_sends_no_other(tmp_path, app):
    state, url = app(spread_after=30)
    rc, out = verify(tmp_path, url)
    assert rc == 0, out
    # The first answer, a round from web-a alone, then the round that reached 3 replicas, judged.
    assert "(item=round 2)" in out and "(item=round 3)" not in out, out
    assert "20 answers from 3 replicas, visits 22 -> 41." in out, out
    assert state.requests == 41, out


@pytest.mark.parametrize("visits, seen", [
    (lambda number: None, "visits [] in 20 answers"),
    (lambda number: 7, "visits [7, 7, 7,"),
    (lambda number: 100 - number, "visits [98, 97,"),
])
def test_verify_fails_naming_what_it_saw(tmp_path, app, visits, seen):
    state, url = app(visits=visits)
    rc, out = verify(tmp_path, url)
    assert rc != 0 and "did not answer as expected: " + seen in out, out
    assert "hostnames ['web-c', 'web-a', 'web-b'] (need at least 3 different)" in out, out
    assert state.requests == 21, out


def test_verify_sends_nothing_in_check_mode_through_the_playbook(tmp_path, app):
    state, url = app()
    host = {"ansible_connection": "local", "ansible_python_interpreter": str(BIN / "python"), "stack_verify_url": url}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"children": {"swarm_managers": {"hosts": {"m1": host}}}}}))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), "playbooks/verify.yml", "--check"],
                          cwd=ROOT, capture_output=True, text=True, env=ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "the stack is not verified here" in out, out
    assert state.requests == 0, out
