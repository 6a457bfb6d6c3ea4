package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// ErrStateFile is returned by Open for a state file that is not a world
// the simulator can resume: not JSON of the expected shape, another
// version, a value out of range, an account the configuration lacks, or
// books that do not balance.
var ErrStateFile = errors.New("sim: unusable state file")

const (
	// stateVersion is written in every state file and required when one is read.
	stateVersion = 1
	// saveInterval is how often a changed world is saved at most.
	saveInterval = 500 * time.Millisecond
	// saveDutyFactor spaces saves of a big world: after a save that took
	// d, the next waits at least saveDutyFactor·d, so that saving never
	// takes more than a fifth of the time.
	saveDutyFactor = 4
	// savedMessages bounds each notification inbox in the state file.
	savedMessages = 1000
)

// savedWorld is the state file: everything the simulator must remember to
// go on where it stopped. Amounts are in minor units (XOF, USD cents).
// Fault settings and webhook counters are not part of it.
type savedWorld struct {
	Version int            `json:"version"`
	SavedAt time.Time      `json:"saved_at"`
	IDs     savedIDs       `json:"ids"`
	Momo    savedMomo      `json:"momo"`
	Issuer  savedIssuer    `json:"issuer"`
	SMS     []savedMessage `json:"sms"`
	Push    []savedMessage `json:"push"`
	Ops     []savedMessage `json:"ops"`
}

type savedMomo struct {
	InitialWallets int64          `json:"initial_wallets"`
	Settled        int64          `json:"settled"`
	Wallets        []savedWallet  `json:"wallets"`
	Accounts       []savedAccount `json:"accounts"`
}

type savedWallet struct {
	Phone   uint64 `json:"phone"`
	Balance int64  `json:"balance"`
}

type savedAccount struct {
	Name         string    `json:"name"`
	Collected    int64     `json:"collected"`
	Transactions []savedTx `json:"transactions"`
}

type savedTx struct {
	Ref      string `json:"transref"`
	Kind     string `json:"kind"`
	Operator string `json:"operator,omitempty"`
	Status   string `json:"status"`
	Outcome  string `json:"outcome,omitempty"`
	MSISDN   uint64 `json:"msisdn,omitempty"`
	Amount   int64  `json:"amount"`
	USDCents int64  `json:"usd_cents,omitempty"`
	Service  uint64 `json:"service"`
}

type savedIssuer struct {
	InitialFloat int64       `json:"initial_float"`
	Float        int64       `json:"float"`
	Deposits     int64       `json:"deposits"`
	SweptIn      int64       `json:"swept_in"`
	Spent        int64       `json:"spent"`
	CardSeq      uint64      `json:"card_seq"`
	Cards        []savedCard `json:"cards"`
	Operations   []savedOp   `json:"operations"`
}

// savedCard holds PAN and CVV: the state file is written 0600.
type savedCard struct {
	Seq          uint64         `json:"seq"`
	ID           string         `json:"id"`
	Ref          string         `json:"card_reference"`
	Reference    string         `json:"reference"`
	PAN          string         `json:"pan"`
	CVV          string         `json:"cvv"`
	Expiration   string         `json:"expiration"`
	Name         string         `json:"name"`
	CreatedAt    time.Time      `json:"created_at"`
	Balance      int64          `json:"balance"`
	Status       string         `json:"status"`
	Transactions []savedCardTxn `json:"transactions"`
}

type savedCardTxn struct {
	ID        int64     `json:"id"`
	Amount    int64     `json:"amount"`
	Reference string    `json:"reference,omitempty"`
	Narration string    `json:"narration"`
	Credit    bool      `json:"credit"`
	Type      string    `json:"type"`
	OK        bool      `json:"ok"`
	At        time.Time `json:"at"`
}

type savedOp struct {
	Reference  string `json:"reference"`
	Operation  string `json:"operation"`
	OK         bool   `json:"ok"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Message    string `json:"message,omitempty"`
	CardID     string `json:"card_id,omitempty"`
	CardRef    string `json:"card_reference,omitempty"`
	Amount     int64  `json:"amount"`
}

type savedMessage struct {
	To    string    `json:"to"`
	Title string    `json:"title,omitempty"`
	Body  string    `json:"body"`
	At    time.Time `json:"at"`
	Ref   string    `json:"reference,omitempty"`
	ID    string    `json:"id"`
}

// Names of the momo enums in the state file, indexed by value; "" is not
// a valid kind or status.
var (
	kindNames     = [...]string{kindCollection: "collection", kindPayout: "payout", kindSettlement: "settlement"}
	statusNames   = [...]string{statusPending: "pending", statusSucceeded: "succeeded", statusFailed: "failed"}
	operatorNames = [...]string{operatorAny: "", operatorMTN: "mtn", operatorMoov: "moov"}
	outcomeNames  = [...]string{
		outcomeNone: "", outcomeMoovShort: "moov_short", outcomeMTNShort: "mtn_short",
		outcomeMerchantShort: "merchant_short", outcomeInjected: "injected", outcomeBelowCent: "below_cent",
	}
	cardStatuses = []string{cardActive, cardBlocked, cardTerminated}
	issuerOps    = []string{"create", "fund", "withdraw", "block", "unblock", "terminate"}
)

// enumValue returns the value named name in names.
func enumValue[T ~uint8](names []string, name string) (T, bool) {
	for i, n := range names {
		if n == name {
			return T(i), true
		}
	}
	return 0, false
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// snapshot copies the world. It holds the world lock alone while it
// copies, so that no change is half done in the copy and the copy's books
// balance; it sorts the copy after letting go.
func (s *Sim) snapshot() *savedWorld {
	s.world.Lock()
	w := &savedWorld{Version: stateVersion, IDs: s.ids.save(), Momo: s.momo.save(), Issuer: s.issuer.save()}
	w.SMS, w.Push, w.Ops = s.sms.save(savedMessages), s.push.save(savedMessages), s.ops.save(savedMessages)
	s.world.Unlock()
	w.SavedAt = time.Now().UTC()
	sort.Slice(w.Momo.Wallets, func(i, j int) bool { return w.Momo.Wallets[i].Phone < w.Momo.Wallets[j].Phone })
	for _, a := range w.Momo.Accounts {
		sort.Slice(a.Transactions, func(i, j int) bool { return a.Transactions[i].Service < a.Transactions[j].Service })
	}
	sort.Slice(w.Issuer.Operations, func(i, j int) bool { return w.Issuer.Operations[i].Reference < w.Issuer.Operations[j].Reference })
	return w
}

func (b *momoBooks) save() savedMomo {
	m := savedMomo{InitialWallets: b.wallets.initial.Load(), Settled: b.settled.Load(), Wallets: []savedWallet{}}
	b.wallets.each(func(phone uint64, balance int64) {
		m.Wallets = append(m.Wallets, savedWallet{Phone: phone, Balance: balance})
	})
	for _, a := range b.accounts {
		m.Accounts = append(m.Accounts, a.save())
	}
	return m
}

func (a *momoAccount) save() savedAccount {
	sa := savedAccount{Name: a.Name, Collected: a.collected.Load(), Transactions: []savedTx{}}
	for i := range a.txs {
		sh := &a.txs[i]
		sh.mu.Lock()
		for _, t := range sh.m {
			sa.Transactions = append(sa.Transactions, savedTx{
				Ref: t.transref, Kind: kindNames[t.kind], Operator: operatorNames[t.operator], Status: statusNames[t.status],
				Outcome: outcomeNames[t.outcome], MSISDN: t.msisdn, Amount: t.amount, USDCents: t.usdCents, Service: t.service,
			})
		}
		sh.mu.Unlock()
	}
	return sa
}

func (b *issuerBooks) save() savedIssuer {
	si := savedIssuer{
		InitialFloat: b.initialFloat, Float: b.float.Load(), Deposits: b.deposits.Load(), SweptIn: b.sweptIn.Load(),
		Spent: b.spent.Load(), CardSeq: b.seq.Load(), Cards: []savedCard{}, Operations: []savedOp{},
	}
	for _, c := range b.cards() {
		si.Cards = append(si.Cards, c.save())
	}
	for i := range b.ops {
		sh := &b.ops[i]
		sh.mu.Lock()
		for _, o := range sh.m {
			si.Operations = append(si.Operations, savedOp{
				Reference: o.reference, Operation: o.operation, OK: o.ok, HTTPStatus: o.httpStatus, Message: o.message,
				CardID: o.cardID, CardRef: o.cardRef, Amount: o.amount,
			})
		}
		sh.mu.Unlock()
	}
	return si
}

func (c *card) save() savedCard {
	c.mu.Lock()
	defer c.mu.Unlock()
	sc := savedCard{
		Seq: c.seq, ID: c.id, Ref: c.ref, Reference: c.reference, PAN: c.pan, CVV: c.cvv, Expiration: c.expiration,
		Name: c.name, CreatedAt: c.createdAt, Balance: c.balance, Status: c.status,
		Transactions: make([]savedCardTxn, len(c.txns)),
	}
	for i, t := range c.txns {
		sc.Transactions[i] = savedCardTxn{
			ID: t.id, Amount: t.amount, Reference: t.reference, Narration: t.narration, Credit: t.credit, Type: t.typ, OK: t.ok, At: t.at,
		}
	}
	return sc
}

// save returns the newest keep messages, oldest first.
func (l *messageLog) save(keep int) []savedMessage {
	l.mu.Lock()
	defer l.mu.Unlock()
	items := l.items[max(0, len(l.items)-keep):]
	out := make([]savedMessage, len(items))
	for i, m := range items {
		out[i] = savedMessage{To: m.To, Title: m.Title, Body: m.Body, At: m.At, Ref: m.ref, ID: m.id}
	}
	return out
}

// restore fills the fresh books of a simulator not yet serving with a
// saved world, and checks that the result balances.
func (s *Sim) restore(w *savedWorld) error {
	if w.Version != stateVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrStateFile, w.Version, stateVersion)
	}
	if err := s.momo.restore(w.Momo); err != nil {
		return err
	}
	if err := s.issuer.restore(w.Issuer); err != nil {
		return err
	}
	s.sms.restore(w.SMS)
	s.push.restore(w.Push)
	s.ops.restore(w.Ops)
	s.ids.restore(w.IDs)
	if err := s.Books().Check(); err != nil {
		return fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	return nil
}

func (b *momoBooks) restore(m savedMomo) error {
	if m.InitialWallets < 0 || m.Settled < 0 {
		return fmt.Errorf("%w: negative momo totals", ErrStateFile)
	}
	b.wallets.initial.Store(m.InitialWallets)
	b.settled.Store(m.Settled)
	for _, w := range m.Wallets {
		sh := b.wallets.shard(w.Phone)
		if _, dup := sh.m[w.Phone]; dup || w.Balance < 0 {
			return fmt.Errorf("%w: wallet %d repeated or negative", ErrStateFile, w.Phone)
		}
		sh.m[w.Phone] = w.Balance
	}
	restored := make(map[string]bool, len(m.Accounts))
	for _, sa := range m.Accounts {
		acct := b.account(sa.Name)
		if acct == nil || restored[sa.Name] {
			return fmt.Errorf("%w: account %q is not configured, or repeated", ErrStateFile, sa.Name)
		}
		restored[sa.Name] = true
		if err := acct.restore(sa); err != nil {
			return err
		}
	}
	return nil
}

// account returns the configured account called name.
func (b *momoBooks) account(name string) *momoAccount {
	for _, a := range b.accounts {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func (a *momoAccount) restore(sa savedAccount) error {
	if sa.Collected < 0 {
		return fmt.Errorf("%w: account %q: negative collection balance", ErrStateFile, sa.Name)
	}
	a.collected.Store(sa.Collected)
	for _, st := range sa.Transactions {
		t, err := st.load()
		if err != nil {
			return fmt.Errorf("%w: account %q: transref %q: %w", ErrStateFile, sa.Name, st.Ref, err)
		}
		sh := a.shard(t.transref)
		if _, dup := sh.m[t.transref]; dup {
			return fmt.Errorf("%w: account %q: transref %q repeated", ErrStateFile, sa.Name, st.Ref)
		}
		sh.m[t.transref] = t
	}
	return nil
}

var errBadValue = errors.New("value out of range")

func (st savedTx) load() (*momoTx, error) {
	kind, okKind := enumValue[txKind](kindNames[:], st.Kind)
	status, okStatus := enumValue[txStatus](statusNames[:], st.Status)
	op, okOp := enumValue[operator](operatorNames[:], st.Operator)
	why, okWhy := enumValue[outcome](outcomeNames[:], st.Outcome)
	if !okKind || kind == 0 || !okStatus || status == 0 || !okOp || !okWhy || st.Ref == "" || st.Amount <= 0 || st.USDCents < 0 {
		return nil, errBadValue
	}
	return &momoTx{
		kind: kind, operator: op, status: status, outcome: why, transref: st.Ref,
		msisdn: st.MSISDN, amount: st.Amount, usdCents: st.USDCents, service: st.Service,
	}, nil
}

func (b *issuerBooks) restore(si savedIssuer) error {
	for _, v := range []int64{si.InitialFloat, si.Float, si.Deposits, si.SweptIn, si.Spent} {
		if v < 0 {
			return fmt.Errorf("%w: negative issuer totals", ErrStateFile)
		}
	}
	b.initialFloat = si.InitialFloat
	b.float.Store(si.Float)
	b.deposits.Store(si.Deposits)
	b.sweptIn.Store(si.SweptIn)
	b.spent.Store(si.Spent)
	b.seq.Store(si.CardSeq)
	// In creation order, so that a card_reference names its latest card.
	sort.Slice(si.Cards, func(i, j int) bool { return si.Cards[i].Seq < si.Cards[j].Seq })
	for _, sc := range si.Cards {
		c, err := sc.load()
		if err != nil {
			return fmt.Errorf("%w: card %q: %w", ErrStateFile, sc.ID, err)
		}
		if b.cardByID(c.id) != nil {
			return fmt.Errorf("%w: card %q repeated", ErrStateFile, sc.ID)
		}
		b.insert(c)
	}
	for _, so := range si.Operations {
		if so.Reference == "" || !contains(issuerOps, so.Operation) {
			return fmt.Errorf("%w: issuer operation %q: %w", ErrStateFile, so.Reference, errBadValue)
		}
		sh := &b.ops[shardIndex(so.Reference)]
		if _, dup := sh.m[so.Reference]; dup {
			return fmt.Errorf("%w: issuer reference %q repeated", ErrStateFile, so.Reference)
		}
		sh.m[so.Reference] = &issuerOp{
			reference: so.Reference, operation: so.Operation, ok: so.OK, httpStatus: so.HTTPStatus, message: so.Message,
			cardID: so.CardID, cardRef: so.CardRef, amount: so.Amount,
		}
	}
	return nil
}

func (sc savedCard) load() (*card, error) {
	// The card object masks the PAN from its first 6 and last 4 digits.
	if sc.ID == "" || len(sc.PAN) < 10 || sc.Balance < 0 || !contains(cardStatuses, sc.Status) {
		return nil, errBadValue
	}
	c := &card{
		seq: sc.Seq, id: sc.ID, ref: sc.Ref, reference: sc.Reference, pan: sc.PAN, cvv: sc.CVV, expiration: sc.Expiration,
		name: sc.Name, createdAt: sc.CreatedAt, balance: sc.Balance, status: sc.Status, txns: make([]cardTxn, len(sc.Transactions)),
	}
	for i, t := range sc.Transactions {
		c.txns[i] = cardTxn{id: t.ID, amount: t.Amount, reference: t.Reference, narration: t.Narration, credit: t.Credit, typ: t.Type, ok: t.OK, at: t.At}
	}
	return c, nil
}

func (l *messageLog) restore(ms []savedMessage) {
	l.items = make([]Message, len(ms))
	for i, m := range ms {
		l.items[i] = Message{To: m.To, Title: m.Title, Body: m.Body, At: m.At, ref: m.Ref, id: m.ID}
	}
	l.reindex()
}

// resumeScheduled schedules again what a restored world left in flight:
// MTN approvals and settlements.
func (s *Sim) resumeScheduled() {
	for _, a := range s.momo.accounts {
		var pending []momoTx
		for i := range a.txs {
			sh := &a.txs[i]
			sh.mu.Lock()
			for _, t := range sh.m {
				if t.status == statusPending {
					pending = append(pending, *t)
				}
			}
			sh.mu.Unlock()
		}
		for _, tx := range pending {
			s.schedule(a, tx)
		}
	}
}

// readStateFile reads and decodes a state file; found is false when there
// is none.
func readStateFile(path string) (w *savedWorld, found bool, err error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sim: read the state file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	w = &savedWorld{}
	if err := dec.Decode(w); err != nil {
		return nil, false, fmt.Errorf("%w: %s: %w", ErrStateFile, path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false, fmt.Errorf("%w: %s: data after the world", ErrStateFile, path)
	}
	return w, true, nil
}

// writeStateFile replaces the state file atomically: it writes a temporary
// file beside it, syncs it, renames it over the old one and syncs the
// directory, so that a crash leaves the old world or the new, never half.
func writeStateFile(path string, w *savedWorld) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sim: state file directory: %w", err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp") // mode 0600: the file holds PANs
	if err != nil {
		return fmt.Errorf("sim: create the state file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	buf := bufio.NewWriterSize(f, 1<<20)
	if err := json.NewEncoder(buf).Encode(w); err != nil {
		return fmt.Errorf("sim: encode the state: %w", err)
	}
	if err := buf.Flush(); err != nil {
		return fmt.Errorf("sim: write the state file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sim: sync the state file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sim: close the state file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("sim: replace the state file: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sim: open the state directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sim: sync the state directory: %w", err)
	}
	return nil
}

// stateStore keeps Config.StateFile up to date: a goroutine saves the
// world when it changed, at most every saveInterval, and stop saves it a
// last time.
type stateStore struct {
	s     *Sim
	mu    sync.Mutex // one save at a time, so that an older world never replaces a newer
	saved uint64     // the change count the file holds
	quit  chan struct{}
	done  chan struct{}
}

func startStore(s *Sim) *stateStore {
	st := &stateStore{s: s, saved: s.changes.Load(), quit: make(chan struct{}), done: make(chan struct{})}
	go st.loop()
	return st
}

func (st *stateStore) loop() {
	defer close(st.done)
	timer := time.NewTimer(saveInterval)
	defer timer.Stop()
	for {
		select {
		case <-st.quit:
			return
		case <-timer.C:
		}
		began := time.Now()
		if err := st.save(); err != nil {
			st.s.cfg.Logger.Error("sim: world not saved; retrying", "file", st.s.cfg.StateFile, "err", err)
		}
		timer.Reset(max(saveInterval, saveDutyFactor*time.Since(began)))
	}
}

// save writes the world if it changed since the last save. Request
// handlers wait only while the snapshot copies the books, never for the
// encoding or the disk.
func (st *stateStore) save() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	// Read before the snapshot: a change counted after it is saved now or
	// next time, never skipped.
	changes := st.s.changes.Load()
	if changes == st.saved {
		return nil
	}
	if err := writeStateFile(st.s.cfg.StateFile, st.s.snapshot()); err != nil {
		return err
	}
	st.saved = changes
	return nil
}

// stop ends the saving loop and saves the world a last time.
func (st *stateStore) stop() error {
	close(st.quit)
	<-st.done
	return st.save()
}
