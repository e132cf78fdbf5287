-- Accounts (issue: accounts). Keep in step with ../postgres/.
-- login_id is stored normalised (NFKC, ASCII lower case: teikyo_domain::LoginId), so lookups of
-- what people type (全角, upper case) are exact matches.
CREATE TABLE app_user (
    id             INTEGER PRIMARY KEY NOT NULL,
    login_id       TEXT NOT NULL,
    email          TEXT NOT NULL,
    family_name    TEXT NOT NULL,
    given_name     TEXT NOT NULL,
    phone          TEXT,
    extension      TEXT,
    fax            TEXT,
    department     TEXT,
    -- argon2id PHC string; NULL until the user sets a password from the setup link
    password_hash  TEXT,
    status         TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   TIMESTAMP,
    last_login_at  TIMESTAMP,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX app_user_login_id ON app_user (login_id);
CREATE INDEX app_user_email ON app_user (lower(email));

-- What a user may act for: one row per facility, prefecture, delegate facility, or operator.
CREATE TABLE membership (
    id              INTEGER PRIMARY KEY NOT NULL,
    user_id         BIGINT NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('facility', 'prefecture', 'delegate', 'operator')),
    facility_id     BIGINT REFERENCES facility (id),
    prefecture_code TEXT,
    -- facility: admin | member; prefecture: admin | reviewer | read_only
    level           TEXT,
    -- prefecture staff limited to some municipalities (a 保健所 area): JSON array of codes
    municipalities  TEXT,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX membership_user ON membership (user_id);
CREATE INDEX membership_facility ON membership (facility_id);

-- Single-use tokens (password setup and reset, mail address confirmation): only a hash is kept.
CREATE TABLE auth_token (
    hash        TEXT PRIMARY KEY NOT NULL,
    purpose     TEXT NOT NULL,
    user_id     BIGINT REFERENCES app_user (id) ON DELETE CASCADE,
    subject     TEXT,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX auth_token_user ON auth_token (user_id, purpose);

-- Server-side sessions: the cookie carries a random id, the table its hash.
CREATE TABLE session (
    id_hash       TEXT PRIMARY KEY NOT NULL,
    user_id       BIGINT NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    created_at    TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL
);
CREATE INDEX session_by_user ON session (user_id);

-- Every security-relevant action, readable in scope (prefecture, facility).
CREATE TABLE audit_event (
    id              INTEGER PRIMARY KEY NOT NULL,
    at              TIMESTAMP NOT NULL,
    actor_user_id   BIGINT,
    action          TEXT NOT NULL,
    target_kind     TEXT,
    target_id       TEXT,
    prefecture_code TEXT,
    facility_id     BIGINT,
    detail          TEXT
);
CREATE INDEX audit_event_prefecture ON audit_event (prefecture_code, at);
CREATE INDEX audit_event_facility ON audit_event (facility_id, at);
