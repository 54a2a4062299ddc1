ALTER TABLE entries ADD COLUMN signed_at TEXT NOT NULL DEFAULT (datetime('now'));
