# syntax=docker/dockerfile:1
# Build: docker build -t edgeflush .
# Run:   see docs/operations.md (config by file or EDGEFLUSH__* environment,
#        the store on a volume, the document root mounted read-only).

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked && strip target/release/edgeflush

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/edgeflush --shell /usr/sbin/nologin edgeflush \
 && mkdir -p /var/lib/edgeflush /etc/edgeflush \
 && chown edgeflush:edgeflush /var/lib/edgeflush
COPY --from=build /src/target/release/edgeflush /usr/local/bin/edgeflush
COPY config/edgeflush.toml /etc/edgeflush/edgeflush.example.toml
USER edgeflush
VOLUME ["/var/lib/edgeflush"]
ENV EDGEFLUSH__STORE__PATH=/var/lib/edgeflush/edgeflush.db \
    EDGEFLUSH__SERVER__ADMIN_LISTEN=127.0.0.1:9470
EXPOSE 8470 9470
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD curl -fsS http://127.0.0.1:9470/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/edgeflush"]
CMD ["run"]
