-- 保険医療機関番号確認 and the NDB preprint (DOMAIN §4.3). Keep in step with ../postgres/.

-- The insurance-code master: the 厚生局 lists as of a day, one snapshot per prefecture and day.
-- A 定期報告 of 年度 N matches against the newest snapshot of the code's prefecture on or before
-- 31 March N (the end of the previous 年度). Importing a file replaces the snapshots of its day
-- for the prefectures it covers.
CREATE TABLE insurance_master (
    code            TEXT NOT NULL,
    as_of           DATE NOT NULL,
    prefecture_code TEXT NOT NULL,
    -- 点数区分 (1 医科, 3 歯科, 4 薬局): the code's third digit, kept for lists by kind
    fee_schedule    SMALLINT NOT NULL,
    -- 機関区分 1–5 where the file gives it
    facility_kind   SMALLINT CHECK (facility_kind BETWEEN 1 AND 5),
    name            TEXT NOT NULL,
    address         TEXT,
    check_rule      TEXT NOT NULL,
    imported_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (code, as_of)
);
CREATE INDEX insurance_master_snapshot ON insurance_master (prefecture_code, as_of);

-- NDB counts (前年度実施件数) per insurance code and 疾患・治療 item for the 年度 they cover; the
-- 定期報告 of 年度 N preprints those of N−1. Importing a file replaces its 年度.
CREATE TABLE ndb_preprint (
    fiscal_year     INTEGER NOT NULL,
    code            TEXT NOT NULL,
    item_code       TEXT NOT NULL,
    count           INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (fiscal_year, code, item_code)
);
