"""The shop's web server: GET / lists orders, POST /orders queues one, GET /health."""
import json
import os
import sqlite3
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

DB = os.environ["SHOP_DB"]
PORT = int(os.environ.get("PORT", "8000"))


class Shop(BaseHTTPRequestHandler):
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
            rows = db.execute("SELECT id, item, status, worker FROM orders ORDER BY id").fetchall()
        self.reply(200, [dict(zip(("id", "item", "status", "worker"), row)) for row in rows])

    def do_POST(self):
        if self.path != "/orders":
            return self.reply(404, {"error": "not found"})
        length = int(self.headers.get("Content-Length", "0"))
        item = parse_qs(self.rfile.read(length).decode()).get("item", ["something"])[0]
        with sqlite3.connect(DB) as db:
            order = db.execute("INSERT INTO orders (item) VALUES (?)", (item,)).lastrowid
        print(f"order {order} queued: {item}", flush=True)
        self.reply(201, {"id": order, "item": item})

    def log_message(self, format, *args):
        print(f"{self.address_string()} {format % args}", flush=True)


server = ThreadingHTTPServer(("127.0.0.1", PORT), Shop)
print(f"listening on http://127.0.0.1:{PORT}", flush=True)
server.serve_forever()
