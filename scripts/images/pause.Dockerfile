# localhost/tsdapr/pause: the pod sandbox image (a static pause.c and nothing else).
FROM scratch
COPY rootfs/ /
USER 65535:65535
ENTRYPOINT ["/pause"]
