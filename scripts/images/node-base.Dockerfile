# localhost/tsdapr/node-base: stands in for node:20-bookworm-slim. The host's node at
# /usr/local/bin/node with the libraries ldd lists, CA certificates, nsswitch.conf,
# on the busybox image (shell and coreutils). Runs as root like node:20-bookworm-slim;
# images built on it choose their user (the tsdapr image: 65532).
ARG BUSYBOX_BASE=localhost/tsdapr/busybox:1.35
FROM ${BUSYBOX_BASE}
COPY rootfs/ /
ARG NODE_VERSION
# node trusts its own CA list; the host's (and this machine's TLS-intercepting proxy's) CAs are added.
ENV NODE_VERSION=${NODE_VERSION} NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
