# localhost/tsdapr/go-build: stands in for golang:1.24-bookworm as a build stage. The
# host's Go at /usr/local/go and CA certificates (for the module proxy), on the busybox image.
ARG BUSYBOX_BASE=localhost/tsdapr/busybox:1.35
FROM ${BUSYBOX_BASE}
COPY rootfs/ /
ARG GO_VERSION
ENV GOLANG_VERSION=${GO_VERSION} GOTOOLCHAIN=local GOPATH=/go \
    PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
