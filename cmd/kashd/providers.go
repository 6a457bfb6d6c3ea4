package main

import (
	"fmt"
	"time"

	"kash/actors"
	"kash/bench/sim"
	"kash/engine"
	"kash/gateway/providers"
	"kash/gateway/providers/flutterwave"
	"kash/gateway/providers/messagebird"
	"kash/gateway/providers/onesignal"
	"kash/gateway/providers/qosic"
	"kash/gateway/providers/routing"
	"kash/gateway/providers/slack"
	"kash/metrics"
)

// outside is every provider adapter kashd talks to.
type outside struct {
	momo      map[string]engine.MomoProvider
	issuer    engine.CardIssuer
	sms       engine.Notifier
	notifiers map[string]engine.Notifier // outbox channels: push, ops, sms
	router    actors.Router
}

// connectProviders builds the real adapters against baseURL (the provider
// simulator in development) with the credentials of simCfg, which reads
// them from the environment (KASH_SIM_*), so an external simulator and
// kashd agree. Every adapter reports to the metrics registry.
func connectProviders(baseURL string, simCfg sim.Config, m *metrics.Metrics) (*outside, error) {
	rec := providers.MetricsOn(m.Providers)
	o := &outside{momo: map[string]engine.MomoProvider{}, notifiers: map[string]engine.Notifier{}}
	var accounts []engine.MomoProvider
	for _, acc := range simCfg.Qosic {
		a, err := qosic.New(qosic.Config{Name: acc.Name, BaseURL: baseURL, Login: acc.User,
			Password: providers.Secret(acc.Password), MTNClientID: acc.MTNClientID, MoovClientID: acc.MoovClientID}, rec)
		if err != nil {
			return nil, fmt.Errorf("qosic account %s: %w", acc.Name, err)
		}
		o.momo[acc.Name] = a
		accounts = append(accounts, a)
		m.Providers.Declare(acc.Name, "collect", "payout", "status", "settlement")
	}
	router, err := routing.New(routing.Config{Metrics: rec}, map[engine.Operator][]engine.MomoProvider{
		engine.OperatorMTN: accounts, engine.OperatorMoov: accounts})
	if err != nil {
		return nil, fmt.Errorf("routing: %w", err)
	}
	o.router = routerAdapter{pick: router.Pick, record: router.Record}

	issuer, err := flutterwave.New(flutterwave.Config{BaseURL: baseURL,
		SecretKey: providers.Secret(simCfg.Flutterwave.SecretKey), VerifHash: providers.Secret(simCfg.Flutterwave.VerifHash),
		Timeout: 10 * time.Second}, rec)
	if err != nil {
		return nil, fmt.Errorf("flutterwave: %w", err)
	}
	o.issuer = issuer
	m.Providers.Declare("flutterwave", "create", "fund", "withdraw", "block", "unblock", "terminate", "status", "card", "balance")

	sms, err := messagebird.New(messagebird.Config{BaseURL: baseURL, AccessKey: providers.Secret(simCfg.MessageBird.AccessKey)}, rec)
	if err != nil {
		return nil, fmt.Errorf("messagebird: %w", err)
	}
	push, err := onesignal.New(onesignal.Config{BaseURL: baseURL, AppID: simCfg.OneSignal.AppID,
		RESTAPIKey: providers.Secret(simCfg.OneSignal.RESTKey)}, rec)
	if err != nil {
		return nil, fmt.Errorf("onesignal: %w", err)
	}
	ops, err := slack.New(slack.Config{WebhookURL: providers.Secret(baseURL + simCfg.SlackPath)}, rec)
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	o.sms = sms
	o.notifiers["sms"], o.notifiers["push"], o.notifiers["ops"] = sms, push, ops
	return o, nil
}
