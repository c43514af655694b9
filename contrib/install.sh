#!/bin/sh
# Installs rodent (or an application built on it, --name) from its release files: picks the
# archive for this machine (os, arch, glibc or musl), verifies it against SHA256SUMS and refuses on
# a mismatch, then installs the binary, the man page, README, licences and contrib/ (what the
# archive holds of them) under a prefix and prints what it did. POSIX sh; needs tar, gzip and
# sha256sum (or shasum, or openssl), and curl or wget for a URL.
#
#   sh install.sh --from https://github.com/OWNER/rodent/releases/download/v0.1.0
#   sh install.sh --from ./dist/release --prefix "$HOME/.local"
#   sh install.sh --from ./dist/release --name notes      # notes-<version>-<target>.tar.gz
#
# The checksums prove the archive is the one SHA256SUMS names; they prove nothing about
# SHA256SUMS itself, so fetch it over https from the project's own release page.
set -eu

usage() {
  cat <<USAGE
Usage: install.sh [--from URL|DIR] [--name NAME] [--prefix DIR] [--target TARGET] [--version VERSION]

  --from URL|DIR    where the release files are (default: \$RODENT_RELEASE_URL)
  --name NAME       the program: rodent, or an application built on it whose archives are
                    NAME-VERSION-TARGET.tar.gz (default rodent)
  --prefix DIR      install under DIR/bin, DIR/share/man/man1, DIR/share/NAME (default /usr/local)
  --target TARGET   linux-x64, linux-arm64, linux-x64-musl, linux-arm64-musl, darwin-arm64 or
                    darwin-x64 (default: this machine's)
  --version VERSION the version to pick when the release files hold more than one
USAGE
}

fail() {
  echo "install.sh: $1" >&2
  exit 1
}

from=${RODENT_RELEASE_URL:-}
name=rodent
prefix=/usr/local
target=
version=
while [ $# -gt 0 ]; do
  case $1 in
    --from) [ $# -ge 2 ] || { usage >&2; exit 2; }; from=$2; shift 2 ;;
    --name) [ $# -ge 2 ] || { usage >&2; exit 2; }; name=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || { usage >&2; exit 2; }; prefix=$2; shift 2 ;;
    --target) [ $# -ge 2 ] || { usage >&2; exit 2; }; target=$2; shift 2 ;;
    --version) [ $# -ge 2 ] || { usage >&2; exit 2; }; version=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$from" ] || fail "say where the release files are: --from URL or DIR, or RODENT_RELEASE_URL"
case $name in
  [a-z]*) ;;
  *) fail "--name '$name': expected lower-case letters, digits and '-', starting with a letter" ;;
esac
case $name in
  *[!a-z0-9-]*) fail "--name '$name': expected lower-case letters, digits and '-', starting with a letter" ;;
esac

# This machine as the archives name it.
detect_target() {
  case $(uname -s) in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) fail "no release for $(uname -s): build from source (README, Building)" ;;
  esac
  case $(uname -m) in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) fail "no release for $(uname -m): build from source (README, Building)" ;;
  esac
  libc=
  if [ "$os" = linux ]; then
    # musl's ldd names itself; Alpine also has the musl loader in /lib
    if ldd --version 2>&1 | grep -qi musl || ls /lib/ld-musl-* >/dev/null 2>&1; then libc=-musl; fi
  fi
  echo "$os-$arch$libc"
}

[ -n "$target" ] || target=$(detect_target)
case $target in
  linux-x64 | linux-arm64 | linux-x64-musl | linux-arm64-musl | darwin-arm64 | darwin-x64) ;;
  *) fail "unknown target '$target': use linux-x64, linux-arm64, linux-x64-musl, linux-arm64-musl, darwin-arm64 or darwin-x64" ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/rodent-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

# fetch NAME: copies the release file NAME into $work.
fetch() {
  case $from in
    http://* | https://*)
      if command -v curl >/dev/null 2>&1; then
        curl -fsSL -o "$work/$1" "${from%/}/$1" || fail "cannot download ${from%/}/$1"
      elif command -v wget >/dev/null 2>&1; then
        wget -q -O "$work/$1" "${from%/}/$1" || fail "cannot download ${from%/}/$1"
      else
        fail "neither curl nor wget is installed: install one, or download the release into a directory and use --from DIR"
      fi
      ;;
    *)
      dir=${from#file://}
      [ -f "$dir/$1" ] || fail "no $1 in $dir"
      cp "$dir/$1" "$work/$1"
      ;;
  esac
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 "$1" | sed 's/.*= *//'
  else
    fail "no sha256sum, shasum or openssl to verify the download with: install one of them"
  fi
}

fetch SHA256SUMS
# lines are "<sha256>  <name>" (a '*' before the name in binary mode)
pattern="^$name-${version:-[0-9][^/]*}-$target\\.tar\\.gz\$"
matches=$(awk -v p="$pattern" '{ n = $2; sub(/^\*/, "", n); if (n ~ p) print $1 " " n }' "$work/SHA256SUMS")
[ -n "$matches" ] || fail "SHA256SUMS from $from lists no archive for $target${version:+ version $version}"
[ "$(echo "$matches" | wc -l)" -eq 1 ] || fail "SHA256SUMS from $from lists several versions for $target: choose one with --version"
expected=${matches%% *}
archive=${matches#* }
base=${archive%.tar.gz}

fetch "$archive"
actual=$(sha256 "$work/$archive")
[ "$actual" = "$expected" ] || fail "checksum mismatch for $archive: SHA256SUMS says $expected, the file has $actual; nothing was installed (download again, or ask the publisher)"
echo "verified $archive (sha256 $actual)"

mkdir "$work/unpacked"
gzip -dc "$work/$archive" | (cd "$work/unpacked" && tar -xf -) || fail "cannot unpack $archive"
unpacked=$work/unpacked/$base
[ -f "$unpacked/$name" ] || fail "$archive holds no $base/$name"

# Into place by rename, so a running instance keeps its old file and nothing sees half a binary.
mkdir -p "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/$name" || fail "cannot create directories under $prefix: run as a user who may write there, or choose --prefix"
cp "$unpacked/$name" "$prefix/bin/.$name.new.$$"
chmod 0755 "$prefix/bin/.$name.new.$$"
mv -f "$prefix/bin/.$name.new.$$" "$prefix/bin/$name"
echo "installed $prefix/bin/$name ($target)"
if [ -f "$unpacked/$name.1" ]; then
  cp "$unpacked/$name.1" "$prefix/share/man/man1/$name.1"
  chmod 0644 "$prefix/share/man/man1/$name.1"
  echo "installed $prefix/share/man/man1/$name.1"
fi
shared=
for doc in README.md LICENSE LICENSE.rodent; do
  if [ -f "$unpacked/$doc" ]; then
    cp "$unpacked/$doc" "$prefix/share/$name/$doc"
    shared="$shared${shared:+, }$doc"
  fi
done
if [ -d "$unpacked/contrib" ]; then
  rm -rf "$prefix/share/$name/contrib"
  cp -R "$unpacked/contrib" "$prefix/share/$name/contrib"
  shared="$shared${shared:+, }contrib/"
fi
[ -z "$shared" ] || echo "installed $prefix/share/$name/ ($shared)"
