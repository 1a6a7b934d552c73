CREATE TABLE IF NOT EXISTS feedback (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    TEXT    NOT NULL,  -- UTC, ISO 8601
    query_id      TEXT    NOT NULL,  -- query_id(question)
    question      TEXT    NOT NULL,
    passage_id    TEXT    NOT NULL,
    helpful       INTEGER NOT NULL CHECK (helpful IN (0, 1)),
    index_version TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_pair ON feedback (query_id, passage_id);
