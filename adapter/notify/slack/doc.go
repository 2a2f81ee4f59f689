// Package slack renders alert notifications as Slack incoming-webhook
// bodies: a Block Kit message with a plain-text fallback, and the digest
// that folds what exceeded a channel's budget into one message.
//
// Everything here is pure: the caller posts the bytes. Slack refuses a
// whole message when one block breaks a limit, so every text is cut to
// fit (rune-safe, ending in "…") rather than trusted to be short, and
// user text is escaped so a rule name or a label cannot become a link or
// a mention.
package slack
