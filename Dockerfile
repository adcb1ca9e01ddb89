# One image holding the five tsdapr control-plane services; the chart
# (charts/tsdapr) picks the service by the command:
#   node packages/{sentry,operator,placement,injector,scheduler}/dist/main.bundle.mjs <upstream flags>
# plus etcd at /usr/local/bin/etcd, which each scheduler replica runs as its
# embedded etcd member (the scheduler's --etcd-binary, default `etcd` on the PATH).
#
#   docker build -t ghcr.io/tsdapr/tsdapr:edge .
#
# Built here by scripts/build-images.sh (buildah, no registry): this same file, with only
# the three base images replaced through the build arguments below by bases assembled from
# the host's Node and Go (localhost/tsdapr/{go-build,node-build,node-base}); the defaults
# are the upstream images. The RUN steps need nothing from the build host.
#
# Runtime: node:20 slim (not distroless: the chart's command is `node ...`, and
# distroless has node only at /nodejs/bin/node), uid/gid 65532, nothing
# written to the root file system (the chart mounts an emptyDir at /tmp and
# sets readOnlyRootFilesystem).
ARG GO_BASE=golang:1.24-bookworm
ARG NODE_BUILD_BASE=node:20-bookworm
ARG NODE_BASE=node:20-bookworm-slim

# ---- etcd: v3.6.4 from the Go module this repository pins (e2e/cluster/go.mod and
# go.sum), built as scripts/build-go-binaries.sh builds it for the tests ----
FROM ${GO_BASE} AS etcd
WORKDIR /src/e2e/cluster
COPY e2e/cluster/go.mod e2e/cluster/go.sum ./
COPY e2e/cluster/etcd ./etcd
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X=go.etcd.io/etcd/api/v3/version.Version=3.6.4" \
      -o /out/etcd ./etcd \
 && /out/etcd --version

# ---- build: compile the services, then keep only production dependencies ----
FROM ${NODE_BUILD_BASE} AS build
WORKDIR /src
RUN corepack enable
COPY . .
RUN pnpm install --frozen-lockfile
RUN pnpm exec tsc -b packages/sentry packages/operator packages/placement packages/injector packages/scheduler \
 && node scripts/bundle-services.mjs
# Same lockfile, production dependencies only, from the store filled above.
RUN rm -rf node_modules packages/*/node_modules e2e/*/node_modules bench/node_modules \
 && CI=true pnpm install --frozen-lockfile --prod --offline
# The workspace layout is kept (node_modules hold relative symlinks into it).
RUN mkdir -p /out/packages \
 && cp -a package.json pnpm-workspace.yaml node_modules /out/ \
 && for dir in packages/*/; do \
      name="$(basename "$dir")"; \
      [ -d "$dir/dist" ] || continue; \
      mkdir -p "/out/packages/$name"; \
      cp -a "$dir/package.json" "$dir/dist" "/out/packages/$name/"; \
      [ -d "$dir/node_modules" ] && cp -a "$dir/node_modules" "/out/packages/$name/" || true; \
    done \
 && find /out/packages -name '*.test.js' -o -name '*.test.js.map' -o -name '*.test.d.ts*' | xargs rm -f

# ---- runtime ----
FROM ${NODE_BASE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out /app
COPY --from=etcd /out/etcd /usr/local/bin/etcd
USER 65532:65532
# Sentry 50001, operator 6500/19443, placement 50005, injector 4000, scheduler 50006 (its etcd
# 2379 client, loopback only, and 2380 peer); health 8080, metrics 9090.
EXPOSE 50001 6500 19443 50005 4000 50006 2380 8080 9090
# No default service: the chart always gives the command.
CMD ["node", "-e", "console.error('tsdapr: run node packages/<sentry|operator|placement|injector|scheduler>/dist/main.bundle.mjs'); process.exit(2)"]
