"""Create (or upgrade) the shop's database. Safe to run any number of times."""
import os
import sqlite3

path = os.environ["SHOP_DB"]
os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
with sqlite3.connect(path) as db:
    db.execute(
        """CREATE TABLE IF NOT EXISTS orders (
               id INTEGER PRIMARY KEY,
               item TEXT NOT NULL,
               status TEXT NOT NULL DEFAULT 'queued',
               worker TEXT
           )"""
    )
    count = db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
print(f"database {path} ready ({count} orders)", flush=True)
