-- 「情報の誤りを報告」 (issue 7 §5). Keep in step with ../postgres/.

-- A resident's report that the public side shows something wrong about a facility: which part
-- (a published section's id, NULL for その他), what is wrong, an optional address for a reply,
-- the page's language. The facility and its prefecture see it until someone marks it 対応済.
CREATE TABLE error_report (
    id          INTEGER PRIMARY KEY NOT NULL,
    facility_id BIGINT NOT NULL REFERENCES facility (id),
    section     TEXT,
    body        TEXT NOT NULL,
    contact     TEXT,
    lang        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    handled_by  BIGINT REFERENCES app_user (id),
    handled_at  TIMESTAMP
);
CREATE INDEX error_report_facility ON error_report (facility_id, id);
