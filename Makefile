# Pulse — the two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
GO ?= go
BIN := bin
BINARIES := pulse pulse-api pulse-worker pulse-scheduler pulse-ingestor
# The tests talk to real services; scripts/services.sh starts (or installs) them.
SERVICES := mariadb redis mosquitto
TEST_TIMEOUT ?= 14m

.PHONY: all build run test test-go bench generate wire mocks services fmt vet clean

all: build

build: ## static binaries in ./bin
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/pulse ./cmd/pulse
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/pulse-api ./cmd/api
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/pulse-worker ./cmd/worker
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/pulse-scheduler ./cmd/scheduler
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/pulse-ingestor ./cmd/ingestor

run: build ## every role in one process on embedded defaults (SQLite, embedded queue)
	./$(BIN)/pulse serve

services:
	@scripts/services.sh $(SERVICES)

vet:
	$(GO) vet ./...

test: services vet ## everything CI runs
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

bench: services build ## throughput figures (see README, "Benchmarks")
	$(GO) run ./cmd/pulse-bench

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
