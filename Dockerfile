# The Pulse image: every binary (the dashboard embedded); docker-compose.yml picks
# the role per service. Three stages: Node builds the dashboard, Go builds static
# binaries, a small Debian runs them as a non-root user. The bases are build
# arguments; without a registry, scripts/docker-engine.sh builds the same runtime
# image from a local Debian base and the binaries of `make build`
# (deploy/docker/runtime.Dockerfile), or this file with local stand-ins
# (`scripts/docker-engine.sh multistage`).
ARG GO_IMAGE=golang:1.26-bookworm
ARG NODE_IMAGE=node:20-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${NODE_IMAGE} AS dashboard
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
COPY api/ /src/api/
RUN npm run build

FROM ${GO_IMAGE} AS binaries
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=dashboard /src/frontend/dist/app/ frontend/dist/app/
RUN for b in pulse:cmd/pulse pulse-api:cmd/api pulse-worker:cmd/worker pulse-scheduler:cmd/scheduler \
      pulse-ingestor:cmd/ingestor pulse-agent:cmd/agent; do \
      CGO_ENABLED=0 go build -trimpath -o "/out/${b%%:*}" "./${b#*:}" || exit 1; \
    done

FROM ${RUNTIME_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates wget \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/pulse pulse \
 && mkdir -p /var/lib/pulse/bootstrap /var/lib/pulse/spool && chown -R pulse /var/lib/pulse
COPY --from=binaries /out/ /usr/local/bin/
USER pulse
WORKDIR /var/lib/pulse
ENV PULSE_DATA_DIR=/var/lib/pulse
EXPOSE 8080
CMD ["pulse", "serve"]
