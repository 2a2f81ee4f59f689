# Pulse — the two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
GO ?= go
BIN := bin
BINARIES := pulse pulse-api pulse-worker pulse-scheduler pulse-ingestor pulse-agent
# The tests talk to real services; scripts/services.sh starts (or installs) them.
SERVICES := mariadb redis mosquitto
TEST_TIMEOUT ?= 14m

.PHONY: all build run dev dev-ui down compose-test test test-go frontend frontend-test e2e bench fuzz fuzz-smoke generate wire mocks services fmt vet clean chaos up-native down-native native-smoke native-test

# Native Go fuzz targets (package:target). Each has a committed seed corpus in
# its package's testdata/fuzz; `make test` runs each briefly, `make fuzz` longer.
FUZZ_TARGETS := adapter/http/api:FuzzIngest adapter/samplejson:FuzzParseTS domain/metric:FuzzNew \
	domain/token:FuzzParse adapter/queue/batchcodec:FuzzDecode adapter/samplejson:FuzzCount \
	adapter/samplejson:FuzzFastDecode adapter/queue/batchcodec:FuzzRoundTrip adapter/samplejson:FuzzSampleFields \
	domain/alert:FuzzRender domain/alert:FuzzInstanceKey adapter/notify/slack:FuzzMessage adapter/notify/egress:FuzzCheckURL \
	adapter/http/api:FuzzChannelRoundTrip adapter/export/csvexport:FuzzRoundTrip \
	adapter/http/api:FuzzStreamEventRoundTrip adapter/export/csvexport:FuzzEncoderRoundTrip \
	domain/synth:FuzzGenerate adapter/cli:FuzzEncoderRoundTrip
FUZZ_SMOKE_TIME ?= 50000x
FUZZ_TIME ?= 2m

all: build

build: frontend ## static binaries in ./bin (the dashboard embedded)
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/pulse ./cmd/pulse
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/pulse-api ./cmd/api
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/pulse-worker ./cmd/worker
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/pulse-scheduler ./cmd/scheduler
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/pulse-ingestor ./cmd/ingestor
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/pulse-agent ./cmd/agent

run: build ## every role in one process on embedded defaults (SQLite, embedded queue)
	@echo "First time? In another terminal: ./$(BIN)/pulse demo   (a tenant, a user, a dashboard and a week of data; see README, Try it)"
	./$(BIN)/pulse serve

# The dashboard (frontend/): npm ci when the lock file changed, then vue-tsc + vite build
# into frontend/dist/app, which go:embed puts into the binaries.
frontend/node_modules/.package-lock.json: frontend/package-lock.json
	@scripts/frontend.sh node
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

frontend: frontend/node_modules/.package-lock.json ## build the dashboard into frontend/dist/app
	cd frontend && npm run build

frontend-test: frontend/node_modules/.package-lock.json ## Vitest and the OpenAPI types drift check
	cd frontend && npm test && npm run types:check

e2e: build ## Playwright BDD scenarios (frontend/e2e) in Debian's Chromium against bin/pulse
	@scripts/frontend.sh chromium
	cd frontend && PULSE_BIN=$(CURDIR)/$(BIN)/pulse npm run e2e

dev: build ## the compose stack (docker-compose.yml); returns when every service is healthy
	scripts/compose.sh up

down: ## stops the compose stack (make down VOLUMES=1 also drops its data) and the engine make dev started
	scripts/compose.sh down $(if $(VOLUMES),--volumes)

dev-ui: frontend/node_modules/.package-lock.json ## Vite with HMR beside the Go server (UI from http://localhost:5173)
	(cd frontend && npm run dev) & trap 'kill %1' EXIT; PULSE_UI_DEV_URL=http://localhost:5173 $(GO) run ./cmd/pulse serve

# The compose stack as a user runs it (features/compose): engine installed and started
# when missing, images built (offline from a local Debian base without a registry), every
# service healthy, round trip and worker kill through nginx, the Agent → UI scenario in
# the playwright service, and nothing left after down -v. The engine is stopped again
# when this target started it.
COMPOSE_TIMEOUT ?= 12m
compose-test: build
	@running=$$(docker info >/dev/null 2>&1 && echo 1); \
	scripts/docker-engine.sh engine && \
	$(GO) test -tags compose -count=1 -v -timeout $(COMPOSE_TIMEOUT) ./features/compose/; rc=$$?; \
	[ -n "$$running" ] || scripts/docker-engine.sh stop; exit $$rc

services:
	@scripts/services.sh $(SERVICES)

vet:
	$(GO) vet ./...

test: services vet fuzz-smoke frontend-test e2e ## everything CI runs (the fuzz pass first; the reliability suite last, about 3 minutes)
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory chaos
	$(MAKE) --no-print-directory native-test
	$(MAKE) --no-print-directory compose-test

fuzz-smoke:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$fn ($$pkg) for $(FUZZ_SMOKE_TIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZ_SMOKE_TIME) ./$$pkg >/tmp/pulse-fuzz.log 2>&1 || { cat /tmp/pulse-fuzz.log; exit 1; }; \
	done

fuzz: ## each fuzz target for FUZZ_TIME (default 2m)
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$fn ($$pkg) for $(FUZZ_TIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZ_TIME) ./$$pkg || exit 1; \
	done

# The reliability suite (features/chaos/README.md): real processes on private MariaDB
# and Redis instances it starts on free ports (never the machine's own services). It
# builds pulse, pulse-api and pulse-worker itself (go build, into a temp dir).
CHAOS_TIMEOUT ?= 20m
chaos: ## kill -9 / SIGSTOP of Redis and MariaDB under load, misconfigured roles
	$(GO) test -tags chaos -count=1 -v -timeout $(CHAOS_TIMEOUT) ./features/chaos/

# Flags of cmd/pulse-bench, e.g. make bench BENCH_FLAGS="-modes live".
BENCH_FLAGS ?=
bench: services build ## throughput figures (see README, "Benchmarks")
	$(GO) run ./cmd/pulse-bench $(BENCH_FLAGS)

generate: wire mocks

wire:
	cd infrastructure/wiring && $(GO) tool wire gen .
	cd cmd/pulse && $(GO) tool wire gen .
	for r in api worker scheduler ingestor; do (cd cmd/$$r && $(GO) tool wire gen .); done

mocks:
	$(GO) generate ./usecase/...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN)

# The compose topology as local processes for machines without Docker
# (scripts/up-native.sh): the machine's MariaDB and Redis (database pulse_native,
# keys pulse-native:*), a private Mosquitto and nginx, the roles and the agent;
# state in PULSE_NATIVE_DIR (/var/tmp/pulse-native), nginx on http://localhost:8089.
up-native: build ## the compose stack as plain local processes; returns when every one is ready
	scripts/up-native.sh up

down-native: ## stops what up-native started (make down-native PURGE=1 also drops its database)
	scripts/up-native.sh down $(if $(PURGE),--purge)

native-smoke: ## 100 samples through up-native's nginx and back, and the agent's CPU figures
	scripts/up-native.sh smoke

# up-native, its smoke check and down --purge, in make test (the stack is stopped
# whether or not the check passed).
native-test: build
	scripts/up-native.sh up && scripts/up-native.sh smoke; rc=$$?; scripts/up-native.sh down --purge; exit $$rc
