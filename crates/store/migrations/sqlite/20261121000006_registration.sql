-- 新規ユーザ登録申請 (issue: accounts). Keep in step with ../postgres/.
-- One row per application, from the verified address (draft) to the prefecture's decision and
-- the issuance outcome. The form's fields are kept as JSON (teikyo_domain::registration::
-- ApplicationForm); the columns the review lists filter on are copied out.
CREATE TABLE registration (
    id                  INTEGER PRIMARY KEY NOT NULL,
    -- 申請番号, 'API-00001750'; set when submitted
    number              TEXT,
    status              TEXT NOT NULL
        CHECK (status IN ('verifying', 'draft', 'submitted', 'approved', 'rejected')),
    email               TEXT NOT NULL,
    email_verified_at   TIMESTAMP,
    -- the 6-digit 認証コード: salted SHA-256, expiry, wrong attempts, sends
    code_hash           TEXT,
    code_expires_at     TIMESTAMP,
    code_attempts       INTEGER NOT NULL DEFAULT 0,
    codes_sent          INTEGER NOT NULL DEFAULT 0,
    code_sent_at        TIMESTAMP,
    -- the applicant's browser: SHA-256 of the cookie that resumes the application
    applicant_hash      TEXT,
    form                TEXT,
    consented_at        TIMESTAMP,
    prefecture_code     TEXT,
    facility_name       TEXT,
    -- 代理申請: the prefecture staff member who filed it
    filed_by_user_id    BIGINT REFERENCES app_user (id),
    submitted_at        TIMESTAMP,
    reviewed_by_user_id BIGINT REFERENCES app_user (id),
    reviewed_at         TIMESTAMP,
    reject_reason       TEXT,
    facility_id         BIGINT REFERENCES facility (id),
    -- new_account | permission_added | already_permitted
    outcome             TEXT,
    issued_user_id      BIGINT REFERENCES app_user (id),
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX registration_number ON registration (number);
CREATE INDEX registration_email ON registration (lower(email), status);
CREATE INDEX registration_review ON registration (prefecture_code, status, submitted_at);
CREATE UNIQUE INDEX registration_applicant ON registration (applicant_hash);

-- Solved captchas (ALTCHA signatures) until they expire: each solution works once, on any node.
CREATE TABLE captcha_spent (
    signature   TEXT PRIMARY KEY NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX captcha_spent_expires ON captcha_spent (expires_at);

-- Rights per 制度 (DOMAIN §3.1): a facility user may report under the listed programmes
-- ('medical', 'pharmacy', comma-separated). Existing rows get their facility kind's programme.
ALTER TABLE membership ADD COLUMN programs TEXT;
UPDATE membership SET programs = (
    SELECT CASE WHEN facility.kind = 5 THEN 'pharmacy' ELSE 'medical' END
    FROM facility WHERE facility.id = membership.facility_id
) WHERE kind = 'facility';
