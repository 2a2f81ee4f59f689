// Package webhook is the webhook channel: the message a group of alerts
// becomes, its Standard Webhooks signature, and its delivery through the
// egress client with the answer classified for the retry logic.
//
// The message is Alertmanager's webhook payload (version "4"), so that a
// receiver written for Alertmanager — and there are many — works with
// Pulse unchanged; the one addition is each alert's "value". It is signed
// as Standard Webhooks (https://www.standardwebhooks.com): an HMAC-SHA256
// of "id.timestamp.body" under the channel's whsec_ secret, with an id
// that stays the same across the retries of one message, so a receiver can
// deduplicate.
package webhook
