# Mosquitto 2 from Debian's package on the local base, for machines without a
# registry. Paths as in the official eclipse-mosquitto:2 image (the dynamic
# security plugin in /usr/lib, /mosquitto/{config,data}), so one compose
# start script (deploy/compose/mosquitto/start.sh) serves both.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends mosquitto mosquitto-clients \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so /usr/lib/mosquitto_dynamic_security.so \
 && mkdir -p /mosquitto/config /mosquitto/data && chown -R mosquitto:mosquitto /mosquitto
USER mosquitto
EXPOSE 1883 8883
CMD ["mosquitto", "-c", "/mosquitto/config/mosquitto.conf"]
