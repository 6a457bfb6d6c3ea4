package metrics

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// A provider whose last pending payment settled drops to 0 at the next
// snapshot instead of showing its old count forever.
func TestReplacePendingEmptiesProvidersMissingFromTheSnapshot(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := New(WithClock(clock))
	now := clock.Now()
	bucket := func(provider string, b AgeBucket) float64 {
		t.Helper()
		return labelled(t, m.Providers.pending, map[string]string{"provider": provider, "age_bucket": string(b)})
	}
	snapshot := map[string][]time.Time{"mtn-bj": {now}, "moov-bj": {now.Add(-25 * time.Hour)}}
	m.Providers.ReplacePending(snapshot)
	snapshot["mtn-bj"][0] = now.Add(-2 * time.Hour) // the registry keeps its own copy
	if got := bucket("mtn-bj", AgeUnder5m); got != 1 {
		t.Errorf("mtn-bj under 5m = %v, want 1", got)
	}
	m.Providers.ReplacePending(map[string][]time.Time{"moov-bj": {now.Add(-25 * time.Hour)}})
	if got := bucket("mtn-bj", AgeUnder5m); got != 0 {
		t.Errorf("mtn-bj under 5m = %v after its payment settled, want 0", got)
	}
	if got := bucket("moov-bj", AgeOver24h); got != 1 {
		t.Errorf("moov-bj over 24h = %v, want 1", got)
	}
}

func TestChannelOfNamesTheOpsChatAsTheDashboardDoes(t *testing.T) {
	for table, want := range map[string]Channel{"sms": ChannelSMS, "push": ChannelPush, "ops": ChannelOpsChat} {
		if got := ChannelOf(table); got != want {
			t.Errorf("ChannelOf(%q) = %q, want %q", table, got, want)
		}
	}
}

func TestTrackInFlightCountsRequestsWhileTheyAreHandled(t *testing.T) {
	m := New()
	var during float64
	h := m.HTTP.TrackInFlight(func(*fasthttp.RequestCtx) { during = value(t, m.HTTP.inFlight) })
	h(&fasthttp.RequestCtx{})
	if during != 1 {
		t.Errorf("in flight while handling = %v, want 1", during)
	}
	if after := value(t, m.HTTP.inFlight); after != 0 {
		t.Errorf("in flight after the request = %v, want 0", after)
	}
}
