#!/usr/bin/env bash
# Build the read-alignment tools image with no registry: the host's Debian packages of bwa,
# samtools, cutadapt, Picard (with its Java runtime and jars) and R, copied onto a base
# image that has bash and the AWS CLI (docker/build-worker.sh --no-bridge), with every
# shared library they link. bridge itself is not in the image: the example only runs
# script() steps there.
#
#   examples/read_alignment/docker/build-image.sh --base IMAGE TAG
#
# Needs the tools installed on the host (scripts/system-deps.sh).
set -euo pipefail

base=""
while [ $# -gt 1 ]; do
    case "$1" in
        --base) base="$2"; shift 2 ;;
        *) echo "build-image.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
tag="${1:?usage: build-image.sh --base IMAGE TAG}"
[ -n "$base" ] || { echo "build-image.sh: --base IMAGE is required" >&2; exit 2; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }

# Picard's jars come from many lib*-java packages: follow its dependencies to them.
java_jars() {
    local todo=(libpicard-java) seen=" " pkg dep
    while ((${#todo[@]})); do
        pkg="${todo[0]}"; todo=("${todo[@]:1}")
        case "$seen" in *" $pkg "*) continue ;; esac
        seen+="$pkg "
        echo "$pkg"
        for dep in $(dpkg-query -W -f='${Depends}' "$pkg" | tr ',' '\n' | sed 's/|.*//; s/(.*//'); do
            [[ "$dep" == lib*-java ]] && installed "$dep" && todo+=("$dep")
        done
    done
}

packages=(bwa samtools libhts3 cutadapt python3-cutadapt python3-dnaio python3-xopen
          picard-tools openjdk-17-jre-headless r-base-core $(java_jars))
for pkg in "${packages[@]}"; do
    installed "$pkg" || { echo "build-image.sh: $pkg is not installed (scripts/system-deps.sh)" >&2; exit 1; }
done

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
root="$context/rootfs"
mkdir -p "$root/usr/bin"

# Jars named by the Class-Path of Picard's jar and of the jars it names, in turn: Debian's
# package dependencies miss some (guava, ...).
class_path_closure() {
    python3 - "$@" <<'PY'
import os, sys, zipfile
todo, seen = list(sys.argv[1:]), set()
while todo:
    jar = todo.pop()
    if jar in seen or not os.path.exists(jar):
        continue
    seen.add(jar)
    with zipfile.ZipFile(jar) as archive:
        try:
            manifest = archive.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
        except KeyError:
            continue
    manifest = manifest.replace("\r\n", "\n").replace("\n ", "")
    for line in manifest.splitlines():
        if line.startswith("Class-Path:"):
            todo += [os.path.join(os.path.dirname(jar), entry) for entry in line.split()[1:]]
for jar in sorted(seen):
    print(jar)
    print(os.path.realpath(jar))
PY
}

# The packages' own files (no docs) and the jars, symlinks kept as symlinks.
{ dpkg -L "${packages[@]}"; class_path_closure /usr/share/java/picard.jar; } | sort -u \
    | grep -Ev '^/usr/share/(doc|man|info|lintian|icons|applications)/' \
    | while read -r path; do [ -d "$path" ] && [ ! -L "$path" ] || echo "${path#/}"; done \
    > "$context/files"
tar -C / --no-recursion -cf - -T "$context/files" | tar -C "$root" -xf -
ln -s "$(readlink -f "$(command -v java)")" "$root/usr/bin/java"  # Debian's alternatives link
ln -s /bin/which "$root/usr/bin/which"  # R runs /usr/bin/which; the base has busybox's
# Files the packages' install scripts made (R's /etc/R/Renviron, ...) that links point to.
find "$root" -type l | while read -r link; do
    target="$(readlink "$link")"
    if [[ "$target" == /* ]] && [ ! -e "$root$target" ] && [ -f "$target" ]; then
        mkdir -p "$root$(dirname "$target")"
        cp -L "$target" "$root$target"
    fi
done

# Every shared library an ELF file of theirs links, from the host.
find "$root" -type f \( -perm -u+x -o -name '*.so*' \) | while read -r file; do
    [ "$(head -c 4 "$file" | tr -d '\0')" = $'\x7fELF' ] || continue
    { ldd "$file" 2>/dev/null || true; } | { grep -o '/[^ ]*' || true; }
done | sort -u | while read -r lib; do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done

cat > "$context/Dockerfile" <<EOF
FROM $base
COPY rootfs/ /
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64
EOF
docker build --quiet -t "$tag" "$context" >/dev/null
echo "$tag"
