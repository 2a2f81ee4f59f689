package egress

import (
	"fmt"
	"net/netip"
)

// RefusedError is a URL or a destination the policy does not allow: the
// channel's URL is wrong, not the network. An HTTP adapter answers it with
// 422 when a channel is saved; a sender treats it as final (retrying will
// not make 10.0.0.1 public).
type RefusedError struct {
	// URL is the refused URL without its path, query and credentials: a
	// Slack or webhook URL's path is often its secret, and this error ends
	// up in logs and in the UI.
	URL    string
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("notification URL %s refused: %s", e.URL, e.Reason)
}

// dialRefusal is what the Control hook returns for a denied address. It
// travels up through net.OpError and url.Error; Do turns it into a
// RefusedError naming the URL.
type dialRefusal struct {
	addr   string     // the socket address that was about to be connected
	ip     netip.Addr // its IP, when the address itself was refused
	reason string
}

func (e *dialRefusal) Error() string { return "connection to " + e.addr + " refused: " + e.reason }
