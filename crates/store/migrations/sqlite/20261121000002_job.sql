-- Durable job queue (DESIGN §4): enqueued in the transaction of the change that causes the job,
-- claimed by workers, retried with backoff. Keep in step with ../postgres/.
CREATE TABLE job (
    id              INTEGER PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    run_at          TIMESTAMP NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    last_error      TEXT,
    locked_by       TEXT,
    locked_at       TIMESTAMP,
    progress_done   BIGINT,
    progress_total  BIGINT,
    result          TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP
);
CREATE INDEX job_ready ON job (status, run_at, id);
