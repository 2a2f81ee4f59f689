# The Pulse image without a registry: the local Debian base and the binaries that
# `make build` made on the host (scripts/docker-engine.sh stages them as the context).
# The same layout as the runtime stage of the multi-stage Dockerfile at the root.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates wget \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/pulse pulse \
 && mkdir -p /var/lib/pulse/bootstrap /var/lib/pulse/spool && chown -R pulse /var/lib/pulse
COPY bin/ /usr/local/bin/
USER pulse
WORKDIR /var/lib/pulse
ENV PULSE_DATA_DIR=/var/lib/pulse
EXPOSE 8080
CMD ["pulse", "serve"]
