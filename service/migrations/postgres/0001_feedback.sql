-- Caseworkers' judgments of passages: the same rows as SQLite's feedback table. Question and
-- passage ids sort byte by byte (COLLATE "C"), as in SQLite, so export pages come in the same order
-- and their cursors mean the same; the indexes serve the latest judgment per pair and per question.
CREATE TABLE feedback (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at    TIMESTAMPTZ NOT NULL,
    query_id      TEXT COLLATE "C" NOT NULL,  -- query_id(question)
    question      TEXT NOT NULL,
    passage_id    TEXT COLLATE "C" NOT NULL,
    helpful       BOOLEAN NOT NULL,
    index_version TEXT NOT NULL
);
CREATE INDEX feedback_pair ON feedback (query_id, passage_id, id DESC);
CREATE INDEX feedback_question ON feedback (query_id, id DESC);
