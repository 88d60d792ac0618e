#!/usr/bin/env bash
# Build a minimal local base image with no registry: a root filesystem holding a static
# busybox (for /bin/sh and the usual tools), the host's bash and, unless --no-python, the
# host's Debian python3.11 with its standard library, each with the shared libraries it
# links, imported with `docker import`. Needs Debian's busybox-static and python3.11.
#
#   docker/make-base.sh [--no-python] TAG
set -euo pipefail

with_python=1
if [ "${1:-}" = "--no-python" ]; then with_python=0; shift; fi
tag="${1:?usage: make-base.sh [--no-python] TAG}"

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,tmp,etc,root,proc,sys,dev,work}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"

copy_with_libs() {  # copy files and every shared library they link, keeping paths
    for file in "$@"; do
        mkdir -p "$root$(dirname "$file")"
        cp -aL "$file" "$root$file"
        { ldd "$file" 2>/dev/null || true; } | { grep -o '/[^ ]*' || true; } | while read -r lib; do
            [ -e "$root$lib" ] && continue
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        done
    done
}

copy_with_libs /bin/bash

if [ "$with_python" = 1 ]; then
    stdlib=/usr/lib/python3.11
    copy_with_libs /usr/bin/python3.11 "$stdlib"/lib-dynload/*.so
    tar -C / --exclude='*/__pycache__' --exclude="${stdlib#/}/test" \
        --exclude="${stdlib#/}/dist-packages" --exclude="${stdlib#/}/EXTERNALLY-MANAGED" \
        -cf - "${stdlib#/}" | tar -C "$root" -xf -
    ln -s python3.11 "$root/usr/bin/python3"
    ln -s python3.11 "$root/usr/bin/python"
    mkdir -p "$root/etc/ssl"
    [ -d /etc/ssl/certs ] && cp -aL /etc/ssl/certs "$root/etc/ssl/certs"
fi

for applet in $(/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done

tar -C "$root" -cf - . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
    --change 'WORKDIR /work' - "$tag" >/dev/null
echo "$tag"
