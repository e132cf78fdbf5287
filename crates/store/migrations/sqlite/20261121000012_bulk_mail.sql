-- 一括メール配信 (issue: reporting workflow & prefecture review, mail for reporting). Keep in
-- step with ../postgres/.

-- A mail can now be stopped before it reaches the mail server: 中止 ('cancelled'), set when
-- prefecture staff stop a bulk send. SQLite cannot change a CHECK constraint, so the table is
-- rebuilt with the same columns, ids and indexes (nothing references mail).
CREATE TABLE mail_new (
    id            INTEGER PRIMARY KEY NOT NULL,
    template      TEXT NOT NULL,
    to_address    TEXT NOT NULL,
    subject       TEXT NOT NULL,
    body_text     TEXT NOT NULL,
    -- queued 送信待ち, sending 送信中, delivered 送信完了, retrying 再試行中, bounced 不達,
    -- cancelled 中止
    status        TEXT NOT NULL
        CHECK (status IN ('queued', 'sending', 'delivered', 'retrying', 'bounced', 'cancelled')),
    message_id    TEXT NOT NULL,
    related_kind  TEXT,
    related_id    TEXT,
    facility_id   BIGINT,
    smtp_reply    TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    sent_at       TIMESTAMP,
    bounced_at    TIMESTAMP
);
INSERT INTO mail_new (id, template, to_address, subject, body_text, status, message_id,
                      related_kind, related_id, facility_id, smtp_reply, attempts, created_at,
                      updated_at, sent_at, bounced_at)
SELECT id, template, to_address, subject, body_text, status, message_id, related_kind,
       related_id, facility_id, smtp_reply, attempts, created_at, updated_at, sent_at, bounced_at
FROM mail;
DROP TABLE mail;
ALTER TABLE mail_new RENAME TO mail;
CREATE UNIQUE INDEX mail_message_id ON mail (message_id);
CREATE INDEX mail_facility ON mail (facility_id, created_at);
CREATE INDEX mail_bounced ON mail (id) WHERE status = 'bounced';

-- One bulk send: what was written (件名 and 本文 with their placeholders), to whom (the filter
-- as JSON, teikyo_domain::bulk_mail::RecipientFilter) and how far it got.
CREATE TABLE bulk_mail (
    id              INTEGER PRIMARY KEY NOT NULL,
    prefecture_code TEXT NOT NULL,
    -- draft 作成中, sending 送信中, done 完了, cancelled 中止
    status          TEXT NOT NULL CHECK (status IN ('draft', 'sending', 'done', 'cancelled')),
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    filter          TEXT NOT NULL,
    -- fixed when the send starts: facilities, addresses, and facilities without an address
    facilities      INTEGER NOT NULL DEFAULT 0,
    addresses       INTEGER NOT NULL DEFAULT 0,
    unreachable     INTEGER NOT NULL DEFAULT 0,
    -- mails created so far, and the last recipient (id) whose mail exists: the worker goes on
    -- from there, so a retried or doubled job creates no mail twice
    created_mails   INTEGER NOT NULL DEFAULT 0,
    done_through    BIGINT NOT NULL DEFAULT 0,
    created_by      BIGINT REFERENCES app_user (id),
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    started_by      BIGINT REFERENCES app_user (id),
    started_at      TIMESTAMP,
    finished_at     TIMESTAMP,
    cancelled_by    BIGINT REFERENCES app_user (id),
    cancelled_at    TIMESTAMP
);
CREATE INDEX bulk_mail_prefecture ON bulk_mail (prefecture_code, id);

-- The recipients as fixed when the send started: one row per facility and address, and one
-- without an address for a facility nobody can be told about (送信先なし). Name, code and
-- report status are kept as they were, so the mail says what the preview said. mail_id is the
-- mail created for the row (no foreign key: the mail log is append-only and keeps its own ids).
CREATE TABLE bulk_mail_recipient (
    id              INTEGER PRIMARY KEY NOT NULL,
    bulk_mail_id    BIGINT NOT NULL REFERENCES bulk_mail (id),
    facility_id     BIGINT NOT NULL REFERENCES facility (id),
    facility_name   TEXT NOT NULL,
    facility_code   TEXT,
    -- teikyo_domain::bulk_mail::ReportProgress id; NULL when no period was chosen
    progress        TEXT,
    to_address      TEXT,
    mail_id         BIGINT
);
CREATE INDEX bulk_mail_recipient_send ON bulk_mail_recipient (bulk_mail_id, id);
CREATE UNIQUE INDEX bulk_mail_recipient_mail ON bulk_mail_recipient (mail_id);
