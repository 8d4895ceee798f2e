#!/usr/bin/env bash
# Builds sluice's Debian packages (sluice-dataplane, sluiced, sluicectl, sluice-tools) into
# out/packages/ (or --out DIR): copies the sources and tools/packaging/debian into a staging
# tree and runs `dpkg-buildpackage -us -uc -b` with nocheck (the test suite already ran).
#   --prebuilt DIR   package a tree already built by tools/setup/build.sh release (prefix /usr,
#                    Debian's hardening flags) instead of building again; the test suite does.
# Needs debhelper, help2man and the build dependencies (tools/setup/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
out=$src/out/packages
prebuilt=""
while (($#)); do
  case $1 in
    --prebuilt) prebuilt=$(realpath "$2"); shift 2 ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    -h|--help) sed -n 2,8p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-debs.sh: unknown argument '$1' (--prebuilt DIR, --out DIR)" >&2; exit 2 ;;
  esac
done
if [ -n "$prebuilt" ] && [ ! -f "$prebuilt/build.ninja" ]; then
  echo "build-debs.sh: $prebuilt is not a meson build tree" >&2; exit 2
fi
version=$(dpkg-parsechangelog -l tools/packaging/debian/changelog -S Version)
stage=$(mktemp -d /tmp/sluice-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
tree=$stage/sluice-$version
mkdir -p "$tree"
# The sources as committed plus local changes (git), else everything but build trees and output.
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$src" ls-files -z --cached --others --exclude-standard | (cd "$src" && xargs -0 cp --parents -t "$tree")
else
  tar -C "$src" --exclude=./build\* --exclude=./out --exclude=./.git -cf - . | tar -C "$tree" -xf -
fi
cp -r tools/packaging/debian "$tree/debian"
(cd "$tree" && DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" SLUICE_PREBUILT="$prebuilt" \
   dpkg-buildpackage -us -uc -b) > "$stage/build.log" 2>&1 || { tail -40 "$stage/build.log" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out"/*.deb "$out"/*.ddeb "$out"/*.changes "$out"/*.buildinfo
mv "$stage"/*.deb "$stage"/*.changes "$stage"/*.buildinfo "$out"/
mv "$stage"/*.ddeb "$out"/ 2>/dev/null || true
cp "$stage/build.log" "$out/build.log"
ls "$out"/*.deb
