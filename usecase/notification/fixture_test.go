package notification_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/adapter/notify/secretbox"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// fixture holds the mocked ports of one use case and a fixed clock.
type fixture struct {
	t        *testing.T
	store    *MockStore
	channels *MockChannels
	deliver  *MockDeliverer
	leases   *MockLeases
	sealer   *MockSealer
	obs      *observer
	now      time.Time
	svc      *notification.Service
}

// webhookSecret is what the fixture's NewWebhookSecret makes.
const webhookSecret = "whsec_0123456789abcdef"

// claimBatch is the fixture's Options.ClaimBatch.
const claimBatch = 64

// jitter is the fixture's Options.Jitter: 0.5 scales the backoff by 1.
const jitter = 0.5

func newFixture(t *testing.T) *fixture {
	ctrl := gomock.NewController(t)
	f := &fixture{t: t, store: NewMockStore(ctrl), channels: NewMockChannels(ctrl), deliver: NewMockDeliverer(ctrl),
		leases: NewMockLeases(ctrl), sealer: NewMockSealer(ctrl), obs: &observer{},
		now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	f.svc = notification.New(f.store, f.channels, f.sealer, f.leases, f.deliver, func() time.Time { return f.now },
		notification.Options{Holder: "test", ExternalURL: "https://pulse.example.com", ClaimBatch: claimBatch,
			NewWebhookSecret: func() (string, error) { return webhookSecret, nil },
			Observer:         f.obs, Mask: secretbox.Mask, Jitter: func() float64 { return jitter }})
	return f
}

func (f *fixture) nowMS() int64 { return f.now.UnixMilli() }

var (
	admin  = notification.Actor{TenantID: 7, Admin: true, Name: "ana"}
	viewer = notification.Actor{TenantID: 7, Name: "vic"}
)

// aad is the additional data a secret of tenant 7 is sealed with.
var aad = []byte("pulse/notification-channel/7")

// fakeSeal makes the Sealer seal p as "sealed:"+p, bound to tenant 7's
// aad; anything else does not open.
func (f *fixture) fakeSeal() {
	f.sealer.EXPECT().Seal(gomock.Any(), aad).DoAndReturn(func(p, _ []byte) (string, error) {
		return "sealed:" + string(p), nil
	}).AnyTimes()
	f.sealer.EXPECT().Open(gomock.Any(), aad).DoAndReturn(func(s string, _ []byte) ([]byte, error) {
		if p, ok := strings.CutPrefix(s, "sealed:"); ok {
			return []byte(p), nil
		}
		return nil, secretbox.ErrOpen
	}).AnyTimes()
}

// observer records the use case's metrics.
type observer struct {
	mu        sync.Mutex
	delivered []string // kind/result
	latency   []time.Duration
}

func (o *observer) Delivered(kind notify.Kind, result string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.delivered = append(o.delivered, string(kind)+"/"+result)
}

func (o *observer) Latency(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.latency = append(o.latency, d)
}

func (o *observer) Depth(notification.Depth) {}

func webhookChannel(id int64) notify.Channel {
	c := notify.Defaults()
	c.ID, c.TenantID, c.Name, c.Kind = id, 7, fmt.Sprint("hook ", id), notify.KindWebhook
	c.Webhook = &notify.WebhookSettings{URL: "https://hooks.example.com/pulse"}
	return c.Normalize()
}

func emailChannel(id int64) notify.Channel {
	c := notify.Defaults()
	c.ID, c.TenantID, c.Name, c.Kind = id, 7, fmt.Sprint("mail ", id), notify.KindEmail
	c.Email = &notify.EmailSettings{Host: "smtp.example.com", Port: 587, Username: "pulse", To: []string{"ops@example.com"},
		From: "pulse@example.com"}
	return c.Normalize()
}

// payload is an outbox row's payload naming channels.
func payload(rule int64, kind alert.Notify, host string, at time.Time, channels ...int64) []byte {
	b, err := json.Marshal(notification.Notification{RuleID: rule, TenantID: 7, Rule: fmt.Sprint("rule ", rule), Kind: kind,
		Instance: "host=" + host, Labels: map[string]string{"host": host}, At: at.UTC().Format(time.RFC3339Nano), Channels: channels})
	if err != nil {
		panic(err)
	}
	return b
}

var errDown = errors.New("connection refused")
