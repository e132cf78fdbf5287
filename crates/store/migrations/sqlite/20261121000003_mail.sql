-- Every outgoing mail is a row (issue: mail). Rendered when it is enqueued, so the row shows
-- exactly what was sent; delivery is a 'mail.send' job. Keep in step with the other backend.
CREATE TABLE mail (
    id            INTEGER PRIMARY KEY NOT NULL,
    template      TEXT NOT NULL,
    to_address    TEXT NOT NULL,
    subject       TEXT NOT NULL,
    body_text     TEXT NOT NULL,
    -- queued 送信待ち, sending 送信中, delivered 送信完了, retrying 再試行中, bounced 不達
    status        TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'delivered', 'retrying', 'bounced')),
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
CREATE UNIQUE INDEX mail_message_id ON mail (message_id);
CREATE INDEX mail_to ON mail (to_address, created_at);
CREATE INDEX mail_facility ON mail (facility_id, created_at);
