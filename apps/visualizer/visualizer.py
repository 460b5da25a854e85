"""Swarm visualizer: GET / is a page of nodes x tasks, GET /api/state its JSON (refreshed every 2 s)."""

import html
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import docker

PORT = int(os.environ.get("PORT", "8080"))
CLIENT = docker.APIClient(base_url=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"), version="auto")

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Swarm visualizer</title>
<style>
 body{font-family:sans-serif;margin:1em;background:#f4f6f8}
 #nodes{display:flex;gap:1em;flex-wrap:wrap}
 .node{background:#fff;border-radius:6px;padding:.6em;min-width:14em;box-shadow:0 1px 3px #0003}
 .node h2{font-size:1.05em;margin:.1em 0} .meta{color:#667;font-size:.8em;margin-bottom:.4em}
 .task{background:#2b7bb9;color:#fff;border-radius:4px;padding:.25em .4em;margin:.25em 0;font-size:.85em}
 .task.other{background:#999}
</style></head>
<body><h1>Swarm visualizer</h1><div id="nodes">%(nodes)s</div>
<script>
async function refresh(){
  const s = await (await fetch('/api/state')).json();
  const root = document.getElementById('nodes'); root.innerHTML = '';
  for (const n of s.nodes){
    const d = document.createElement('div'); d.className='node'; d.dataset.node=n.hostname;
    d.innerHTML = '<h2></h2><div class="meta"></div>';
    d.querySelector('h2').textContent = n.hostname;
    d.querySelector('.meta').textContent = n.role + ' · ' + n.state + ' · ' + n.availability;
    for (const t of n.tasks){
      const e = document.createElement('div'); e.className = 'task' + (t.state==='running'?'':' other');
      e.textContent = t.service + '.' + t.slot + ' (' + t.state + ')'; d.appendChild(e);
    }
    root.appendChild(d);
  }
}
setInterval(refresh, 2000);
</script></body></html>"""


def state():
    services = {s["ID"]: s["Spec"]["Name"] for s in CLIENT.services()}
    nodes = []
    tasks = [t for t in CLIENT.tasks() if t.get("DesiredState") == "running"]
    for node in sorted(CLIENT.nodes(), key=lambda n: n["Description"]["Hostname"]):
        mine = [t for t in tasks if t.get("NodeID") == node["ID"]]
        nodes.append(dict(
            hostname=node["Description"]["Hostname"],
            role=node["Spec"].get("Role"), availability=node["Spec"].get("Availability"),
            state=node["Status"].get("State"),
            tasks=sorted(({"service": services.get(t["ServiceID"], t["ServiceID"][:10]),
                           "slot": t.get("Slot", 0), "state": t["Status"]["State"]} for t in mine),
                         key=lambda t: (t["service"], t["slot"])),
        ))
    return {"nodes": nodes}


def render(current):
    blocks = []
    for node in current["nodes"]:
        tasks = "".join('<div class="task%s">%s.%s (%s)</div>' % (
            "" if t["state"] == "running" else " other", html.escape(t["service"]), t["slot"], html.escape(t["state"]))
            for t in node["tasks"])
        blocks.append('<div class="node" data-node="%s"><h2>%s</h2><div class="meta">%s · %s · %s</div>%s</div>' % (
            html.escape(node["hostname"]), html.escape(node["hostname"]), node["role"], node["state"],
            node["availability"], tasks))
    return PAGE % {"nodes": "".join(blocks)}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            current = state()
        except docker.errors.DockerException as exc:
            self.send_error(503, "cannot read the swarm: %s" % exc)
            return
        if self.path.startswith("/api/state"):
            body, kind = json.dumps(current).encode(), "application/json"
        else:
            body, kind = render(current).encode(), "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("", PORT), Handler).serve_forever()
