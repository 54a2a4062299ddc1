"""A queue worker: claims queued orders from the database and 'ships' them."""
import os
import sqlite3
import time

DB = os.environ["SHOP_DB"]
NAME = f"worker.{os.environ.get('PROJ_INSTANCE', '1')}"
POLL = float(os.environ.get("WORKER_POLL", "1"))

print(f"{NAME} waiting for orders", flush=True)
while True:
    with sqlite3.connect(DB, isolation_level="IMMEDIATE") as db:
        row = db.execute("SELECT id, item FROM orders WHERE status = 'queued' ORDER BY id LIMIT 1").fetchone()
        if row:
            db.execute("UPDATE orders SET status = 'shipped', worker = ? WHERE id = ?", (NAME, row[0]))
    if row:
        print(f"shipped order {row[0]} ({row[1]})", flush=True)
    else:
        time.sleep(POLL)
