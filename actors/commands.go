package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"kash/engine"
)

// The command API of the engine, for the gateway. Every command is
// idempotent by the operation id it carries and returns once the change it
// made is durable.

// IssueCard creates a card and starts its issuance funding.
func (e *Engine) IssueCard(ctx context.Context, cmd IssueCard) (engine.CardRecord, engine.FundingRecord, error) {
	r, err := e.request(ctx, cmd.CardID, &cmd)
	return r.card, r.funding, err
}

// FundCard starts a funding of an active or frozen card.
func (e *Engine) FundCard(ctx context.Context, cmd FundCard) (engine.FundingRecord, error) {
	r, err := e.request(ctx, cmd.CardID, &cmd)
	return r.funding, err
}

// Withdraw starts a withdrawal from a card to a wallet.
func (e *Engine) Withdraw(ctx context.Context, cmd Withdraw) (engine.WithdrawalRecord, error) {
	r, err := e.request(ctx, cmd.CardID, &cmd)
	return r.withdrawal, err
}

// Freeze blocks the card at the issuer, then records it.
func (e *Engine) Freeze(ctx context.Context, userID, cardID string) (engine.CardRecord, error) {
	r, err := e.request(ctx, cardID, &freezeCard{userID: userID, freeze: true})
	return r.card, err
}

// Unfreeze unblocks the card at the issuer, then records it.
func (e *Engine) Unfreeze(ctx context.Context, userID, cardID string) (engine.CardRecord, error) {
	r, err := e.request(ctx, cardID, &freezeCard{userID: userID, freeze: false})
	return r.card, err
}

// Terminate empties the card to a wallet and closes it at the issuer.
func (e *Engine) Terminate(ctx context.Context, cmd Terminate) (engine.CardRecord, error) {
	r, err := e.request(ctx, cmd.CardID, &cmd)
	return r.card, err
}

// SensitiveCard reads the card's PAN and CVV live from the issuer.
func (e *Engine) SensitiveCard(ctx context.Context, userID, cardID string) (engine.SensitiveCard, error) {
	r, err := e.request(ctx, cardID, &sensitiveRequest{userID: userID})
	return r.sensitive, err
}

// ResumeFunding makes the card drive a funding's next step again, as
// recovery does: for ops (a stuck funding), and for the bench's settle
// scenario, which seeds paid fundings and resumes them.
func (e *Engine) ResumeFunding(ctx context.Context, cardID, fundingID string) error {
	_, err := e.request(ctx, cardID, &resumeFunding{fundingID: fundingID})
	return err
}

// PaymentUpdate applies a provider's status for a payment reference (from a
// webhook). The card that owns the reference is found from the reference.
func (e *Engine) PaymentUpdate(ctx context.Context, cardID, ref string, result engine.Result) error {
	if cardID == "" {
		return fmt.Errorf("payment %s: %w", ref, engine.ErrNotFound)
	}
	e.d.registry.Send(cardID, &paymentResult{ref: ref, result: result})
	return nil
}

// CardEvent mirrors a spend or decline from the issuer.
func (e *Engine) CardEvent(ctx context.Context, ev CardEvent) error {
	_, err := e.request(ctx, ev.CardID, &ev)
	return err
}

// FloatCredited records float added at the issuer and drains the queue.
func (e *Engine) FloatCredited(ctx context.Context, eventID string, amount engine.Money) error {
	if amount.Currency != engine.USD || amount.Minor <= 0 {
		return fmt.Errorf("float credit %s: %w", eventID, engine.ErrInvalidAmount)
	}
	res, err := e.ask(ctx, e.d.treasury, &floatCredited{eventID: eventID, amount: amount.Minor})
	if err != nil {
		return err
	}
	return res.(commandReply).err
}

// Treasury returns the treasury's current state.
func (e *Engine) Treasury(ctx context.Context) (TreasuryView, error) {
	res, err := e.ask(ctx, e.d.treasury, treasuryViewQuery{})
	if err != nil {
		return TreasuryView{}, err
	}
	return res.(TreasuryView), nil
}

func (e *Engine) request(ctx context.Context, cardID string, msg any) (commandReply, error) {
	if !e.Ready() {
		return commandReply{}, fmt.Errorf("%w: engine not ready", engine.ErrBusy)
	}
	f := e.d.registry.Request(cardID, msg, e.timeout(ctx))
	res, err := e.wait(ctx, f)
	if err != nil {
		return commandReply{}, err
	}
	r, ok := res.(commandReply)
	if !ok {
		return commandReply{}, fmt.Errorf("card %s: unexpected answer %T", cardID, res)
	}
	return r, r.err
}

func (e *Engine) ask(ctx context.Context, pid *actor.PID, msg any) (any, error) {
	return e.wait(ctx, e.d.system.Root.RequestFuture(pid, msg, e.timeout(ctx)))
}

// wait waits for a future; a timeout does not mean the work was not done,
// so the caller repeats the command with the same id to learn its result.
func (e *Engine) wait(ctx context.Context, f *actor.Future) (any, error) {
	res, err := f.Result()
	if errors.Is(err, actor.ErrTimeout) {
		return nil, fmt.Errorf("%w: command timed out (it may still complete; retry with the same id)", engine.ErrBusy)
	}
	if err != nil {
		return nil, fmt.Errorf("command: %w", err)
	}
	return res, ctx.Err()
}

func (e *Engine) timeout(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d > 0 && d < e.d.cfg.CommandTimeout {
			return d
		}
	}
	return e.d.cfg.CommandTimeout
}
