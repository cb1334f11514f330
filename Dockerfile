# shiplog-server as a container image: one fully static binary (musl, the console embedded) on
# an empty base, for linux/amd64 and linux/arm64.
#
# The binary comes from one of two stages, chosen by the build argument BINARY:
# - `builder` (the default) compiles it here, from the build context, for the platform being
#   built (TARGETARCH amd64 or arm64). `cargo xtask image` builds it this way: the console first
#   (into console/dist, the one input that is not in git), then the static binary on the host
#   (checked for no loader and no shared library), then this file for the host's platform.
#   `docker build --platform linux/amd64 .` works the same once console/dist exists.
# - `prebuilt` takes release/linux/<TARGETARCH>/shiplog-server from the build context: the
#   static binaries the release workflow built and checked natively on an amd64 and an arm64
#   runner, so that a multi-platform image compiles nothing (no compiling under emulation):
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg BINARY=prebuilt .
#
# Run it with a volume on /data (the SQLite database), or give SHIPLOG_DATABASE a postgres:// URL:
#   docker run -p 8080:8080 -v shiplog:/data -e SHIPLOG_TOKEN=... ghcr.io/shiplog-dev/shiplog-server:0.1.0

ARG RUST_VERSION=1.95
ARG BINARY=builder

# The final image's directories, each with its mode: /image holds a /tmp for SQLite's temporary
# files, /image-data an empty /data for the database (copied apart, to be owned by the server's user).
# Made on the build machine's own platform: they are the same for every platform, so nothing
# runs under emulation when the binary is prebuilt.
FROM --platform=$BUILDPLATFORM docker.io/library/debian:bookworm-slim AS layout
RUN mkdir -p /image/tmp /image-data/data \
    && chmod 1777 /image/tmp

FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS builder

# The musl target of the platform being built. musl-gcc compiles the C in the server's
# dependencies (ring's, SQLite's) for it. The packages come from the Debian release pinned by
# the tag above; an exact version pin would break at its next security update.
ARG TARGETARCH
# hadolint ignore=DL3008
RUN case "$TARGETARCH" in \
        amd64) target=x86_64-unknown-linux-musl ;; \
        arm64) target=aarch64-unknown-linux-musl ;; \
        *) echo "no static shiplog-server for $TARGETARCH (amd64 and arm64 only)" >&2; exit 1 ;; \
    esac \
    && echo "$target" > /musl-target \
    && apt-get update \
    && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/* \
    && rustup target add "$target"

WORKDIR /src
COPY . .

# Without console/dist the server would embed nothing and show "console not built".
RUN test -f console/dist/index.html \
    || { echo "console/dist is missing: run cargo xtask console (or cargo xtask image)" >&2; exit 1; }

# Only the server's package: built with the whole workspace, the test kit's `test-issuer`
# feature would be unified into it. The binary is left at /image/shiplog-server, as in
# `prebuilt`.
ENV CC_x86_64_unknown_linux_musl=musl-gcc \
    CC_aarch64_unknown_linux_musl=musl-gcc
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    target="$(cat /musl-target)" \
    && cargo build --release --locked --package shiplog-server --target "$target" \
    && install -D -m 0755 "target/$target/release/shiplog-server" /image/shiplog-server

# The release's binary for the platform being built (the build context's release/ directory,
# which .dockerignore keeps). Only built when BINARY=prebuilt.
FROM scratch AS prebuilt
ARG TARGETARCH
COPY --chmod=0755 release/linux/${TARGETARCH}/shiplog-server /image/shiplog-server

# The stage BINARY names, `builder` or `prebuilt`: the final stage copies the binary from here,
# and only this one of the two is built.
FROM ${BINARY} AS binary

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
# not kept): /tmp (1777) owned by root, /data owned by the server's user, so that a new named
# volume mounted there is writable by it; then /shiplog-server (0755), owned by root.
COPY --from=layout /image/ /
COPY --from=layout --chown=65532:65532 /image-data/ /
COPY --from=binary /image/shiplog-server /shiplog-server

ENV SHIPLOG_DATABASE=sqlite:///data/shiplog.db \
    SHIPLOG_LISTEN=0.0.0.0:8080

USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/shiplog-server"]
