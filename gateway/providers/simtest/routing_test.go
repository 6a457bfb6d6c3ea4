package simtest

import (
	"context"
	"testing"
	"time"

	"kash/bench/sim"
	"kash/engine"
	"kash/gateway/providers"
	"kash/gateway/providers/qosic"
	"kash/gateway/providers/routing"
)

// TestRoutingFailsOverToTheSecondAccount: the first Qosic account is down
// (nothing listens where it points); after the breaker opens, new payments
// go to the second account, served by the simulator, and succeed there.
func TestRoutingFailsOverToTheSecondAccount(t *testing.T) {
	e := startSim(t, sim.Config{})
	acc := sim.DefaultQosicAccounts()[0]
	down, err := qosic.New(qosic.Config{
		Name: acc.Name, BaseURL: "http://127.0.0.1:1", Login: acc.User, Password: providers.Secret(acc.Password),
		MTNClientID: acc.MTNClientID, MoovClientID: acc.MoovClientID, Timeout: time.Second,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	up := e.qosicAdapter(t, 1, 5*time.Second)
	r, err := routing.New(routing.Config{FailureThreshold: 2, Cooldown: time.Hour},
		map[engine.Operator][]engine.MomoProvider{engine.OperatorMoov: {down, up}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2 {
		p, err := r.Pick(engine.OperatorMoov)
		if err != nil || p.Name() != "qosic" {
			t.Fatalf("pick %d: %v, %v", i, p, err)
		}
		if res, _ := p.Collect(ctx, pay("c-route-"+string(rune('a'+i)), "+22960000021", engine.OperatorMoov, 1000)); res.Outcome != engine.OutcomeUnknown {
			t.Fatalf("down account answered %+v", res)
		}
	}
	p, err := r.Pick(engine.OperatorMoov)
	if err != nil || p.Name() != "qosic2" {
		t.Fatalf("after the breaker opened: %v, %v", p, err)
	}
	if res, err := p.Collect(ctx, pay("c-route-ok", "+22960000021", engine.OperatorMoov, 1000)); err != nil || res.Outcome != engine.OutcomeSucceeded {
		t.Fatalf("collect on qosic2: %+v, %v", res, err)
	}
	if got := e.collected(t, "qosic2"); got != "1000" {
		t.Fatalf("qosic2 collection = %s", got)
	}
}
