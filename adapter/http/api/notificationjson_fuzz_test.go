package api

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// FuzzChannelRoundTrip: any valid channel, shown as the API answers it and
// sent back as a request body (what the dashboard's edit form does), reads
// as the same channel: the answer's JSON loses nothing a client may set.
func FuzzChannelRoundTrip(f *testing.F) {
	f.Add("ops", uint8(0), "smtp.example.com", uint16(587), uint8(0), uint8(1), "pulse", "a@example.com", "b@example.com", "https://hooks.example.com/x", true, uint16(10), uint32(14400))
	f.Add("hook ✓", uint8(1), "", uint16(0), uint8(2), uint8(0), "", "", "", "https://example.com/a?b=c#d", false, uint16(0), uint32(60))
	f.Add("slack", uint8(2), "", uint16(0), uint8(1), uint8(0), "", "", "", "", true, uint16(3600), uint32(604800))
	f.Fuzz(func(t *testing.T, name string, kind uint8, host string, port uint16, security, auth uint8, user, to, from, url string,
		sendResolved bool, waitS uint16, repeatS uint32) {
		c := notify.Channel{ID: 7, TenantID: 3, Name: name, Kind: notify.Kinds[int(kind)%len(notify.Kinds)], SendResolved: sendResolved,
			GroupWait: time.Duration(waitS) * time.Second, RepeatInterval: time.Duration(repeatS) * time.Second, CreatedAt: 1, UpdatedAt: 2}
		switch c.Kind {
		case notify.KindEmail:
			c.Email = &notify.EmailSettings{Host: host, Port: int(port), Security: notify.Securities[int(security)%len(notify.Securities)],
				Auth: notify.Auths[int(auth)%len(notify.Auths)], Username: user, To: []string{to}, From: from}
		case notify.KindWebhook:
			c.Webhook = &notify.WebhookSettings{URL: url}
		case notify.KindSlack:
			c.Slack = &notify.SlackSettings{}
		}
		c = c.Normalize()
		if c.Validate() != nil {
			return // only valid channels are stored and shown
		}
		shown, err := json.Marshal(channelAnswerOf(notification.ChannelView{Channel: c}, ""))
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back channelAnswer
		if err := json.Unmarshal(shown, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", shown, err)
		}
		req := newChannelRequest()
		req.channelBody = back.channelBody
		in, bad := req.toInput()
		if len(bad) > 0 {
			t.Fatalf("the answer %s reads back with errors %v", shown, bad)
		}
		got := in.Channel.Normalize()
		got.ID, got.TenantID, got.CreatedAt, got.UpdatedAt = c.ID, c.TenantID, c.CreatedAt, c.UpdatedAt
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip of %s:\n got  %+v\n want %+v", shown, got, c)
		}
	})
}
