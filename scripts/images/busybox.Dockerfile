# localhost/tsdapr/busybox: Debian's busybox-static with its applets linked in /bin,
# /etc/passwd and /etc/group (root, nobody, nonroot 65532), /tmp.
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["sh"]
