-- 004 indexes: what activating a card, starting the treasury and recovering
-- open sagas read, so that each read costs in proportion to the rows it
-- returns, not to the size of the table. Each was found with EXPLAIN
-- ANALYZE on a database of 100k-210k rows per table: the figures below are
-- the plans without the index.

-- A card's payments (LoadCard: pending ones and those of its open fundings
-- and withdrawals) and the pending-payment subquery of its fundings. Without
-- it the first is a (parallel) seq scan of payments (0.1 s at 210k payments
-- on an idle server, far more under load) and the second scans the pending
-- payments of every card. Sweep payments carry no card: left out.
CREATE INDEX payments_card_idx ON payments (card_id) WHERE card_id IS NOT NULL;

-- Crash recovery (CardsWithOpenSagas) looks for cards being created or
-- terminated: a seq scan of cards without it (0.17 s at 100k cards). Few
-- cards are ever in these states, so the index stays small, and a balance
-- update (status unchanged) can still be a HOT update.
CREATE INDEX cards_open_idx ON cards (id) WHERE status IN ('pending', 'terminating');

-- The treasury loads its sweeps in flight, oldest first: a seq scan and a
-- sort of every sweep ever made without it (30 ms at 100k sweeps).
CREATE INDEX sweeps_open_idx ON sweeps (created_at) WHERE status NOT IN ('completed', 'failed');

---- create above / drop below ----

DROP INDEX sweeps_open_idx;
DROP INDEX cards_open_idx;
DROP INDEX payments_card_idx;
