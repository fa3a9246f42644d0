# clanhall: multi-stage build. Builder and runtime share one Debian release (bookworm),
# so the binary links against the same glibc it was built with.

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
# Dependencies first, so a source-only change reuses this layer.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches tests/it \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && echo 'fn main() {}' > benches/healthz.rs && echo 'fn main() {}' > tests/it/main.rs \
    && cargo build --release --locked --bin clanhall \
    && rm -rf src
COPY src ./src
COPY migrations ./migrations
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin clanhall

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin clanhall \
    && mkdir -p /app /var/data \
    && chown clanhall:clanhall /app /var/data
WORKDIR /app
COPY --from=builder /src/target/release/clanhall /usr/local/bin/clanhall
COPY --chown=clanhall:clanhall config ./config
USER clanhall
ENV DATA_DIR=/var/data \
    TELEMETRY_LOG_PATH=/var/data/logs/telemetry_log.jsonl \
    WORKBOOK_DIR=/app/config/sample \
    PORT=10000
EXPOSE 10000
# No HEALTHCHECK: Render probes /healthz over HTTP (see docs/deploy.md). The process
# handles SIGTERM itself as PID 1 and starts no children, so no init shim is needed.
CMD ["clanhall", "run"]
