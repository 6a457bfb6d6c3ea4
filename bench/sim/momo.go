package sim

import (
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// shardCount splits every hot map so that concurrent requests for
// different keys rarely meet on a lock.
const shardCount = 64

// Wallet behaviour by phone (API.md).
const (
	walletStartXOF    = 1_000_000
	emptyWalletSuffix = 0    // a phone ending in 0000 starts with nothing: collections fail
	neverApproves     = 9999 // on MTN a phone ending in 9999 never approves
)

// operator is a mobile-money operator.
type operator uint8

const (
	operatorAny  operator = iota // an endpoint that serves both
	operatorMTN                  // asynchronous: the payer approves on the phone
	operatorMoov                 // synchronous
)

// String names the operator as the engine does.
func (o operator) String() string {
	switch o {
	case operatorMTN:
		return "mtn-bj"
	case operatorMoov:
		return "moov-bj"
	}
	return ""
}

// outcome says why a transaction failed, or notes its success.
type outcome uint8

const (
	outcomeNone          outcome = iota
	outcomeMoovShort             // Moov payer's wallet short
	outcomeMTNShort              // MTN payer's wallet short
	outcomeMerchantShort         // collection balance short for a payout or settlement
	outcomeInjected              // fault injection
	outcomeBelowCent             // settlement worth less than a cent
)

// code is the Qosic responsecode of a failed transaction.
func (o outcome) code() string {
	switch o {
	case outcomeMoovShort:
		return qosicMoovShort
	case outcomeMTNShort:
		return qosicMTNFailed
	}
	return qosicFailed
}

func (o outcome) reason() string {
	switch o {
	case outcomeMoovShort, outcomeMTNShort:
		return "insufficient balance"
	case outcomeMerchantShort:
		return "merchant balance insufficient"
	case outcomeInjected:
		return injectedFailure
	case outcomeBelowCent:
		return "amount below 0.01 USD"
	}
	return ""
}

type txKind uint8

const (
	kindCollection txKind = iota + 1
	kindPayout
	kindSettlement
)

type txStatus uint8

const (
	statusPending txStatus = iota + 1
	statusSucceeded
	statusFailed
)

// momoTx is one transaction of a Qosic account. It is mutated only under
// its shard's lock; readers outside the lock get a copy. It is kept small
// and nearly pointer-free: a bench run records millions of them.
type momoTx struct {
	kind     txKind
	operator operator
	status   txStatus
	outcome  outcome
	transref string // shares the map key's bytes
	msisdn   uint64 // digits, country code included
	amount   int64  // XOF
	usdCents int64  // settlements: what reaches the issuer float
	service  uint64 // serviceref sequence
}

type txShard struct {
	mu sync.Mutex
	m  map[string]*momoTx
}

// clientID returns the account's clientid for op.
func (a *momoAccount) clientID(op operator) string {
	if op == operatorMoov {
		return a.MoovClientID
	}
	return a.MTNClientID
}

// momoAccount is one Qosic merchant account with its collection balance.
type momoAccount struct {
	MomoAccount
	auth      []byte // the exact Authorization header that logs in
	collected atomic.Int64
	txs       [shardCount]txShard
}

func (a *momoAccount) shard(ref string) *txShard { return &a.txs[shardIndex(ref)] }

// ownsClientID reports whether id is one of the account's clientids valid
// for op (operatorAny accepts either operator's).
func (a *momoAccount) ownsClientID(id string, op operator) bool {
	switch op {
	case operatorMTN:
		return id == a.MTNClientID
	case operatorMoov:
		return id == a.MoovClientID
	}
	return id == a.MTNClientID || id == a.MoovClientID
}

// momoBooks are the mobile-money side of the world: wallets and the
// merchant accounts' collections. XOF leaves this side only by settlement.
type momoBooks struct {
	accounts []*momoAccount
	wallets  walletBook
	settled  atomic.Int64 // XOF debited from collections by settlements
}

func newMomoBooks(accts []MomoAccount) *momoBooks {
	b := &momoBooks{}
	for _, a := range accts {
		acct := &momoAccount{MomoAccount: a}
		acct.auth = []byte("Basic " + base64.StdEncoding.EncodeToString([]byte(a.User+":"+a.Password)))
		for i := range acct.txs {
			acct.txs[i].m = make(map[string]*momoTx)
		}
		b.accounts = append(b.accounts, acct)
	}
	b.wallets.init()
	return b
}

// authenticate returns the account the Authorization header logs into.
func (b *momoBooks) authenticate(header []byte) *momoAccount {
	for _, a := range b.accounts {
		if subtle.ConstantTimeCompare(header, a.auth) == 1 {
			return a
		}
	}
	return nil
}

// walletBook holds every wallet ever touched, created lazily with its
// starting balance. Phones are numbers: no pointers for the GC to chase.
type walletBook struct {
	shards  [shardCount]walletShard
	initial atomic.Int64 // sum of starting balances of wallets created so far
}

type walletShard struct {
	mu sync.Mutex
	m  map[uint64]int64
}

func (w *walletBook) init() {
	for i := range w.shards {
		w.shards[i].m = make(map[uint64]int64)
	}
}

func (w *walletBook) shard(phone uint64) *walletShard {
	return &w.shards[splitmix(phone)%shardCount]
}

// balanceLocked returns phone's balance, creating the wallet if needed.
func (w *walletBook) balanceLocked(sh *walletShard, phone uint64) int64 {
	bal, ok := sh.m[phone]
	if !ok {
		bal = startingBalance(phone)
		sh.m[phone] = bal
		w.initial.Add(bal)
	}
	return bal
}

// debit takes amount from phone's wallet if it holds enough.
func (w *walletBook) debit(phone uint64, amount int64) bool {
	sh := w.shard(phone)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	bal := w.balanceLocked(sh, phone)
	if bal < amount {
		return false
	}
	sh.m[phone] = bal - amount
	return true
}

func (w *walletBook) credit(phone uint64, amount int64) {
	sh := w.shard(phone)
	sh.mu.Lock()
	sh.m[phone] = w.balanceLocked(sh, phone) + amount
	sh.mu.Unlock()
}

// each calls f for every wallet, shard by shard.
func (w *walletBook) each(f func(phone uint64, balance int64)) {
	for i := range w.shards {
		sh := &w.shards[i]
		sh.mu.Lock()
		for p, b := range sh.m {
			f(p, b)
		}
		sh.mu.Unlock()
	}
}

func startingBalance(phone uint64) int64 {
	if phone%10000 == emptyWalletSuffix {
		return 0
	}
	return walletStartXOF
}

// parseMSISDN normalises a phone like normalizeMSISDN and returns it as a number.
func parseMSISDN(s string) (uint64, bool) {
	digits, ok := normalizeMSISDN(s)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// normalizeMSISDN turns "+22990000001", "0022990000001", "22990000001" or
// "90000001" into "22990000001"; ok is false for anything that is not a
// plausible Benin number.
func normalizeMSISDN(s string) (string, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "+")
	s = strings.TrimPrefix(s, "00")
	if s == "" || !digitsOnly(s) {
		return "", false
	}
	if !strings.HasPrefix(s, "229") || len(s) <= 10 {
		s = "229" + s
	}
	if len(s) != 11 && len(s) != 13 {
		return "", false
	}
	return s, true
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// tryDebit subtracts amount from a if the result stays non-negative.
func tryDebit(a *atomic.Int64, amount int64) bool {
	for {
		cur := a.Load()
		if cur < amount {
			return false
		}
		if a.CompareAndSwap(cur, cur-amount) {
			return true
		}
	}
}

// shardIndex hashes key with FNV-1a, inline so that it never allocates.
func shardIndex(key string) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % shardCount)
}
