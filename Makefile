# Pulse — the two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
GO ?= go
BIN := bin
BINARIES := pulse pulse-api pulse-worker pulse-scheduler pulse-ingestor
# The tests talk to real services; scripts/services.sh starts (or installs) them.
SERVICES := mariadb redis mosquitto
TEST_TIMEOUT ?= 14m

.PHONY: all build run test test-go bench fuzz fuzz-smoke generate wire mocks services fmt vet clean

# Native Go fuzz targets (package:target). Each has a committed seed corpus in
# its package's testdata/fuzz; `make test` runs each briefly, `make fuzz` longer.
FUZZ_TARGETS := adapter/httpapi:FuzzIngest adapter/samplejson:FuzzParseTS domain/metric:FuzzNew \
	domain/token:FuzzParse adapter/batchcodec:FuzzDecode adapter/samplejson:FuzzCount \
	adapter/samplejson:FuzzFastDecode
FUZZ_SMOKE_TIME ?= 50000x
FUZZ_TIME ?= 2m

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

test: services vet fuzz-smoke ## everything CI runs (the fuzz pass first, so go test's summary closes the log)
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

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
