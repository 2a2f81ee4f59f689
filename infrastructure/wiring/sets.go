package wiring

import "github.com/google/wire"

// CoreSet is logging, storage, queue, telemetry and the use cases.
var CoreSet = wire.NewSet(ProvideClock, CoreNoClockSet)

// CoreNoClockSet is CoreSet for injectors that are given their clock (tests).
var CoreNoClockSet = wire.NewSet(ProvideLogger, ProvideStore, ProvideRedis, ProvideQueue, ProvideRegistry,
	ProvideTenancy, ProvideRateLimiter, ProvideIdempotency, ProvideIngest, ProvideQuery)

// ServeSet assembles `pulse serve` (every role in one process).
var ServeSet = wire.NewSet(CoreSet, ProvideAPIHandler, ProvideWorkers, NewServeApp)

// APISet assembles `pulse-api`.
var APISet = wire.NewSet(CoreSet, ProvideAPIHandler, NewAPIApp)

// WorkerSet assembles `pulse-worker`.
var WorkerSet = wire.NewSet(CoreSet, ProvideOpsHandler, ProvideWorkers, NewOpsApp)

// IdleRoleSet assembles the scheduler and ingestor until their issues land:
// they connect, answer the ops endpoints and stop cleanly.
var IdleRoleSet = wire.NewSet(CoreSet, ProvideOpsHandler, NoWorkers, NewOpsApp)
