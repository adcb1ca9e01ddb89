# localhost/tsdapr/node-build: stands in for node:20-bookworm as a build stage. node-base
# plus the host's npm and corepack (in /usr/local/lib/node_modules, linked from
# /usr/local/bin as in the upstream image), so `corepack enable` and pnpm work; the pnpm
# version package.json pins is the host's copy, already in corepack's cache (COREPACK_HOME).
ARG NODE_BASE=localhost/tsdapr/node-base:20
FROM ${NODE_BASE}
COPY rootfs/ /
ENV COREPACK_HOME=/usr/local/share/corepack
CMD ["node"]
