-- Publication (issue: publication and public search; DESIGN principle 4). Keep in step with
-- ../postgres/.

-- The publication sequence: append-only. A row is a facility's published document
-- (teikyo_domain::publication::PublishedDocument as JSON) or, with document NULL, a tombstone
-- (withdrawn from the residents' side; reason holds the HiddenReason codes). Search indexes, open
-- data, FHIR and the change feed catch up from it by seq. AUTOINCREMENT: a seq is never reused.
CREATE TABLE publication (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    facility_id  BIGINT NOT NULL REFERENCES facility (id),
    document     TEXT,
    reason       TEXT,
    published_at TIMESTAMP NOT NULL
);
CREATE INDEX publication_facility ON publication (facility_id, seq);

-- Per facility: whether the public side shows it now and why not (HiddenReason list as JSON),
-- its newest publication row, the newest document built from its last 確認完了 while that is
-- not shown (NULL while shown: it is then the row last_seq, stored once), and the next day a
-- date rule (開設日・休止日・廃止日) or a 臨時休診 can change that, for the daily re-evaluation.
CREATE TABLE facility_publication (
    facility_id    BIGINT PRIMARY KEY NOT NULL REFERENCES facility (id),
    document       TEXT,
    visible        BOOLEAN NOT NULL,
    hidden_reasons TEXT NOT NULL,
    last_seq       BIGINT,
    evaluated_on   DATE NOT NULL,
    next_change    DATE
);
CREATE INDEX facility_publication_next ON facility_publication (next_change);

-- 臨時休診: declared by the facility or, for many at once (batch_id), by prefecture staff or
-- the operator. Withdrawn ones are kept with who withdrew them.
CREATE TABLE temporary_closure (
    id           INTEGER PRIMARY KEY NOT NULL,
    facility_id  BIGINT NOT NULL REFERENCES facility (id),
    from_date    DATE NOT NULL,
    to_date      DATE NOT NULL,
    reason       TEXT NOT NULL,
    batch_id     BIGINT,
    declared_by  BIGINT REFERENCES app_user (id),
    declared_at  TIMESTAMP NOT NULL,
    withdrawn_by BIGINT REFERENCES app_user (id),
    withdrawn_at TIMESTAMP,
    CHECK (from_date <= to_date)
);
CREATE INDEX temporary_closure_facility ON temporary_closure (facility_id, to_date);
CREATE INDEX temporary_closure_batch ON temporary_closure (batch_id);
