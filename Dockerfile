# One image holds every Pulse binary; docker-compose.yml picks the role per service.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make build

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends wget ca-certificates && rm -rf /var/lib/apt/lists/*
RUN useradd --system --home /var/lib/pulse pulse && mkdir -p /var/lib/pulse && chown pulse /var/lib/pulse
COPY --from=build /src/bin/ /usr/local/bin/
USER pulse
WORKDIR /var/lib/pulse
ENV PULSE_DATA_DIR=/var/lib/pulse
EXPOSE 8080
CMD ["pulse", "serve"]
