package wiring

import "github.com/google/wire"

// CoreSet is logging, storage, queue, telemetry and the use cases.
var CoreSet = wire.NewSet(ProvideClock, CoreNoClockSet)

// CoreNoClockSet is CoreSet for injectors that are given their clock (tests).
var CoreNoClockSet = wire.NewSet(ProvideLogger, ProvideBrokerAccounts, ProvideStore, ProvideRedis, ProvideQueue, ProvideRegistry,
	ProvideTenancy, ProvideRateLimiter, ProvideIdempotency, ProvideIngest, ProvideQuery)

// ServeSet assembles `pulse serve` (every role in one process).
var ServeSet = wire.NewSet(CoreSet, ProvideAPIHandler, ProvideWorkers, ProvideMQTTDoor, MQTTChecks, NewServeApp)

// APISet assembles `pulse-api`.
var APISet = wire.NewSet(CoreSet, ProvideAPIHandler, NoExtraChecks, NewAPIApp)

// WorkerSet assembles `pulse-worker`.
var WorkerSet = wire.NewSet(CoreSet, ProvideOpsHandler, NoExtraChecks, ProvideWorkers, NewOpsApp)

// IngestorSet assembles `pulse-ingestor`: the MQTT door (a subscriber to
// PULSE_MQTT_URL, or an embedded broker when it is unset).
var IngestorSet = wire.NewSet(CoreSet, ProvideOpsHandler, ProvideMQTTDoor, MQTTChecks, IngestorLoops, NewOpsApp)

// IdleRoleSet assembles the scheduler until its issue lands: it connects,
// answers the ops endpoints and stops cleanly.
var IdleRoleSet = wire.NewSet(CoreSet, ProvideOpsHandler, NoExtraChecks, NoWorkers, NewOpsApp)
