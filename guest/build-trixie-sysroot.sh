#!/usr/bin/env bash
# Unpacks Debian trixie's riscv64 packages (trixie is Debian's first release
# with an official riscv64 port) into a sysroot for tsemu-riscv64 -L: Python 3
# and GCC with what they depend on, as apt resolves it.  apt runs with a
# configuration of its own (trixie, riscv64 only, an empty dpkg status, its
# lists and downloads under the cache), checks the archive's signatures with
# Debian's keyring, downloads the packages and dpkg-deb -x unpacks each one;
# /bin, /lib and /sbin become links into /usr, as Debian's merged /usr has them.
#
# Output goes to .cache/trixie-sysroot/<hash>/root, where <hash> covers this
# script (and so the package list); the last line printed on stdout is the
# sysroot's absolute path.  An unchanged script is not downloaded again.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TSEMU_LOG_PREFIX=build-trixie-sysroot
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$root/guest/lib.sh"

PACKAGES=(python3 gcc libc6-dev)
MIRROR="${TSEMU_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

hash="$(tsemu_hash --file "${BASH_SOURCE[0]}" --str "$MIRROR" | cut -c1-16)"
out="$TSEMU_CACHE_DIR/trixie-sysroot/$hash"
if [ -f "$out/.complete" ]; then
  tsemu_log "cached: ${PACKAGES[*]} ($out)"
  echo "$out/root"
  exit 0
fi
for tool in apt-get dpkg-deb; do
  command -v "$tool" >/dev/null 2>&1 || tsemu_die "$tool not found (a Debian host has it)"
done
[ -f "$KEYRING" ] || tsemu_die "$KEYRING not found (install debian-archive-keyring)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tsemu-trixie.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/state/lists/partial" "$tmp/cache/archives/partial" "$tmp/root"
touch "$tmp/state/status"
echo "deb [arch=riscv64 signed-by=$KEYRING] $MIRROR trixie main" >"$tmp/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
  -o "Dir::State=$tmp/state" -o "Dir::State::status=$tmp/state/status" -o "Dir::Cache=$tmp/cache"
  -o APT::Architecture=riscv64 -o APT::Architectures::=riscv64 -o Debug::NoLocking=1
  -o APT::Install-Recommends=false -o APT::Sandbox::User=root
)
tsemu_log "resolving and downloading ${PACKAGES[*]} for riscv64 from $MIRROR (trixie)"
apt-get "${apt_opts[@]}" -q update >&2
apt-get "${apt_opts[@]}" -q -y install --download-only "${PACKAGES[@]}" >&2
n=0
for deb in "$tmp"/cache/archives/*.deb; do
  dpkg-deb -x "$deb" "$tmp/root"
  n=$((n + 1))
done
[ "$n" -gt 0 ] || tsemu_die "no packages were downloaded"
for d in bin lib sbin; do
  [ -e "$tmp/root/$d" ] || ln -s "usr/$d" "$tmp/root/$d"
done
(cd "$tmp/cache/archives" && ls -1 ./*.deb) >"$tmp/root/.packages"
mkdir -p "$(dirname "$out")"
rm -rf "$out"
mkdir -p "$out"
mv "$tmp/root" "$out/root"
touch "$out/.complete"
tsemu_log "unpacked $n packages into $out/root"
echo "$out/root"
