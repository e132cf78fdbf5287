-- Facility master (DESIGN §5). Dates are ISO-8601 text, timestamps RFC 3339 text (what sea-orm
-- writes for chrono types on SQLite). Keep in step with ../postgres/ (test: migrations_in_step).
CREATE TABLE facility (
    id                  INTEGER PRIMARY KEY NOT NULL,
    kind                SMALLINT NOT NULL CHECK (kind BETWEEN 1 AND 5),
    prefecture_code     TEXT NOT NULL,
    municipality_code   TEXT NOT NULL,
    facility_code       TEXT,
    name_official       TEXT NOT NULL,
    name_official_kana  TEXT NOT NULL,
    name_short          TEXT,
    name_short_kana     TEXT,
    name_english        TEXT,
    postal_code         TEXT,
    address             TEXT NOT NULL,
    lat                 DOUBLE PRECISION,
    lon                 DOUBLE PRECISION,
    coordinate_source   TEXT,
    homepage            TEXT,
    opened_on           DATE,
    suspended_on        DATE,
    abolished_on        DATE,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
-- The open data's 13-digit ID is prefecture + kind + 機関コード; it identifies a facility across
-- imports. Facilities without a 機関コード (opened after the move to G-MIS) may repeat NULL.
CREATE UNIQUE INDEX facility_public_id ON facility (prefecture_code, kind, facility_code);
CREATE INDEX facility_municipality ON facility (municipality_code, kind);

CREATE TABLE facility_insurance_code (
    facility_id  BIGINT NOT NULL REFERENCES facility (id) ON DELETE CASCADE,
    code         TEXT NOT NULL,
    check_rule   TEXT NOT NULL,
    PRIMARY KEY (facility_id, code)
);
CREATE INDEX facility_insurance_code_code ON facility_insurance_code (code);
