-- 005 credit-back attempts: when a withdrawal's payout finally fails, the
-- card is credited back at the issuer. The issuer records a refusal under
-- its reference, so each new attempt needs a reference of its own
-- (<withdrawal>.creditback, then .creditback.2, ...), and the attempt in
-- flight is written before the call, as every provider reference is.
ALTER TABLE withdrawals ADD COLUMN creditback_attempt int NOT NULL DEFAULT 0
    CHECK (creditback_attempt >= 0);

---- create above / drop below ----

ALTER TABLE withdrawals DROP COLUMN creditback_attempt;
