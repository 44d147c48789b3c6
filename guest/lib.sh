# shellcheck shell=bash
# Shared helpers for tsemu's guest build scripts (source this file; bash only).
#
# Callers set TSEMU_LOG_PREFIX (e.g. "build-busybox") before using tsemu_log/tsemu_die.
# Nothing here prints to stdout: build scripts reserve stdout for their result path.

# Repository root: the parent of the directory holding this file.
TSEMU_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Cache root; overridable so CI or a user can relocate it.
TSEMU_CACHE_DIR="${TSEMU_CACHE_DIR:-$TSEMU_ROOT/.cache}"

tsemu_log() { printf '%s: %s\n' "${TSEMU_LOG_PREFIX:-tsemu}" "$*" >&2; }
tsemu_die() { tsemu_log "error: $*"; exit 1; }

# Runs a command as root: directly when already root, through sudo otherwise.
tsemu_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# tsemu_hash [--file PATH | --str TEXT]...
# Prints the sha256 of a labelled concatenation of files and strings. Each item is
# framed with its kind and length so that moving bytes between items changes the hash.
tsemu_hash() {
  {
    while [ $# -gt 0 ]; do
      case "$1" in
        --file) printf 'file %s\n' "$(wc -c <"$2")"; cat "$2"; printf '\n' ;;
        --str) printf 'str %s\n%s\n' "${#2}" "$2" ;;
        *) tsemu_die "tsemu_hash: bad argument '$1'" ;;
      esac
      shift 2
    done
  } | sha256sum | cut -d' ' -f1
}

# Identity of the riscv64-linux-gnu cross toolchain, from offline sources only:
# compiler and linker banners plus the Debian versions of the packages whose
# contents end up in a static binary (glibc, kernel headers, libgcc).
tsemu_cross_toolchain_id() {
  local prefix="${1:-riscv64-linux-gnu-}" p v
  "${prefix}gcc" --version | sed -n 1p
  "${prefix}ld" --version | sed -n 1p
  for p in libc6-dev-riscv64-cross linux-libc-dev-riscv64-cross libgcc-12-dev-riscv64-cross; do
    v="$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)"
    printf '%s=%s\n' "$p" "${v:-none}"
  done
}

# The Debian release codename of this machine (bookworm when it cannot be read).
tsemu_debian_codename() {
  local c=""
  if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    c="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
  fi
  printf '%s\n' "${c:-bookworm}"
}

# Prints the deb822 stanzas of the configured apt sources, one blank line between
# stanzas, continuation lines folded into their field. Covers *.sources files and
# the one-line format of sources.list / *.list (converted to deb822).
_tsemu_apt_stanzas() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk '
      function flush() { if (have) { print cur }; have = 0 }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); if (started) print ""; started = 0; next }
      /^[ \t]/   { sub(/^[ \t]+/, " "); cur = cur $0; next }
      { flush(); cur = $0; have = 1; started = 1 }
      END { flush(); if (started) print "" }
    ' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    # "deb [opts] URI suite comp..." -> stanza; options other than signed-by are dropped.
    awk '
      /^[ \t]*(#|$)/ { next }
      $1 == "deb" || $1 == "deb-src" {
        type = $1; i = 2; signed = ""
        if ($2 ~ /^\[/) {
          opts = ""
          while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } i++ }
          if (match(opts, /signed-by=[^] ]+/)) signed = substr(opts, RSTART + 10, RLENGTH - 10)
        }
        uri = $i; suite = $(i + 1); comps = ""
        for (j = i + 2; j <= NF; j++) comps = comps (comps ? " " : "") $j
        print "Types: " type; print "URIs: " uri; print "Suites: " suite
        print "Components: " comps
        if (signed != "") print "Signed-By: " signed
        print ""
      }
    ' "$f"
  done
}

# tsemu_ensure_deb_src CODENAME FILE
# Makes sure apt has deb-src entries for CODENAME's main component. When none is
# configured, writes FILE (a deb822 .sources file) with one deb-src stanza per
# existing "deb" stanza that serves CODENAME (or CODENAME-updates/-security) main,
# reusing its URIs and Signed-By; falls back to the standard Debian mirror.
# Returns 0 when FILE was written (apt-get update needed either way by the caller).
tsemu_ensure_deb_src() {
  local codename="$1" file="$2" stanzas existing wanted
  stanzas="$(_tsemu_apt_stanzas)"
  # Field values are matched as whole words; Enabled: no stanzas are ignored.
  # shellcheck disable=SC2016  # an awk program, not shell
  local awk_select='
    BEGIN { RS = ""; FS = "\n" }
    {
      types = ""; suites = ""; comps = ""; enabled = "yes"; uris = ""; signed = ""
      for (i = 1; i <= NF; i++) {
        k = $i; sub(/:.*/, "", k); v = $i; sub(/^[^:]*:[ \t]*/, "", v)
        k = tolower(k)
        if (k == "types") types = " " v " "
        else if (k == "suites") suites = v
        else if (k == "components") comps = " " v " "
        else if (k == "enabled") enabled = tolower(v)
        else if (k == "uris") uris = v
        else if (k == "signed-by") signed = v
      }
      if (enabled == "no" || comps !~ / main /) next
      if (types !~ (" " want " ")) next
      n = split(suites, s, /[ \t]+/); keep = ""
      for (j = 1; j <= n; j++)
        if (s[j] == code || s[j] == code "-updates" || s[j] == code "-security")
          keep = keep (keep ? " " : "") s[j]
      if (keep == "") next
      if (want == "deb-src") { print "found"; next }
      print "Types: deb-src"; print "URIs: " uris; print "Suites: " keep
      print "Components: main"
      # An inline (armored) key cannot survive line folding: leave it to apt defaults.
      if (signed != "" && signed !~ /BEGIN PGP/) print "Signed-By: " signed
      print ""
    }'
  # Our own file counts as configured when present (it is re-derived only if deleted).
  existing="$(printf '%s\n' "$stanzas" | awk -v want=deb-src -v code="$codename" "$awk_select")"
  if [ -n "$existing" ]; then
    return 1
  fi
  wanted="$(printf '%s\n' "$stanzas" | awk -v want=deb -v code="$codename" "$awk_select")"
  if [ -z "$wanted" ]; then
    tsemu_log "no deb entry for $codename main found; using the standard Debian mirror"
    wanted="Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"
  fi
  tsemu_log "adding deb-src entries for $codename main in $file"
  printf '# Written by tsemu guest/lib.sh (tsemu_ensure_deb_src): source packages for guest builds.\n%s\n' \
    "$wanted" | tsemu_as_root tee "$file" >/dev/null
  return 0
}

# tsemu_run STEP CMD...: runs CMD with its output appended to the build log named
# by the caller's $log; on failure shows the log's tail and exits non-zero (the
# work directory is kept for inspection).
tsemu_run() {
  local step="$1"; shift
  # shellcheck disable=SC2154  # $log is the caller's
  printf '\n===== %s: %s\n' "$step" "$*" >>"$log"
  if ! "$@" >>"$log" 2>&1; then
    tsemu_log "FAILED: $step. Last lines of $log:"
    tail -n 40 "$log" >&2
    exit 1
  fi
}

# tsemu_wait_jobs PREFIX DIR NAME... : waits for the background jobs whose pids
# are in the caller's pids array (one per NAME, each logging to DIR/NAME.log);
# shows the log of each that failed (and any warnings), exits 1 if one failed.
tsemu_wait_jobs() {
  local prefix="$1" dir="$2" failed=0 i=0 name
  shift 2
  for name in "$@"; do
    # shellcheck disable=SC2154  # pids is the caller's
    if ! wait "${pids[$i]}"; then
      echo "$prefix: failed to build $name:" >&2
      cat "$dir/$name.log" >&2
      failed=1
    elif [ -s "$dir/$name.log" ]; then
      cat "$dir/$name.log" >&2
    fi
    i=$((i + 1))
  done
  [ "$failed" -eq 0 ] || exit 1
  rm -f "$dir"/*.log
}

# tsemu_publish_dir PREFIX TMP OUT: moves a finished build from TMP to OUT (keeping
# OUT when another run completed the same build first), marked complete.
tsemu_publish_dir() {
  local prefix="$1" tmp="$2" out="$3"
  touch "$tmp/.complete"
  chmod 755 "$tmp"
  [ -f "$out/.complete" ] || rm -rf "$out"
  if ! mv -T "$tmp" "$out" 2>/dev/null; then
    [ -f "$out/.complete" ] || { echo "$prefix: cannot create $out" >&2; exit 1; }
  fi
  rm -rf "$tmp"
}
