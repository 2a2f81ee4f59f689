# A stand-in for golang:1.26-bookworm on machines without a registry: the local
# Debian base with the host's Go tree (staged as the context) and gcc-less static builds.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates git && rm -rf /var/lib/apt/lists/*
COPY go /usr/local/go
ENV PATH=/usr/local/go/bin:/root/go/bin:$PATH
RUN go version
