# The BDD runner of the compose stack: Node 20 and Debian's Chromium (a test
# tool's own browser download is not used). The frontend, with its node_modules,
# is mounted at /work by docker-compose.yml.
ARG NODE_IMAGE=node:20-bookworm
FROM ${NODE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends chromium fonts-liberation ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV PULSE_E2E_CHROMIUM=/usr/bin/chromium
WORKDIR /work
