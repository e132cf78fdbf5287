-- Reports and their sections (issue: item sets; the workflow adds to them). Keep in step with
-- ../postgres/.
-- A report is a facility's answers to one item set; each section is saved on its own (一時保存 /
-- 入力完了) with a version, so a stale save is refused instead of overwriting (optimistic
-- locking). The answers are JSON (teikyo_domain::forms::Answers); the database never reads them.
CREATE TABLE report (
    id              INTEGER PRIMARY KEY NOT NULL,
    facility_id     BIGINT NOT NULL REFERENCES facility (id),
    -- initial | periodic | change (新規・定期・随時報告)
    kind            TEXT NOT NULL CHECK (kind IN ('initial', 'periodic', 'change')),
    fiscal_year     INTEGER NOT NULL,
    -- the item set the answers belong to, e.g. '2026-hospital'
    item_set        TEXT NOT NULL,
    status          TEXT NOT NULL
        CHECK (status IN ('in_progress', 'submitted', 'resubmitted', 'confirmed')),
    -- bumped by every status change (報告, 引き戻し, 確認完了), for compare-and-set
    version         BIGINT NOT NULL DEFAULT 1,
    created_by      BIGINT REFERENCES app_user (id),
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX report_facility ON report (facility_id, fiscal_year);
-- One 定期報告 per facility and 年度: two clerks pressing 開始 at once get the same report.
CREATE UNIQUE INDEX report_periodic ON report (facility_id, fiscal_year) WHERE kind = 'periodic';

-- A section without a row is 未入力.
CREATE TABLE report_section (
    report_id       BIGINT NOT NULL REFERENCES report (id) ON DELETE CASCADE,
    section         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'complete')),
    answers         TEXT NOT NULL,
    -- 1 on the first save, +1 on each save
    version         BIGINT NOT NULL,
    updated_by      BIGINT REFERENCES app_user (id),
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (report_id, section)
);
