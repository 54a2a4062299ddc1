"""The web process: POST /jobs enqueues a job (n=7&seconds=3), GET /jobs/ID reports it."""
import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import psycopg

from tasks import DATABASE_URL, square

PORT = int(os.environ.get("PORT", "8300"))


class Jobs(BaseHTTPRequestHandler):
    def reply(self, status, body):
        data = (json.dumps(body) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            return self.reply(200, {"ok": True})
        if self.path.startswith("/jobs/"):
            job_id = self.path.removeprefix("/jobs/")
            with psycopg.connect(DATABASE_URL) as db:
                row = db.execute(
                    "SELECT n, result, worker FROM results WHERE job_id = %s", (job_id,)
                ).fetchone()
            if row is None:
                return self.reply(200, {"id": job_id, "state": "pending"})
            n, result, worker = row
            return self.reply(
                200, {"id": job_id, "state": "done", "n": n, "result": result, "worker": worker}
            )
        self.reply(404, {"error": "try POST /jobs or GET /jobs/ID"})

    def do_POST(self):
        if self.path != "/jobs":
            return self.reply(404, {"error": "try POST /jobs"})
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        n = int(form.get("n", ["7"])[0])
        seconds = float(form.get("seconds", ["3"])[0])
        job = square.delay(n, seconds)
        print(f"enqueued job {job.id} (n={n})", flush=True)
        self.reply(202, {"id": job.id, "state": "queued"})

    def log_message(self, format, *args):
        print(f"{self.address_string()} {format % args}", flush=True)


parser = argparse.ArgumentParser()
# proj.toml passes $PROJ_LISTEN_HOST: 127.0.0.1 under proj, 0.0.0.0 in a container.
parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
host = parser.parse_args().host
# As a container's main process (PID 1), SIGTERM would do nothing: the kernel delivers
# to PID 1 only the signals it handles, and Python handles SIGINT alone. Stop on it as
# anywhere else.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server = ThreadingHTTPServer((host, PORT), Jobs)
print(f"jobs listening on http://{host}:{PORT}", flush=True)
server.serve_forever()
