//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/accounts"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/rollupjob"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

func initServe(ctx context.Context, cfg *config.Config, role wiring.Role) (*app.App, func(), error) {
	wire.Build(wiring.ServeSet)
	return nil, nil, nil
}

func initTenancy(ctx context.Context, cfg *config.Config, role wiring.Role) (*tenancy.Service, func(), error) {
	wire.Build(wiring.ProvideClock, wiring.ProvideLogger, wiring.StoreSet, wiring.ProvideRedis, wiring.ProvideBrokerAccounts, wiring.ProvideTenancy)
	return nil, nil, nil
}

func initAccounts(ctx context.Context, cfg *config.Config, role wiring.Role) (*accounts.Service, func(), error) {
	wire.Build(wiring.ProvideClock, wiring.ProvideLogger, wiring.StoreSet, wiring.ProvideAccounts)
	return nil, nil, nil
}

func initStore(ctx context.Context, cfg *config.Config, role wiring.Role) (*sqldb.DB, func(), error) {
	wire.Build(wiring.ProvideClock, wiring.ProvideLogger, wiring.ProvideDB)
	return nil, nil, nil
}

func initRollupJob(ctx context.Context, cfg *config.Config, role wiring.Role) (*rollupjob.Service, func(), error) {
	wire.Build(wiring.ProvideClock, wiring.ProvideLogger, wiring.StoreSet, wiring.ProvideRegistry, wiring.ProvideRollupJob)
	return nil, nil, nil
}

func initRetention(ctx context.Context, cfg *config.Config, role wiring.Role) (wiring.RetentionJob, func(), error) {
	wire.Build(wiring.ProvideClock, wiring.ProvideLogger, wiring.StoreSet, wiring.ProvideRetention, wire.Struct(new(wiring.RetentionJob), "*"))
	return wiring.RetentionJob{}, nil, nil
}

func initAlerting(ctx context.Context, cfg *config.Config, role wiring.Role) (*alerting.Service, func(), error) {
	wire.Build(wiring.ProvideClock, wiring.ProvideLogger, wiring.StoreSet, wiring.ProvideAlerting)
	return nil, nil, nil
}
