// Package secretbox keeps notification channels' secrets (an SMTP
// password, a webhook's signing secret, a Slack webhook URL) encrypted at
// rest, and out of logs and API answers.
//
// A Box seals with AES-256-GCM under PULSE_SECRET_KEY; each sealed value
// carries its version ("v1:") so the format can change without guessing,
// and is bound to its row by additional data, so a ciphertext copied to
// another channel or tenant does not open. A Secret is a string that
// prints, marshals and logs as its mask.
package secretbox
