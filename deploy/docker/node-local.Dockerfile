# Node.js 20 on the local base, for machines without a registry (Debian bookworm
# ships Node 18; Playwright needs 20): the host's node binary, staged as the context.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
COPY node /usr/local/bin/node
RUN node --version
