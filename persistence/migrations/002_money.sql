-- Money: cards, fundings, withdrawals, payments, float reservations, sweeps,
-- the double-entry ledger, earnings, suspense, manual review and the outbox.
--
-- Ownership (DESIGN.md, actors): a card actor owns its card row and that
-- card's fundings, withdrawals and payments; the treasury actor owns float
-- reservations and sweeps. Every actor-owned row carries a version and every
-- update is conditional on it (fencing): a stale activation's write matches
-- no row, and the journal fails that write. Amounts are integers in minor
-- units (USD cents, XOF francs).

CREATE TABLE actor_epochs (
    actor_id   text PRIMARY KEY,
    epoch      bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cards (
    id             text PRIMARY KEY,
    user_id        text NOT NULL,
    nickname       text NOT NULL DEFAULT '',
    status         text NOT NULL CHECK (status IN ('pending','active','frozen','terminating','terminated','failed')),
    issuer_card_id text UNIQUE,
    last4          text,
    expiry_month   int,
    expiry_year    int,
    balance_minor  bigint NOT NULL DEFAULT 0 CHECK (balance_minor >= 0),
    held_minor     bigint NOT NULL DEFAULT 0 CHECK (held_minor >= 0 AND held_minor <= balance_minor),
    version        bigint NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX cards_user_idx ON cards (user_id, created_at DESC, id DESC);

CREATE TABLE fundings (
    id                text PRIMARY KEY,
    card_id           text NOT NULL REFERENCES cards (id),
    user_id           text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('issuance','funding')),
    status            text NOT NULL CHECK (status IN ('awaiting_payment','paid','queued_for_float','funding_card','succeeded','failed','refunding','refunded')),
    card_amount_minor bigint NOT NULL CHECK (card_amount_minor > 0),
    momo_amount_minor bigint NOT NULL CHECK (momo_amount_minor > 0),
    fees_minor        bigint NOT NULL CHECK (fees_minor >= 0),
    earnings_minor    bigint NOT NULL,
    rate              numeric NOT NULL,
    cost_rate         numeric NOT NULL,
    phone             text NOT NULL,
    operator          text NOT NULL,
    provider          text NOT NULL,
    quote_id          text,
    failure_reason    text,
    manual_review     boolean NOT NULL DEFAULT false,
    payment_deadline  timestamptz NOT NULL,
    version           bigint NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX fundings_card_idx ON fundings (card_id, created_at DESC, id DESC);
CREATE INDEX fundings_status_idx ON fundings (status, created_at DESC) WHERE status NOT IN ('succeeded','failed','refunded');
CREATE INDEX fundings_admin_idx ON fundings (created_at DESC, id DESC);

CREATE TABLE withdrawals (
    id                text PRIMARY KEY,
    card_id           text NOT NULL REFERENCES cards (id),
    user_id           text NOT NULL,
    status            text NOT NULL CHECK (status IN ('pending','card_debited','succeeded','failed')),
    card_amount_minor bigint NOT NULL CHECK (card_amount_minor > 0),
    momo_amount_minor bigint NOT NULL CHECK (momo_amount_minor >= 0),
    fees_minor        bigint NOT NULL CHECK (fees_minor >= 0),
    earnings_minor    bigint NOT NULL,
    rate              numeric NOT NULL,
    cost_rate         numeric NOT NULL,
    phone             text NOT NULL,
    operator          text NOT NULL,
    provider          text NOT NULL,
    purpose           text NOT NULL DEFAULT 'withdrawal' CHECK (purpose IN ('withdrawal','termination')),
    failure_reason    text,
    manual_review     boolean NOT NULL DEFAULT false,
    version           bigint NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);
CREATE INDEX withdrawals_card_idx ON withdrawals (card_id, created_at DESC, id DESC);
CREATE INDEX withdrawals_status_idx ON withdrawals (status, created_at DESC) WHERE status NOT IN ('succeeded','failed');
CREATE INDEX withdrawals_admin_idx ON withdrawals (created_at DESC, id DESC);

-- A payment is one call (and its retries, under the same ref) at a provider:
-- a collection, a payout or a refund, or an issuer operation on a card.
CREATE TABLE payments (
    ref            text PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('collection','payout','refund','card_create','card_fund','card_withdraw','sweep')),
    owner_kind     text NOT NULL CHECK (owner_kind IN ('funding','withdrawal','sweep','card')),
    owner_id       text NOT NULL,
    card_id        text,
    provider       text NOT NULL,
    operator       text NOT NULL DEFAULT '',
    phone          text NOT NULL DEFAULT '',
    amount_minor   bigint NOT NULL CHECK (amount_minor >= 0),
    currency       text NOT NULL CHECK (currency IN ('USD','XOF')),
    status         text NOT NULL CHECK (status IN ('pending','succeeded','failed')),
    provider_ref   text,
    reason         text,
    attempts       int NOT NULL DEFAULT 0,
    next_check_at  timestamptz,
    version        bigint NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX payments_owner_idx ON payments (owner_kind, owner_id);
CREATE INDEX payments_pending_idx ON payments (next_check_at) WHERE status = 'pending';
CREATE INDEX payments_admin_idx ON payments (created_at DESC, ref DESC);

-- Each status a payment takes, once: a repeated status is not a change.
CREATE TABLE payment_status_history (
    ref        text NOT NULL REFERENCES payments (ref),
    status     text NOT NULL,
    reason     text,
    at         timestamptz NOT NULL,
    PRIMARY KEY (ref, status)
);

-- Float reservations, owned by the treasury. seq orders the FIFO queue.
CREATE TABLE float_reservations (
    funding_id   text PRIMARY KEY,
    card_id      text NOT NULL,
    seq          bigint NOT NULL UNIQUE,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    status       text NOT NULL CHECK (status IN ('queued','granted','committed','released','expired')),
    requested_at timestamptz NOT NULL,
    deadline     timestamptz NOT NULL,
    decided_at   timestamptz,
    version      bigint NOT NULL
);
CREATE INDEX float_reservations_open_idx ON float_reservations (seq) WHERE status IN ('queued','granted');

CREATE TABLE sweeps (
    id           text PRIMARY KEY,
    provider     text NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    usd_minor    bigint NOT NULL DEFAULT 0,
    status       text NOT NULL CHECK (status IN ('requested','payout_pending','deposit_pending','completed','failed')),
    reason       text NOT NULL DEFAULT 'manual',
    version      bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- The ledger: one immutable row per journal entry, its postings as parallel
-- arrays so that an entry is written (and checked) atomically in one row.
-- The view ledger_postings gives the conventional one-row-per-posting shape.
CREATE TABLE ledger_entries (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ref        text NOT NULL UNIQUE,
    kind       text NOT NULL,
    accounts   text[] NOT NULL,
    currencies text[] NOT NULL,
    amounts    bigint[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (cardinality(accounts) >= 2
       AND cardinality(accounts) = cardinality(currencies)
       AND cardinality(accounts) = cardinality(amounts))
);

CREATE VIEW ledger_postings AS
SELECT e.id AS entry_id, e.ref AS entry_ref, e.kind, p.account, p.currency, p.amount_minor, e.created_at
FROM ledger_entries e,
     unnest(e.accounts, e.currencies, e.amounts) AS p (account, currency, amount_minor);

-- Earnings in XOF per operation, written with the ledger entry that realises them.
CREATE TABLE earnings (
    entry_ref    text PRIMARY KEY REFERENCES ledger_entries (ref),
    operation    text NOT NULL CHECK (operation IN ('issuance','funding','withdrawal')),
    owner_id     text NOT NULL,
    amount_minor bigint NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX earnings_time_idx ON earnings (created_at);

-- Money that arrived for an operation that could no longer take it.
CREATE TABLE suspense_items (
    id            text PRIMARY KEY,
    payment_ref   text NOT NULL UNIQUE,
    owner_id      text NOT NULL,
    amount_minor  bigint NOT NULL,
    currency      text NOT NULL,
    status        text NOT NULL CHECK (status IN ('open','refunded','applied')),
    version       bigint NOT NULL,
    created_at    timestamptz NOT NULL,
    resolved_at   timestamptz
);

-- Card events mirrored from the issuer: spends and declines.
CREATE TABLE card_events (
    id           text PRIMARY KEY,
    card_id      text NOT NULL REFERENCES cards (id),
    kind         text NOT NULL CHECK (kind IN ('spend','decline')),
    amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
    currency     text NOT NULL,
    merchant     text NOT NULL DEFAULT '',
    reason       text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL
);
CREATE INDEX card_events_card_idx ON card_events (card_id, at DESC);

-- Notifications to send after commit (SMS, push, ops chat), at least once.
CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel         text NOT NULL CHECK (channel IN ('sms','push','ops')),
    dedupe_key      text NOT NULL UNIQUE,
    recipient       text NOT NULL,
    title           text NOT NULL DEFAULT '',
    body            text NOT NULL,
    attempts        int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL;
