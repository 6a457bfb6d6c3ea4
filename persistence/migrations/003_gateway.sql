-- 003 gateway: what the REST API needs beyond 001 and 002 — stored quotes,
-- the lease of an idempotency key being worked on, and the indexes of the
-- API's per-user reads.

-- A quote returned by POST /v1/quotes, so that a later money POST can pass
-- its id and hold its rate until expires_at. Only its owner may use it.
CREATE TABLE quotes (
    id                 text        PRIMARY KEY,
    user_id            text        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    operation          text        NOT NULL CHECK (operation IN ('issuance', 'funding', 'withdrawal')),
    -- The currency the user priced in: its side of the quote is the exact one.
    input_currency     text        NOT NULL CHECK (input_currency IN ('USD', 'XOF')),
    card_amount_minor  bigint      NOT NULL CHECK (card_amount_minor > 0),
    momo_amount_minor  bigint      NOT NULL CHECK (momo_amount_minor > 0),
    fees_minor         bigint      NOT NULL CHECK (fees_minor >= 0),
    earnings_minor     bigint      NOT NULL CHECK (earnings_minor >= 0),
    rate               numeric     NOT NULL CHECK (rate > 0),
    cost_rate          numeric     NOT NULL CHECK (cost_rate > 0),
    expires_at         timestamptz NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (expires_at > created_at)
);

CREATE INDEX quotes_expires ON quotes (expires_at);

-- While a request holds an idempotency key it is leased until
-- locked_until. A request that gave up (its command outlived its deadline)
-- ends the lease at once, and a crashed process's lease runs out, so that
-- the client's retry with the same key takes the work over instead of
-- meeting 409 idempotency_in_progress for ever.
ALTER TABLE idempotency_keys ADD COLUMN locked_until timestamptz;

-- Per-user usage limits sum a user's fundings and withdrawals of the day
-- and the month.
CREATE INDEX fundings_user_created ON fundings (user_id, created_at DESC);
CREATE INDEX withdrawals_user_created ON withdrawals (user_id, created_at DESC);

-- Admin lists filter by status and page newest first.
CREATE INDEX payments_status_created ON payments (status, created_at DESC, ref DESC);
CREATE INDEX sweeps_created ON sweeps (created_at DESC, id DESC);

---- create above / drop below ----

DROP INDEX sweeps_created;
DROP INDEX payments_status_created;
DROP INDEX withdrawals_user_created;
DROP INDEX fundings_user_created;
ALTER TABLE idempotency_keys DROP COLUMN locked_until;
DROP TABLE quotes;
