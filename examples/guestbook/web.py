"""The guestbook: GET / lists the entries, POST / signs it (name=...), GET /health."""
import json
import os
import sqlite3
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from greeting import greet  # installed into .venv by the setup step

DB = os.environ["GUESTBOOK_DB"]
TITLE = os.environ.get("GUESTBOOK_TITLE", "Guestbook")
PORT = int(os.environ.get("PORT", "8100"))


class Guestbook(BaseHTTPRequestHandler):
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
        with sqlite3.connect(DB) as db:
            rows = db.execute("SELECT name, signed_at FROM entries ORDER BY id").fetchall()
        self.reply(200, {"title": TITLE, "entries": [greet(name) for name, _ in rows]})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        name = parse_qs(self.rfile.read(length).decode()).get("name", ["anonymous"])[0]
        with sqlite3.connect(DB) as db:
            db.execute("INSERT INTO entries (name) VALUES (?)", (name,))
        print(f"signed by {name}", flush=True)
        self.reply(201, {"message": greet(name)})

    def log_message(self, format, *args):
        print(f"{self.address_string()} {format % args}", flush=True)


server = ThreadingHTTPServer(("127.0.0.1", PORT), Guestbook)
print(f"{TITLE} listening on http://127.0.0.1:{PORT}", flush=True)
server.serve_forever()
