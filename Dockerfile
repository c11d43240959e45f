# syntax=docker/dockerfile:1
# edgeflush in a container. Build: docker build -t edgeflush .
# Run: see docs/operations.md, "Containers" (config by file and
# EDGEFLUSH__SECTION__KEY variables, the store on a volume, a watched
# document root mounted read-only).

FROM rust:1-bookworm AS build
WORKDIR /src
# The whole tree (.dockerignore keeps target/ and .git out): Cargo.toml may
# declare benches and tests whose files must exist for cargo to read it.
COPY . .
RUN cargo build --release --locked --bin edgeflush \
 && strip target/release/edgeflush

FROM debian:bookworm-slim
# curl for HEALTHCHECK, ca-certificates for the API's TLS. Not pinned: the
# bookworm archive only keeps the current (security-patched) versions.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 edgeflush \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/edgeflush \
      --shell /usr/sbin/nologin edgeflush \
 && mkdir -p /var/lib/edgeflush /etc/edgeflush \
 && chown edgeflush:edgeflush /var/lib/edgeflush
COPY --from=build /src/target/release/edgeflush /usr/local/bin/edgeflush
COPY config/edgeflush.toml /etc/edgeflush/edgeflush.example.toml
# Numeric, so that runAsNonRoot checks and host file ownership agree.
USER 10001:10001
VOLUME ["/var/lib/edgeflush"]
ENV EDGEFLUSH__STORE__PATH=/var/lib/edgeflush/edgeflush.db \
    EDGEFLUSH__SERVER__ADMIN_LISTEN=127.0.0.1:9470
# 8470: webhooks. 9470: admin (/metrics); published only with an
# admin_listen of 0.0.0.0:9470, which requires server.admin_token.
EXPOSE 8470 9470
# /healthz answers while the process lives; follows the default admin port.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9470/healthz"]
ENTRYPOINT ["/usr/local/bin/edgeflush"]
CMD ["run"]
