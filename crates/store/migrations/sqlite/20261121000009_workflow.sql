-- The reporting workflow (issue: reporting workflow). Keep in step with ../postgres/.

-- A prefecture's 定期報告 window for one 年度 (DOMAIN §4.1): 報告基準日, the window, the facility
-- kinds it is for (comma-separated 機関区分 digits, e.g. '1,2,3,4'), an extension and a close.
CREATE TABLE reporting_period (
    id              INTEGER PRIMARY KEY NOT NULL,
    prefecture_code TEXT NOT NULL,
    fiscal_year     INTEGER NOT NULL,
    facility_kinds  TEXT NOT NULL,
    reference_date  DATE NOT NULL,
    opens_on        DATE NOT NULL,
    -- the deadline as first announced, and as extended (equal until extended)
    closes_on       DATE NOT NULL,
    extended_to     DATE,
    -- closed early by the prefecture (no more 定期報告 starts or submissions)
    closed_at       TIMESTAMP,
    -- the 督促 schedule in days relative to the deadline, e.g. '-14,-3,1'
    reminder_days   TEXT NOT NULL,
    created_by      BIGINT REFERENCES app_user (id),
    created_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX reporting_period_year ON reporting_period (prefecture_code, fiscal_year);

-- Each mail step of a period (定期報告案内 'opened', 督促 'd-14', …) is sent once: the row is
-- inserted in the transaction that queues the mails, so a second worker's insert fails.
CREATE TABLE period_mail (
    period_id       BIGINT NOT NULL REFERENCES reporting_period (id),
    step            TEXT NOT NULL,
    mails           INTEGER NOT NULL,
    sent_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (period_id, step)
);

-- What the workflow records on a report.
ALTER TABLE report ADD COLUMN period_id BIGINT REFERENCES reporting_period (id);
ALTER TABLE report ADD COLUMN submitted_at TIMESTAMP;
ALTER TABLE report ADD COLUMN submitted_by BIGINT REFERENCES app_user (id);
-- pressed by prefecture staff for the facility (代理入力)
ALTER TABLE report ADD COLUMN submitted_by_proxy BOOLEAN NOT NULL DEFAULT FALSE;
-- kept when a confirmed report is reopened: its next 報告 is a 再報告
ALTER TABLE report ADD COLUMN confirmed_at TIMESTAMP;
ALTER TABLE report ADD COLUMN confirmed_by BIGINT REFERENCES app_user (id);
-- the last 差戻し, shown on the report until its next 報告
ALTER TABLE report ADD COLUMN returned_at TIMESTAMP;
ALTER TABLE report ADD COLUMN returned_by BIGINT REFERENCES app_user (id);
ALTER TABLE report ADD COLUMN return_comment TEXT;
-- 保険医療機関番号確認 on start: NULL (not asked), 'skipped', or the matched code
ALTER TABLE report ADD COLUMN insurance_check TEXT;
CREATE INDEX report_period ON report (period_id, status);

-- Every 確認完了: the whole report's answers as confirmed. The newest row of a facility is what
-- is published and what 差異表示 and 一括入力完了 compare with and carry over.
CREATE TABLE report_confirmation (
    id              INTEGER PRIMARY KEY NOT NULL,
    report_id       BIGINT NOT NULL REFERENCES report (id),
    facility_id     BIGINT NOT NULL REFERENCES facility (id),
    item_set        TEXT NOT NULL,
    answers         TEXT NOT NULL,
    confirmed_by    BIGINT REFERENCES app_user (id),
    confirmed_at    TIMESTAMP NOT NULL
);
CREATE INDEX report_confirmation_facility ON report_confirmation (facility_id, id);

-- お知らせ on the home page: nationwide (operator, prefecture_code NULL) or a prefecture's.
CREATE TABLE notice (
    id              INTEGER PRIMARY KEY NOT NULL,
    prefecture_code TEXT,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    shown_from      DATE NOT NULL,
    shown_until     DATE,
    posted_by       BIGINT REFERENCES app_user (id),
    posted_at       TIMESTAMP NOT NULL
);
CREATE INDEX notice_shown ON notice (shown_from);
