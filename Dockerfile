# clanhall: multi-stage build. Builder and runtime share one Debian release (bookworm),
# so the binary links against the same glibc it was built with.

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
# Dependencies first, so a source-only change reuses this layer. The image is built
# without the `sandbox` feature: production never runs the local Discord stand-in, but
# the workspace still names its crate, so its manifest (and a stub) must be present.
COPY Cargo.toml Cargo.lock ./
COPY crates/sandbox/Cargo.toml ./crates/sandbox/Cargo.toml
RUN mkdir -p src benches tests/it crates/sandbox/src \
    && echo 'fn main() {}' > src/main.rs && touch src/lib.rs crates/sandbox/src/lib.rs \
    && for b in healthz roundtrip sheets; do echo 'fn main() {}' > benches/$b.rs; done \
    && echo 'fn main() {}' > tests/it/main.rs \
    && cargo build --release --locked --no-default-features --bin clanhall \
    && rm -rf src
COPY src ./src
COPY migrations ./migrations
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --no-default-features --bin clanhall

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
