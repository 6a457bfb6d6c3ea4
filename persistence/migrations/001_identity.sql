-- 001 identity: users and their login (OTP codes, refresh tokens, push
-- devices), KYC, rates with history, idempotency keys, received webhook
-- events and the ops audit log. Money tables come in 002.
--
-- Conventions for every migration: ids are text made by the application
-- (opaque to clients) unless the row is an append-only log; times are
-- timestamptz; every status column has a CHECK listing the API's statuses;
-- secrets (OTP codes, tokens) are stored only as hashes.

-- touch_updated_at keeps updated_at honest without every UPDATE having to
-- remember it. Later migrations reuse it.
CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE users (
    id          text        PRIMARY KEY,
    phone       text        NOT NULL UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    name        text        NOT NULL DEFAULT '' CHECK (char_length(name) <= 200),
    -- Written only by ops (KYC review), never by the user (defect 11).
    kyc_status  text        NOT NULL DEFAULT 'none'
                            CHECK (kyc_status IN ('none', 'pending', 'approved', 'rejected')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- One row per code sent. The rate limits (5 per phone, 100 per client
-- address per hour) count rows by created_at, hence the two indexes.
CREATE TABLE otp_codes (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone        text        NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    code_hash    bytea       NOT NULL,
    client_addr  inet        NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    expires_at   timestamptz NOT NULL,
    consumed_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_at > created_at)
);

CREATE INDEX otp_codes_phone_created ON otp_codes (phone, created_at DESC);
CREATE INDEX otp_codes_client_created ON otp_codes (client_addr, created_at DESC);

-- Refresh tokens rotate: each use revokes the token and links its
-- successor. A family is one login's chain; presenting a revoked token
-- revokes the whole family (reuse detection).
CREATE TABLE refresh_tokens (
    token_hash   bytea       PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id    text        NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    replaced_by  bytea       REFERENCES refresh_tokens (token_hash),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_at > created_at),
    CHECK (replaced_by IS NULL OR revoked_at IS NOT NULL)
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Push targets. A device belongs to one user at a time: when another user
-- logs in on it, the row moves, so the previous user's pushes stop reaching it.
CREATE TABLE devices (
    device_id   text        PRIMARY KEY CHECK (char_length(device_id) BETWEEN 1 AND 4096),
    user_id     text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX devices_user ON devices (user_id);

CREATE TRIGGER devices_touch_updated_at BEFORE UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

-- KYC submissions. The files live in blob storage under the given keys;
-- content types are the sniffed ones.
CREATE TABLE kyc_documents (
    id                     text        PRIMARY KEY,
    user_id                text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status                 text        NOT NULL DEFAULT 'pending'
                                       CHECK (status IN ('pending', 'approved', 'rejected')),
    document_type          text        NOT NULL
                                       CHECK (document_type IN ('id_card', 'passport', 'driver_license')),
    document_key           text        NOT NULL,
    document_content_type  text        NOT NULL
                                       CHECK (document_content_type IN ('image/jpeg', 'image/png', 'application/pdf')),
    selfie_key             text        NOT NULL,
    selfie_content_type    text        NOT NULL
                                       CHECK (selfie_content_type IN ('image/jpeg', 'image/png')),
    rejection_reason       text,
    reviewed_at            timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'pending') = (reviewed_at IS NULL)),
    CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL))
);

-- At most one live (pending or approved) submission per user: the
-- database, not a check-then-insert, enforces 409 kyc_exists.
CREATE UNIQUE INDEX kyc_documents_one_live_per_user
    ON kyc_documents (user_id) WHERE status IN ('pending', 'approved');
CREATE INDEX kyc_documents_user_created ON kyc_documents (user_id, created_at DESC);
CREATE INDEX kyc_documents_status_created ON kyc_documents (status, created_at DESC);

-- Rate sets, append-only: the current one is the newest (highest id), the
-- others are the history ops can read.
CREATE TABLE rates (
    id                     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cost_rate              numeric     NOT NULL CHECK (cost_rate > 0),
    funding_margin         numeric     NOT NULL CHECK (funding_margin >= 0 AND funding_margin < 1),
    withdrawal_spread      numeric     NOT NULL CHECK (withdrawal_spread >= 0 AND withdrawal_spread < 1),
    issuance_fee_minor     bigint      NOT NULL CHECK (issuance_fee_minor >= 0),
    issuance_fee_currency  text        NOT NULL DEFAULT 'XOF' CHECK (issuance_fee_currency IN ('XOF', 'USD')),
    created_at             timestamptz NOT NULL DEFAULT now(),
    created_by             text        NOT NULL
);

-- Idempotency keys, scoped by caller. A request first inserts
-- in_progress (the primary key makes that the single winner), then
-- records its response as done; a replay returns the stored response.
CREATE TABLE idempotency_keys (
    scope            text        NOT NULL,
    key              text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    request_hash     bytea       NOT NULL,
    status           text        NOT NULL DEFAULT 'in_progress' CHECK (status IN ('in_progress', 'done')),
    response_status  integer     CHECK (response_status BETWEEN 100 AND 599),
    response_body    bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (scope, key),
    CHECK ((status = 'done') = (response_status IS NOT NULL)),
    CHECK (status = 'done' OR response_body IS NULL),
    -- The API promises keys are kept at least 24 hours.
    CHECK (expires_at >= created_at + interval '24 hours')
);

CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

-- Provider callbacks already received: the primary key makes a duplicate
-- event a no-op.
CREATE TABLE webhook_events (
    provider     text        NOT NULL,
    event_id     text        NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    payload      jsonb       NOT NULL,
    PRIMARY KEY (provider, event_id)
);

CREATE INDEX webhook_events_received ON webhook_events (received_at);

-- What ops did, append-only.
CREATE TABLE admin_audit_log (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor   text        NOT NULL,
    action  text        NOT NULL,
    target  text        NOT NULL DEFAULT '',
    detail  jsonb       NOT NULL DEFAULT '{}'::jsonb,
    at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX admin_audit_log_at ON admin_audit_log (at DESC);
CREATE INDEX admin_audit_log_target ON admin_audit_log (target, at DESC);

---- create above / drop below ----

DROP TABLE admin_audit_log;
DROP TABLE webhook_events;
DROP TABLE idempotency_keys;
DROP TABLE rates;
DROP TABLE kyc_documents;
DROP TABLE devices;
DROP TABLE refresh_tokens;
DROP TABLE otp_codes;
DROP TABLE users;
DROP FUNCTION touch_updated_at();
