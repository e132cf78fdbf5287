-- 臨時休診一括処理 (issue 7 §4). Keep in step with ../postgres/.

-- One bulk 臨時休診: prefecture staff or the operator close many facilities at once (a disaster,
-- a power cut). What was chosen (target: teikyo_domain::closure::ClosureTarget as JSON) and the
-- closure itself; its facilities are its temporary_closure rows (batch_id). job_id is the newest
-- publication job it caused (declared, then withdrawn): its progress is the batch's progress.
CREATE TABLE closure_batch (
    id              INTEGER PRIMARY KEY NOT NULL,
    prefecture_code TEXT NOT NULL,
    from_date       DATE NOT NULL,
    to_date         DATE NOT NULL,
    reason          TEXT NOT NULL,
    target          TEXT NOT NULL,
    facilities      INTEGER NOT NULL,
    job_id          BIGINT,
    created_by      BIGINT REFERENCES app_user (id),
    created_at      TIMESTAMP NOT NULL,
    withdrawn_by    BIGINT REFERENCES app_user (id),
    withdrawn_at    TIMESTAMP,
    CHECK (from_date <= to_date)
);
CREATE INDEX closure_batch_prefecture ON closure_batch (prefecture_code, id);
