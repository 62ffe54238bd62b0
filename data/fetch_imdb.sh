#!/usr/bin/env bash
# Fetches and verifies the IMDB Large Movie Review Dataset archive; prints the
# path of the archive to pass to `distgru-prepare --source` as the LAST line
# of stdout (everything else goes to stderr).
#
#   data/fetch_imdb.sh [--archive PATH] [--dest DIR]
#
# --archive PATH  use a local archive instead of downloading. It is verified
#                 against a SHA256SUMS file next to it when one exists, or
#                 against the official MD5 when it is named aclImdb_v1.tar.gz.
# --dest DIR      where to download (default: data/downloads in the repo).
#
# Without --archive the official archive is downloaded with curl or wget and
# its MD5 checked. When that fails (no network), ../shared/data/
# aclImdb_labeled.tar.gz next to the repository is used if present, verified
# against its SHA256SUMS.
set -euo pipefail

readonly URL="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
readonly MD5="7c2ac02c03563afcf9b574c7e56c153a"
readonly NAME="aclImdb_v1.tar.gz"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
archive=""
dest="${repo_root}/data/downloads"

log() { echo "fetch_imdb: $*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --archive) [[ $# -ge 2 ]] || usage; archive="$2"; shift 2 ;;
    --dest) [[ $# -ge 2 ]] || usage; dest="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) log "unknown argument: $1"; usage ;;
  esac
done

check_md5() {  # file expected
  local got
  got="$(md5sum "$1" | cut -d' ' -f1)"
  [[ "$got" == "$2" ]] || die "$1: MD5 is $got, expected $2 (incomplete or corrupted download?)"
  log "$1: MD5 ok"
}

# Verifies $1 against SHA256SUMS in its directory; returns 1 when there is none.
check_sha256sums() {
  local file="$1" dir base sums want got
  dir="$(cd "$(dirname "$file")" && pwd)"
  base="$(basename "$file")"
  sums="${dir}/SHA256SUMS"
  [[ -f "$sums" ]] || return 1
  want="$(awk -v f="$base" '{ n = $2; sub(/^\*/, "", n); if (n == f) print $1 }' "$sums")"
  [[ -n "$want" ]] || die "$sums has no entry for $base"
  got="$(sha256sum "$file" | cut -d' ' -f1)"
  [[ "$got" == "$want" ]] || die "$file: SHA-256 is $got, SHA256SUMS says $want"
  log "$file: SHA-256 ok"
}

verify_local() {
  local file="$1"
  [[ -f "$file" ]] || die "$file: no such file"
  if check_sha256sums "$file"; then
    return 0
  elif [[ "$(basename "$file")" == "$NAME" ]]; then
    check_md5 "$file" "$MD5"
  else
    log "warning: $file: no SHA256SUMS next to it and not named $NAME; not verified"
  fi
}

download() {  # url output
  if command -v curl >/dev/null 2>&1; then
    curl -fL --retry 2 --connect-timeout 20 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q --timeout=20 -O "$2" "$1"
  else
    log "neither curl nor wget is installed"
    return 1
  fi
}

if [[ -n "$archive" ]]; then
  verify_local "$archive"
  echo "$archive"
  exit 0
fi

target="${dest}/${NAME}"
if [[ -f "$target" ]]; then
  log "$target already present"
  check_md5 "$target" "$MD5"
  echo "$target"
  exit 0
fi

mkdir -p "$dest"
log "downloading $URL"
if download "$URL" "${target}.part"; then
  check_md5 "${target}.part" "$MD5"
  mv "${target}.part" "$target"
  echo "$target"
  exit 0
fi
rm -f "${target}.part"

fallback="${repo_root}/../shared/data/aclImdb_labeled.tar.gz"
if [[ -f "$fallback" ]]; then
  fallback="$(cd "$(dirname "$fallback")" && pwd)/$(basename "$fallback")"
  log "download failed; using the local copy $fallback"
  check_sha256sums "$fallback" || die "$fallback: no SHA256SUMS next to it"
  echo "$fallback"
  exit 0
fi
die "download failed and no local copy at $fallback; pass --archive PATH"
