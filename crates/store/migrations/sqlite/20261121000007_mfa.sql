-- Second factor (issue: accounts): TOTP (RFC 6238) with single-use recovery codes.
-- Keep in step with ../postgres/.
-- The TOTP secret must be readable to check a code, so it cannot be hashed; recovery codes can.
ALTER TABLE app_user ADD COLUMN totp_secret TEXT;
-- NULL while an enrolment is started but not confirmed by a first code
ALTER TABLE app_user ADD COLUMN totp_enabled_at TIMESTAMP;
-- replay guard: the newest 30-second step a code was accepted for; a code works once
ALTER TABLE app_user ADD COLUMN totp_last_step BIGINT;

CREATE TABLE recovery_code (
    id          INTEGER PRIMARY KEY NOT NULL,
    user_id     BIGINT NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    -- SHA-256 of the code as shown (the codes are random, so no salt or argon2 is needed)
    hash        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX recovery_code_user ON recovery_code (user_id);
