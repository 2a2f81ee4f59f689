# Mailpit (the dev SMTP catcher) on the local base, for machines without a
# registry: the binary is `go install github.com/axllent/mailpit@v1.33.1`.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
COPY mailpit /usr/local/bin/mailpit
RUN useradd --system mailpit
USER mailpit
EXPOSE 1025 8025
ENTRYPOINT ["mailpit"]
