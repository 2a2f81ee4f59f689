package broker

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a connection, publish or subscription is refused (metric labels).
const (
	reasonBadClientID   = "bad_client_id"
	reasonBadUsername   = "bad_username"
	reasonUserMismatch  = "username_mismatch"
	reasonBadToken      = "bad_token"
	reasonForbidden     = "forbidden" // neither ingest nor read
	reasonTenantOff     = "tenant_disabled"
	reasonRevoked       = "revoked" // a live session's token is now unknown or revoked
	reasonNoTenant      = "no_tenant"
	reasonAuthError     = "auth_error"
	reasonWillTopic     = "will_topic"
	reasonACL           = "acl"
	reasonNoIngest      = "no_ingest_scope" // publishing needs ingest
	reasonNoRead        = "no_read_scope"   // subscribing needs read
	reasonQuota         = "quota"
	reasonPacketTooLong = "packet_too_large"
)

// metrics counts refusals. A nil *metrics counts nothing.
type metrics struct {
	connRefused *prometheus.CounterVec
	pubRefused  *prometheus.CounterVec
	subRefused  *prometheus.CounterVec
	dropped     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		connRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_mqtt_connections_refused_total",
			Help: "MQTT connections refused by the embedded broker, by reason.",
		}, []string{"reason"}),
		pubRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_mqtt_publishes_refused_total",
			Help: "MQTT publishes dropped by the embedded broker, by reason (acl, no_ingest_scope, quota, packet_too_large).",
		}, []string{"reason"}),
		subRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_mqtt_subscriptions_refused_total",
			Help: "MQTT subscriptions (or deliveries) refused by the embedded broker, by reason (acl, no_read_scope).",
		}, []string{"reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_mqtt_sessions_dropped_total",
			Help: "Live MQTT sessions the embedded broker closed because their token was revoked (revoked) or its tenant disabled (tenant_disabled, forbidden).",
		}, []string{"reason"}),
	}
	var err error
	if m.connRefused, err = register(reg, m.connRefused); err != nil {
		return nil, err
	}
	if m.pubRefused, err = register(reg, m.pubRefused); err != nil {
		return nil, err
	}
	if m.subRefused, err = register(reg, m.subRefused); err != nil {
		return nil, err
	}
	if m.dropped, err = register(reg, m.dropped); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// the same description (a second broker on the same registry shares it).
func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("register mqtt broker metrics: %w", err)
	}
	return c, nil
}

func (m *metrics) connectionRefused(reason string) {
	if m != nil {
		m.connRefused.WithLabelValues(reason).Inc()
	}
}

func (m *metrics) publishRefused(reason string) {
	if m != nil {
		m.pubRefused.WithLabelValues(reason).Inc()
	}
}

func (m *metrics) subscriptionRefused(reason string) {
	if m != nil {
		m.subRefused.WithLabelValues(reason).Inc()
	}
}

func (m *metrics) sessionDropped(reason string) {
	if m != nil {
		m.dropped.WithLabelValues(reason).Inc()
	}
}
