package metric

import "time"

// Batch is the unit that travels through the queue: the accepted samples of
// one request (or of several MQTT messages) of one tenant.
type Batch struct {
	ID         string
	TenantID   int64
	AcceptedAt time.Time
	Samples    []Sample
}
