"""Create the database and apply the migrations it has not seen (PRAGMA user_version)."""
import glob
import os
import sqlite3

path = os.environ["GUESTBOOK_DB"]
os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
with sqlite3.connect(path) as db:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    applied = 0
    for migration in sorted(glob.glob("migrations/*.sql")):
        number = int(os.path.basename(migration).split("_", 1)[0])
        if number <= version:
            continue
        with open(migration) as f:
            db.executescript(f.read())
        db.execute(f"PRAGMA user_version = {number}")
        version = number
        applied += 1
    entries = db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
print(f"database {path} at version {version} ({applied} applied, {entries} entries)", flush=True)
