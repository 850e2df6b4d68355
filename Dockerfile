# sockscope container image: a build stage with the BPF and native-addon toolchain, and a
# slim runtime stage with only the shared libraries the addon links (libbpf1, libelf1, libnetfilter-conntrack3) and Node.
#
#   docker build -t sockscope .
#   docker build --build-arg NODE_IMAGE=docker.io/library/node:22-bookworm-slim -t sockscope .
#
# NODE_IMAGE must be a Debian bookworm based Node.js image laid out like the official ones
# (node in /usr/local/bin, its headers in /usr/local/include/node). The deploy tests build
# this file unmodified with podman against a local stand-in of that image.
ARG NODE_IMAGE=docker.io/library/node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# clang + bpftool build the BPF object and its skeleton; libbpf/libelf/zlib headers, g++,
# make and python3 build the addon with node-gyp, against the image's own Node headers.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      clang bpftool libbpf-dev libelf-dev zlib1g-dev libnetfilter-conntrack-dev pkg-config make g++ python3 \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
COPY tsconfig.json ./
COPY ebpf ebpf
COPY addon addon
COPY src src
COPY ui ui
COPY scripts/build-ui.sh scripts/build-ui.sh
# Only src/ is in the context, so tsc compiles the daemon and nothing else (see .dockerignore);
# build-ui.sh builds the live view with uPlot into dist/ui (before the prune drops TypeScript).
RUN make -C ebpf \
 && npx node-gyp rebuild --directory addon \
 && npx tsc -p tsconfig.json \
 && bash scripts/build-ui.sh \
 && npm prune --omit=dev --no-audit --no-fund --loglevel=error

FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="sockscope" \
      org.opencontainers.image.description="eBPF network-metrics exporter: per-process TCP/UDP traffic as Prometheus metrics and OTLP" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.documentation="README.md, section Deploy"
# iproute2 and nftables are for `sockscope selftest` only (lo up and a drop rule in its own
# network namespace); the daemon uses neither.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libbpf1 libelf1 libnetfilter-conntrack3 iproute2 nftables \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/sockscope
# Root owns the application and nobody may write it: the daemon runs as uid 0 (Kubernetes
# has no ambient capabilities, so CAP_BPF and friends only reach uid 0 without file
# capabilities) and must not be able to change its own code. See README, Deploy.
COPY --from=build --chown=0:0 --chmod=0644 /src/package.json ./package.json
COPY --from=build --chown=0:0 /src/node_modules ./node_modules
COPY --from=build --chown=0:0 /src/dist/src ./dist/src
COPY --from=build --chown=0:0 /src/dist/ui ./dist/ui
COPY --from=build --chown=0:0 --chmod=0644 /src/addon/build/Release/sockscope.node ./addon/build/Release/sockscope.node
RUN chmod -R go-w,u-w /opt/sockscope \
 && node /opt/sockscope/dist/src/cli.js --version
ENV NODE_ENV=production
# Memory settings every launcher passes (src/runtime-settings.ts): two malloc arenas,
# and a 2 MiB young-generation semi-space (in ENTRYPOINT).
ENV MALLOC_ARENA_MAX=2
USER 0:0
EXPOSE 9464
# /healthz answers once the daemon serves; Kubernetes uses its own probes (/healthz, /readyz).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.SOCKSCOPE_PROMETHEUS_PORT || 9464}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=2", "--optimize-for-size", "/opt/sockscope/dist/src/cli.js"]
CMD ["run"]
