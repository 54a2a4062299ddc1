"""Create the jobs database and its results table (idempotent: a oneshot before the app)."""
import os

import psycopg
from psycopg import sql

url = psycopg.conninfo.conninfo_to_dict(os.environ["DATABASE_URL"])
name = url["dbname"]

# CREATE DATABASE cannot run in a transaction; connect to the maintenance database.
with psycopg.connect(**{**url, "dbname": "postgres"}, autocommit=True) as admin:
    if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"created database {name}", flush=True)

with psycopg.connect(**url) as db:
    db.execute(
        """CREATE TABLE IF NOT EXISTS results (
               job_id text PRIMARY KEY,
               n bigint NOT NULL,
               result bigint NOT NULL,
               worker text NOT NULL,
               finished_at timestamptz NOT NULL DEFAULT now()
           )"""
    )
    count = db.execute("SELECT count(*) FROM results").fetchone()[0]
print(f"database {name} ready ({count} results)", flush=True)
