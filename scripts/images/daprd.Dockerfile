# localhost/tsdapr/daprd: upstream daprd (built from the pinned Go module by
# scripts/build-go-binaries.sh) at /daprd, as in upstream's image (distroless static:nonroot,
# files at /); plus the C libraries ldd lists (this daprd is built with cgo), CA
# certificates, /etc/passwd and /tmp. The injector's sidecar command is ["/daprd", ...].
FROM scratch
COPY rootfs/ /
USER 65532:65532
ENTRYPOINT ["/daprd"]
