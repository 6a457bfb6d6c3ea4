// Package sim is the provider simulator: a sandbox of the outside world that
// Kash talks to. It speaks, over real HTTP, the wire protocols of the
// providers the production adapters (gateway/providers) are written for —
// Qosic mobile money, Flutterwave v3 virtual cards, MessageBird SMS, OneSignal
// push and a Slack incoming webhook — and keeps its own books: mobile-money
// wallets, each provider account's collection balance, the issuer float, and
// cards with their balances, status and transactions. It calls the engine
// back with signed webhooks, injects faults on demand, and exposes the
// control API of API.md (/sim/*) that tests and the bench use to look inside
// and to act as the outside world (card spends, float deposits).
//
// kashd embeds it by default (KASH_SIM_ADDR), keeping its world in
// <KASH_DATA_DIR>/sim-state.json beside the engine's database;
// cmd/providersim runs it alone (KASH_SIM_STATE_FILE). See "State across
// restarts" and "Identifiers" below.
// Because the adapters are the production ones, this document is their
// contract in development: paths, fields, codes and the carriage of our
// idempotent reference are exact. Where a real API has no field for our
// reference, or no endpoint we need, the simulator adds one and says so
// ("simulator extension").
//
// # Common rules
//
//   - Every write is idempotent by its reference (Qosic transref, Flutterwave
//     reference, MessageBird reference, OneSignal external_id): the same
//     reference returns the first outcome again and never moves money twice.
//     The body of a repeated request is not compared; the first one wins.
//   - A reference the simulator answers "not found" for was never applied
//     and never will be: the simulator never applies a request late.
//   - Amounts: Qosic amounts are whole XOF (JSON string "5000" or number
//     5000). Flutterwave amounts are USD with at most 2 decimals (JSON number
//     12.5 or string "12.50"); more decimals, zero or negatives are refused.
//   - Phones: Qosic msisdn is digits without '+', e.g. "22990000001" (a
//     leading '+', or 8 digits without 229, are accepted and normalised).
//     The simulator reports phones in E.164 ("+22990000001").
//   - Wallets: every wallet starts with 1,000,000 XOF; a phone ending in 0000
//     starts empty (its collections fail); on MTN a phone ending in 9999 never
//     approves (the collection stays pending for ever, no money moves).
//
// # Qosic mobile money (QosicBridge)
//
// Base path /QosicBridge/user/. All endpoints are POST with a JSON body and
// answer JSON. Auth: HTTP Basic with the account's login and password;
// missing or wrong → 401 {"responsecode":"-1","responsemsg":"UNAUTHORIZED"}.
// Each account also has one clientid per operator (MTN, Moov); a clientid
// that is not the authenticated account's id for the endpoint's operator →
// 404 {"responsecode":"-1","responsemsg":"INVALID CLIENT ID"}. The simulator
// serves two accounts by default, told apart by login and clientid, each with
// its own collection balance, so that the engine can route between them:
//
//	account  login        password              MTN clientid  Moov clientid
//	qosic    kash-qosic   qosic-sandbox-pass    KASH_MTN      KASH_MOOV
//	qosic2   kash-qosic2  qosic2-sandbox-pass   KASH2_MTN     KASH2_MOOV
//
// (Config.Qosic; env KASH_SIM_QOSIC_USER, _PASSWORD, _MTN_CLIENTID,
// _MOOV_CLIENTID, and the same with QOSIC2.) Our idempotent reference is the
// transref, unique per account across collections, payouts and settlements.
// A malformed body or amount → 400 {"responsecode":"-1","responsemsg":
// "INVALID REQUEST","comment":"<why>"}; the transref is not recorded.
// A transref already used by a different kind of operation → 409
// {"responsecode":"-1","responsemsg":"DUPLICATE TRANSREF"}.
//
// Request body (collections and payouts):
//
//	{"msisdn":"22990000001","amount":"5000","firstname":"Ada","lastname":"Kash",
//	 "transref":"f-01HX...","clientid":"KASH_MTN"}
//
// Response body (every endpoint; comment only when there is one):
//
//	{"responsecode":"00","responsemsg":"SUCCESSFUL","transref":"f-01HX...",
//	 "serviceref":"QS1754300000000042","comment":"..."}
//
// Response codes (responsemsg never contains "success" except on success):
//
//	"00"   SUCCESSFUL  done (MTN endpoints and every status answer)
//	"0"    SUCCESSFUL  done (Moov endpoints requestpaymentmv, depositmv)
//	"01"   PENDING     accepted, not final (MTN collection awaiting the payer; settlement in transit)
//	"8"    FAILED      Moov collection: payer's balance is insufficient
//	"529"  FAILED      MTN collection failed: payer's balance is insufficient
//	"-1"   FAILED      failed: merchant balance too low for a payout or settlement, injected
//	                   provider failure, or the request errors listed above
//	"404"  TRANSACTION NOT FOUND  status of a transref never recorded (see Common rules)
//
// Endpoints:
//
//	POST requestpayment    MTN collection, asynchronous. First answer HTTP 202 "01" PENDING.
//	                       After AsyncDelay (KASH_SIM_ASYNC_DELAY_MS, default 1000) the payer
//	                       approves: wallet debited, account collection balance credited,
//	                       status "00"; or status "529" when the wallet is short. Either way a
//	                       payment.status webhook is sent. A repeated transref answers HTTP 200
//	                       with the current status (codes as gettransactionstatus).
//	POST requestpaymentmv  Moov collection, synchronous: HTTP 200 "0" SUCCESSFUL (wallet
//	                       debited, collection credited) or "8" FAILED. No webhook.
//	POST deposit           MTN payout, synchronous: HTTP 200 "00" SUCCESSFUL (collection debited,
//	                       wallet credited) or "-1" FAILED when the account's collection balance
//	                       is short — a real aggregator pays out of the merchant's balance held
//	                       with it and refuses a disbursement it cannot cover. No webhook.
//	POST depositmv         Moov payout, as deposit but success is "0".
//	POST gettransactionstatus    {"transref","clientid"} → current status of any transaction of
//	POST gettransactionstatusmv  the account (collection, payout or settlement); both paths are
//	                       equivalent and accept either clientid of the account. HTTP 200 with
//	                       "00" (success, whatever the operator), "01", the failure code the
//	                       transaction got ("8", "529" or "-1"), or "404" for an unknown transref
//	                       (besides the auth and clientid errors above; an injected momo.status
//	                       failure is HTTP 503 {"responsecode":"503","responsemsg":
//	                       "SERVICE UNAVAILABLE"}, which says nothing about the transaction).
//	POST settlement        Simulator extension, modelled on the aggregator's settlement (the
//	                       merchant's withdrawal of collected funds to its bank account, here the
//	                       card issuer's funding account): the sweep of collections to the issuer
//	                       float. Body {"transref","amount","clientid"} (amount in XOF). The
//	                       account's collection balance is debited at once (HTTP 202 "01"
//	                       PENDING; or HTTP 200 "-1" FAILED when short, or when the amount is
//	                       worth less than 0.01 USD). After SweepDelay (KASH_SIM_SWEEP_DELAY_MS,
//	                       default 2000) the issuer float is credited floor(amount / CostRate)
//	                       USD to the cent (CostRate KASH_SIM_COST_RATE, default 600 XOF per USD;
//	                       the remainder below one cent is the bank's), the status becomes "00",
//	                       and an issuer.float_credited webhook (source "sweep") is sent. The
//	                       comment gives the USD amount and rate, e.g. "1000.00 USD at 600".
//
// # Flutterwave v3 virtual cards
//
// Base path /v3. Auth: "Authorization: Bearer <secret key>" (Config.
// Flutterwave.SecretKey, env KASH_SIM_FLW_SECRET_KEY, default
// "FLWSECK_TEST-kash-sandbox"); missing or wrong → 401 {"status":"error",
// "message":"Invalid authorization key","data":null}. Every answer is
// {"status":"success"|"error","message":"...","data":...}. HTTP 200 on
// success; 400 for a definitive business failure (insufficient float or card
// balance, terminated card, bad amount, injected failure); 404 for an unknown
// card or reference. A 5xx or no answer is never a definitive failure.
//
// Our idempotent reference: Flutterwave v3 has no idempotency field on these
// endpoints, so the simulator reads a "reference" field (simulator extension)
// in the create, fund and withdraw bodies (required there), and optionally in
// a JSON body of block, unblock and terminate. Create also carries
// "card_reference": the engine's card id (simulator extension; required), so
// that /sim/spend and /sim/state can name cards by engine id. A reference is
// unique across all operations; reusing it for another operation or card →
// 409 {"status":"error","message":"Reference already used"}.
//
// Card object (data of create and get; amounts are USD strings; card_pan and
// cvv are sensitive: never log them):
//
//	{"id":"8f1c...-uuid","account_id":118468,"amount":"25.00","currency":"USD",
//	 "card_hash":"8f1c...-uuid","card_pan":"4187451234567894",
//	 "masked_pan":"418745*******7894","city":"Lekki","state":"Lagos",
//	 "address_1":"19, Olubunmi Rotimi","address_2":null,"zip_code":"23401",
//	 "cvv":"123","expiration":"2029-01","send_to":null,"bin_check_name":null,
//	 "card_type":"visa","name_on_card":"Ada Kash","created_at":"2025-01-01T00:00:00Z",
//	 "is_active":true,"status":"active","callback_url":null,
//	 "reference":"iss-01HX...","card_reference":"card_01HX..."}
//
// "status" (active|blocked|terminated), "reference" and "card_reference"
// are simulator extensions; is_active is true only when status is active.
// expiration is "YYYY-MM".
//
//	POST /v3/virtual-cards  {"currency":"USD","amount":25,"billing_name":"Ada Kash",
//	                        "debit_currency":"USD","reference":"iss-...","card_reference":"card_..."}
//	                        (other real fields such as callback_url, billing_address are accepted
//	                        and ignored) → 200 "Card created successfully", data: card object.
//	                        The amount moves from the issuer float onto the new card; 400
//	                        "Insufficient wallet balance" when the float is short.
//	POST /v3/virtual-cards/{id}/fund      {"amount":10,"debit_currency":"USD","reference":"fnd-..."}
//	                        → 200 "Card funded successfully", data null. Float → card. Allowed on
//	                        active and blocked cards; 400 "Card has been terminated";
//	                        400 "Insufficient wallet balance".
//	POST /v3/virtual-cards/{id}/withdraw  {"amount":10,"reference":"wdr-..."}
//	                        → 200 "Card withdrawal successful", data null. Card → float. Allowed on
//	                        active and blocked cards; 400 "Insufficient card balance";
//	                        400 "Card has been terminated".
//	PUT  /v3/virtual-cards/{id}/status/block    → 200 "Card blocked successfully", data null
//	PUT  /v3/virtual-cards/{id}/status/unblock  → 200 "Card unblocked successfully", data null
//	                        Both are no-ops on a card already in that state; 400 "Card has been
//	                        terminated" on a terminated card. Optional body {"reference":"..."}.
//	PUT  /v3/virtual-cards/{id}/terminate       → 200 "Card terminated successfully", data null.
//	                        Any balance left returns to the float (withdraw first to pay it out).
//	                        Repeatable. Optional body {"reference":"..."}.
//	GET  /v3/virtual-cards/{id}           → 200 "Card fetched successfully", data: card object
//	                        (amount is the current balance).
//	GET  /v3/virtual-cards/{id}/transactions?from=&to=&index=&size=  → 200 "Card transactions
//	                        fetched successfully", data: newest first (size default 20, index from 1):
//	                        [{"id":1754300000000001,"amount":12.50,"fee":0,"product":"Card Transactions",
//	                          "gateway_reference":"...","reference":"fnd-...","response_code":"00",
//	                          "gateway_reference_details":"...","amount_confirmed":12.50,
//	                          "narration":"Card funding","indicator":"C","created_at":"...",
//	                          "status":"Successful","currency":"USD","type":"funding"}]
//	                        indicator C (credit to the card) or D (debit); type (extension) is one
//	                        of creation, funding, withdrawal, spend, decline, termination; a decline
//	                        has status "Failed" and does not move money.
//	GET  /v3/balances/USD   → 200 "Wallet balance fetched", data {"currency":"USD",
//	                        "available_balance":99975.50,"ledger_balance":99975.50} (the issuer
//	                        float). Other currencies → 400.
//	GET  /v3/virtual-cards/references/{reference}  Simulator extension mirroring how production
//	                        resolves an unknown outcome (support lookup / transaction search by our
//	                        reference): 200 "Operation fetched", data {"reference","operation":
//	                        "create|fund|withdraw|block|unblock|terminate","status":
//	                        "successful"|"failed","message":"<failure reason or empty>",
//	                        "card_id":"<issuer id or empty>","card_reference":"...",
//	                        "amount":"25.00","currency":"USD","card":<card object, create only and
//	                        only when successful>} (amount is 0.00 for block and unblock, the
//	                        balance returned to the float for terminate); 404 "No operation with
//	                        this reference".
//
// Any other path or method under /v3 → 404 "Route not found".
//
// # MessageBird SMS
//
// POST /messages, "Authorization: AccessKey <key>" (Config.MessageBird.
// AccessKey, env KASH_SIM_MESSAGEBIRD_KEY, default "test_kash_sandbox_key");
// wrong → 401 {"errors":[{"code":2,"description":"Request not allowed
// (incorrect access_key)","parameter":"access_key"}]}. JSON body
// {"originator":"Kash","recipients":["22990000001"],"body":"Your code is
// 123456","reference":"otp-..."} (recipients are strings or numbers, with or
// without '+'). → 201 message object {"id","href","direction":"mt","type":
// "sms","originator","body","reference","validity":null,"gateway":10,
// "typeDetails":{},"datacoding":"plain","mclass":1,"scheduledDatetime":null,
// "createdDatetime","recipients":{"totalCount":1,"totalSentCount":1,
// "totalDeliveredCount":0,"totalDeliveryFailedCount":0,"items":[{"recipient":
// 22990000001,"status":"sent","statusDatetime":"..."}]}}. Missing body or
// originator → 422 {"errors":[{"code":9,"description":"...","parameter":
// "body"}]}; no recipient → 422 with parameter "recipients". Our reference is
// "reference": MessageBird itself does not deduplicate, the simulator does (a
// repeated reference returns the first message and is not recorded again) so
// that at-least-once senders can be counted. Injected failure → 500
// {"errors":[{"code":25,"description":"internal error","parameter":null}]}.
//
// # OneSignal push
//
// POST /api/v1/notifications, "Authorization: Basic <REST API key>" or
// "Authorization: Key <REST API key>" (Config.OneSignal.RESTKey, env
// KASH_SIM_ONESIGNAL_KEY, default "onesignal-kash-sandbox-key"); wrong → 403
// {"errors":["Access denied.  Please include an 'Authorization: ...' header
// with a valid API key"]}. Body {"app_id":"<Config.OneSignal.AppID, env
// KASH_SIM_ONESIGNAL_APP_ID, default 5eb5a37e-b458-11e3-ac11-000c2940e62c>",
// "include_external_user_ids":["usr_..."] | "include_player_ids":["..."] |
// "include_aliases":{"external_id":["usr_..."]}, "headings":{"en":"Title"},
// "contents":{"en":"Body"}, "external_id":"<our reference, a UUID in
// production>", "data":{...}}. → 200 {"id":"<notification uuid>",
// "recipients":1,"external_id":"..."}. Wrong app_id → 400 {"errors":["app_id
// not found"]}; no contents.en → 400 {"errors":["Message Notifications must
// have English language content"]}; no target → 200 {"id":"","recipients":0,
// "errors":["All included players are not subscribed"]}. A repeated
// external_id (OneSignal's idempotency key) returns the first notification
// and is not recorded again. Injected failure → 500 {"errors":["Internal
// Server Error"]}.
//
// # Slack incoming webhook (ops chat)
//
// POST {Config.SlackPath} (env KASH_SIM_SLACK_PATH, default
// /services/TKASHSIM0/BKASHSIM0/kashsandboxtoken: the secret is the path),
// JSON {"text":"..."} (blocks, channel, username are accepted) → 200
// text/plain "ok" (recorded for /sim/ops with to = channel, default "ops");
// no text → 400 "invalid_payload"; another path under
// /services/ → 404 "no_service". Injected failure → 500 "internal_error".
// Slack does not deduplicate, nor does the simulator.
//
// # Webhooks to the engine
//
// Sent to {WebhookURL}/v1/webhooks/qosic (payment.status) or
// {WebhookURL}/v1/webhooks/flutterwave (card.spend, card.decline,
// issuer.float_credited), POST, Content-Type application/json, with
// "X-Sim-Signature: sha256=<hex HMAC-SHA256(WebhookSecret, raw body)>" and,
// to the flutterwave path only, "verif-hash: <Config.Flutterwave.VerifHash>"
// (env KASH_SIM_FLW_VERIF_HASH, default "kash-sim-verif-hash"). Envelope:
//
//	{"id":"evt_k3q9z2ma_000000000001","type":"payment.status","created_at":"2025-01-01T00:00:01Z","data":{...}}
//
// id identifies the event: a redelivery or duplicate carries the same id.
// data by type:
//
//	payment.status         {"provider":"qosic","account":"qosic","clientid":"KASH_MTN",
//	                        "operator":"mtn-bj","kind":"collection","transref":"f-...",
//	                        "serviceref":"QS...","msisdn":"22990000001","amount":"5000",
//	                        "currency":"XOF","status":"succeeded"|"failed",
//	                        "responsecode":"00"|"529","responsemsg":"SUCCESSFUL"|"FAILED",
//	                        "reason":""|"insufficient balance"}
//	                        Sent when an MTN collection becomes final.
//	card.spend             {"card_id":"<issuer id>","card_reference":"<engine card id>",
//	                        "transaction_id":"1754300000000003","amount":"12.34","currency":"USD",
//	                        "merchant":"Netflix","balance":"37.66","status":"successful",
//	                        "reason":""}
//	card.decline           same fields, "status":"failed", "reason": insufficient_funds |
//	                        card_blocked | card_terminated; no money moved.
//	issuer.float_credited  {"amount":"1000.00","currency":"USD","balance":"101000.00",
//	                        "source":"deposit"|"sweep","reference":"dep_k3q9z2ma_000000000001"|"<settlement
//	                        transref>","account":"qosic","xof_amount":"600000","rate":"600"}
//	                        (account, xof_amount and rate only for source sweep)
//
// Delivery is asynchronous (a bounded queue and a few workers; handlers never
// wait for it); a non-2xx answer or a transport error is retried with
// exponential backoff (250 ms doubling, at most 30 s apart, 12 attempts),
// then given up. When the queue is full the event is dropped and counted
// (the engine polls). Events may arrive out of order.
//
// # Control API (tests and the bench; no auth)
//
//	GET    /sim/sms?to=PHONE  {"data":[{"to":"+22990000001","body":"...","at":"<RFC 3339>"}]}
//	                          newest first; without to, every SMS.
//	GET    /sim/push          {"data":[{"to":"usr_...","title":"...","body":"...","at":"..."}]}
//	GET    /sim/ops           {"data":[{"to":"ops","body":"...","at":"..."}]}
//	POST   /sim/spend         {"card":"<engine card id or issuer id>","amount":"12.34",
//	                          "currency":"USD","merchant":"Netflix"} → 200 {"approved":true,
//	                          "reason":null} or {"approved":false,"reason":"insufficient_funds"|
//	                          "card_blocked"|"card_terminated"}; then a card.spend or card.decline
//	                          webhook. Unknown card → 404.
//	POST   /sim/issuer/float  {"amount":"1000.00","currency":"USD"} → 200 {"float":Money}; then an
//	                          issuer.float_credited webhook (source deposit).
//	GET    /sim/state         {"issuer":{"float":Money,"cards":[{"card","balance":Money,"status"}]},
//	                          "momo":{"providers":[{"provider","balance":Money}],
//	                          "wallets":[{"phone","balance":Money}]}} (Money is {"amount","currency"};
//	                          card status active|blocked|terminated; wallets ever touched).
//	GET    /sim/books         the conservation check: {"ok":bool,"xof":{"initial_wallets",
//	                          "wallets","collections","settled"},"usd":{"initial_float","deposits",
//	                          "swept_in","float","cards","spent"}} (Money values); exact when
//	                          nothing is in flight.
//	GET    /sim/webhooks      webhook delivery counters (queued, delivered, retried, gave_up,
//	                          dropped, overflowed, duplicated, disabled).
//	POST   /sim/faults        {"target","fail_rate","timeout_rate","latency_ms":[min,max],
//	                          "next_failures"} → 200 the target's fault settings; replaces that
//	                          target's settings. Optional: "timeout_applied_rate" (default 0.5),
//	                          "duplicate_rate", "reorder_rate" (webhooks).
//	DELETE /sim/faults        clears every target (?target= clears one) → 204.
//	GET    /sim/faults        {"data":[...]} current settings.
//
// Errors of the control API follow API.md: {"error":{"code","message","field"}}.
//
// # Faults
//
// Targets: momo.collect (requestpayment, requestpaymentmv), momo.payout
// (deposit, depositmv, settlement), momo.status (gettransactionstatus*),
// issuer.create, issuer.fund, issuer.withdraw, issuer.status (the references
// endpoint), sms, push, ops (Slack), webhooks. Per request: latency_ms first
// (a uniform delay in [min,max]); then the next_failures counter, else one
// draw: timeout with timeout_rate, failure with fail_rate.
//
//   - failure: a definitive failure recorded under the reference (Qosic "-1"
//     FAILED, Flutterwave 400, MessageBird/OneSignal/Slack 500 and nothing
//     recorded); for momo.status and issuer.status an HTTP 503 that changes
//     nothing. A failure never rewrites a reference already known: a retry of
//     a known reference answers its real outcome.
//   - timeout: the request hangs (the connection is held without an answer
//     until the client gives up, at most TimeoutHang, default 30 s, then
//     closed). With probability timeout_applied_rate the operation was applied
//     first and only the answer is lost — that is what makes outcomes unknown;
//     otherwise it was not applied and never will be.
//   - webhooks: failure (fail_rate, next_failures) drops the event for good;
//     timeout (timeout_rate) delivers it and then treats the answer as lost,
//     so it is delivered again (a duplicate, same id); duplicate_rate sends it
//     twice at once; reorder_rate holds it back 200–1000 ms so later events
//     overtake it; latency_ms delays each delivery.
//
// # Identifiers
//
// The engine keeps the simulator's ids in unique columns and dedupe tables
// that outlive a restart of either, so no id ever repeats one handed out by
// an earlier run of the simulator, even one whose state file was lost:
//
//   - String ids carry a tag of 8 lowercase base32 characters drawn from
//     crypto/rand at every start: webhook event ids
//     "evt_<tag>_<12-digit counter>", float deposit references
//     "dep_<tag>_<counter>", issuer card ids (UUID-shaped, derived from a
//     random per-start value and a counter), MessageBird message ids and
//     OneSignal notification ids.
//   - Numeric ids count up from the start time in microseconds (about 1.8e15,
//     exact in a JSON number): Flutterwave card transaction ids (the
//     "id" of a card transaction, "transaction_id" of card webhooks) and the
//     Qosic serviceref sequence ("QS" and the number). A restart continues
//     above the previous run's numbers unless that run averaged more than a
//     million a second; with a state file, counters resume from the saved
//     ones when those are higher (a clock set back cannot make them repeat).
//   - Within a run, counters keep ids increasing. A transaction keeps its
//     serviceref across restarts (the number is saved with it).
//
// Card PAN and CVV follow Config.Seed (KASH_SIM_SEED) and the card counter:
// reproducible when the seed is set, drawn afresh at every start when it is
// not (the default). Fault draws follow the seed too.
//
// # State across restarts
//
// With Config.StateFile (env KASH_SIM_STATE_FILE; kashd sets it for its
// embedded simulator) the simulated world survives restarts, so that it
// keeps agreeing with the engine's database. The file holds: wallets and
// the starting balances they were created with, each Qosic account's
// collection balance and every transaction by transref with its status
// (MTN approvals still awaited and settlements in flight included), the
// issuer float and its inflows and outflows, every card with its balance,
// status, PAN, CVV, expiry and transactions, every issuer operation by
// reference, the newest 1,000 messages of each inbox (sms, push, ops) with
// their references, and the id counters. Every reference the file holds is
// still idempotent after a restart: re-sending it returns its first outcome
// and moves no money (a notification reference older than the newest 1,000
// messages is forgotten). Fault settings, webhook counters and webhooks not
// yet delivered are not kept; the engine polls for outcomes it missed.
//
// Open loads the file: a missing file is a fresh world (from the
// configuration); MTN approvals and settlements in flight are scheduled
// again, AsyncDelay and SweepDelay after the start (a payer that never
// approves still never does). The saved world wins over IssuerFloat. A file
// that cannot be read, is not valid JSON of this shape and version (1), has
// a value out of range, names a Qosic account the configuration lacks, or
// whose books do not balance is an error (ErrStateFile): the simulator will
// not start afresh behind the engine's back, and leaves the file alone for
// inspection; move it away to start a new world. kashd and providersim
// refuse to start; New, which has no error to return, logs it and returns a
// simulator that answers 503 to everything, whose Serve returns the error,
// and that never writes the file.
//
// The world is saved when it changed, at most every 500 ms (spaced further
// for a big world, so that saving takes at most a fifth of the time), and
// on Close. A save copies the books while changes wait, so that the copy
// balances (Books.Check holds on every saved world), then encodes and
// writes outside the locks: a temporary file beside the state file, fsync,
// rename over it, fsync of the directory; a crash leaves the previous world
// or the new, never half of one. After a crash (SIGKILL) the next start
// resumes from the last save, at most about 500 ms old. The file is created
// with mode 0600: it holds card PANs and CVVs.
package sim
