# shiplog-server as a container image: one fully static binary (musl, the console embedded) on
# an empty base, for linux/amd64.
#
# `cargo xtask image` builds it: the console first (into console/dist, the one input that is not
# in git), then the static binary on the host (checked for no loader and no shared library), then
# this file. `docker build --platform linux/amd64 .` works the same once console/dist exists.
#
# Run it with a volume on /data (the SQLite database), or give SHIPLOG_DATABASE a postgres:// URL:
#   docker run -p 8080:8080 -v shiplog:/data -e SHIPLOG_TOKEN=... ghcr.io/shiplog-dev/shiplog-server:0.1.0

ARG RUST_VERSION=1.95

FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS builder

# musl-gcc compiles the C in the server's dependencies (ring's, SQLite's) for the musl target.
# The packages come from the Debian release pinned by the tag above; an exact version pin would
# break at its next security update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl

WORKDIR /src
COPY . .

# Without console/dist the server would embed nothing and show "console not built".
RUN test -f console/dist/index.html \
    || { echo "console/dist is missing: run cargo xtask console (or cargo xtask image)" >&2; exit 1; }

# Only the server's package: built with the whole workspace, the test kit's `test-issuer`
# feature would be unified into it. The final image's files are laid out here, each with its
# mode: /image holds the binary and a /tmp for SQLite's temporary files, /image-data an empty
# /data for the database (copied apart, to be owned by the server's user).
ENV CC_x86_64_unknown_linux_musl=musl-gcc
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package shiplog-server --target x86_64-unknown-linux-musl \
    && mkdir -p /image/tmp /image-data/data \
    && chmod 1777 /image/tmp \
    && install -m 0755 target/x86_64-unknown-linux-musl/release/shiplog-server /image/shiplog-server

FROM scratch

ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="shiplog-server" \
      org.opencontainers.image.description="The shiplog history server: deploy records over a JSON API, a live event stream and the console." \
      org.opencontainers.image.source="https://github.com/shiplog-dev/shiplog" \
      org.opencontainers.image.url="https://github.com/shiplog-dev/shiplog" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# No CA bundle: the one outbound TLS call (an OIDC issuer's discovery document and keys) trusts
# the Mozilla roots compiled into the binary (reqwest's rustls-tls uses webpki-roots).

# Directories are copied as entries of a parent (a copied directory's own mode and owner are
# not kept): /shiplog-server and /tmp (1777) owned by root, then /data owned by the server's
# user, so that a new named volume mounted there is writable by it.
COPY --from=builder /image/ /
COPY --from=builder --chown=65532:65532 /image-data/ /

ENV SHIPLOG_DATABASE=sqlite:///data/shiplog.db \
    SHIPLOG_LISTEN=0.0.0.0:8080

USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/shiplog-server"]
