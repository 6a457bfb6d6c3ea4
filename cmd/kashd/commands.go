package main

import (
	"context"
	"fmt"
	"sync/atomic"

	"kash/actors"
	"kash/engine"
	"kash/gateway"
)

// engineCommands gives the gateway the actor engine once recovery is done;
// until then every command answers "busy" and Ready is false, so /readyz
// tells load balancers to wait while /healthz already answers.
type engineCommands struct {
	eng atomic.Pointer[actors.Engine]
}

var _ gateway.Commands = (*engineCommands)(nil)

func (c *engineCommands) engine() (*actors.Engine, error) {
	e := c.eng.Load()
	if e == nil {
		return nil, fmt.Errorf("%w: recovering", engine.ErrBusy)
	}
	return e, nil
}

func (c *engineCommands) Ready() bool {
	e := c.eng.Load()
	return e != nil && e.Ready()
}

func (c *engineCommands) IssueCard(ctx context.Context, cmd gateway.IssueCard) (engine.CardRecord, engine.FundingRecord, error) {
	e, err := c.engine()
	if err != nil {
		return engine.CardRecord{}, engine.FundingRecord{}, err
	}
	return e.IssueCard(ctx, cmd)
}

func (c *engineCommands) FundCard(ctx context.Context, cmd gateway.FundCard) (engine.FundingRecord, error) {
	e, err := c.engine()
	if err != nil {
		return engine.FundingRecord{}, err
	}
	return e.FundCard(ctx, cmd)
}

func (c *engineCommands) Withdraw(ctx context.Context, cmd gateway.Withdraw) (engine.WithdrawalRecord, error) {
	e, err := c.engine()
	if err != nil {
		return engine.WithdrawalRecord{}, err
	}
	return e.Withdraw(ctx, cmd)
}

func (c *engineCommands) Freeze(ctx context.Context, userID, cardID string) (engine.CardRecord, error) {
	e, err := c.engine()
	if err != nil {
		return engine.CardRecord{}, err
	}
	return e.Freeze(ctx, userID, cardID)
}

func (c *engineCommands) Unfreeze(ctx context.Context, userID, cardID string) (engine.CardRecord, error) {
	e, err := c.engine()
	if err != nil {
		return engine.CardRecord{}, err
	}
	return e.Unfreeze(ctx, userID, cardID)
}

func (c *engineCommands) Terminate(ctx context.Context, cmd gateway.Terminate) (engine.CardRecord, error) {
	e, err := c.engine()
	if err != nil {
		return engine.CardRecord{}, err
	}
	return e.Terminate(ctx, cmd)
}

func (c *engineCommands) SensitiveCard(ctx context.Context, userID, cardID string) (engine.SensitiveCard, error) {
	e, err := c.engine()
	if err != nil {
		return engine.SensitiveCard{}, err
	}
	return e.SensitiveCard(ctx, userID, cardID)
}

func (c *engineCommands) StartSweep(ctx context.Context, sweepID, provider string, amount engine.Money) (engine.SweepRecord, error) {
	e, err := c.engine()
	if err != nil {
		return engine.SweepRecord{}, err
	}
	return e.StartSweep(ctx, sweepID, provider, amount)
}

func (c *engineCommands) PaymentUpdate(ctx context.Context, cardID, ref string, result engine.Result) error {
	e, err := c.engine()
	if err != nil {
		return err
	}
	return e.PaymentUpdate(ctx, cardID, ref, result)
}

func (c *engineCommands) CardEvent(ctx context.Context, ev gateway.CardEvent) error {
	e, err := c.engine()
	if err != nil {
		return err
	}
	return e.CardEvent(ctx, ev)
}

func (c *engineCommands) FloatCredited(ctx context.Context, eventID string, amount engine.Money) error {
	e, err := c.engine()
	if err != nil {
		return err
	}
	return e.FloatCredited(ctx, eventID, amount)
}
