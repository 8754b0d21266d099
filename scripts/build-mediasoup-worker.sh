#!/usr/bin/env bash
# Build the mediasoup worker binary offline (npm registry + Debian apt only).
#
#   BIN=$(bash scripts/build-mediasoup-worker.sh)
#
# The last line on stdout is the absolute path of the binary; all progress goes
# to stderr. A binary built before for the same mediasoup version and the same
# recipe (this script + scripts/mediasoup-worker/*) is reused from
#   ${EDGEMEET_CACHE_DIR:-$HOME/.cache/edgemeet}/mediasoup-worker-<version>-<recipe hash>/
#
# What it does (see shared notes "mediasoup-offline"):
#   - installs the Debian build dependencies it lacks (apt-get, as root);
#   - gets the worker source with `npm pack mediasoup@<version>`;
#   - builds libsrtp2 statically with OpenSSL crypto from Debian's own source
#     package (`apt-get source`, with a deb-src entry in a private apt config so
#     the system's apt setup is left alone) -- Debian's binary libsrtp2 uses NSS
#     and is several times slower;
#   - applies the DTLS BIO callback fix (crash with Debian's kTLS-enabled OpenSSL);
#   - replaces the meson subprojects (wraps that download from GitHub) with
#     stand-ins over Debian's libraries, incl. a libsrtp v3->v2 shim header and a
#     liburing 2.3->2.4 shim header (io_uring stays enabled on kernels >= 6);
#   - meson setup/compile, strip, check, and move into the cache atomically.
#
# Environment:
#   EDGEMEET_CACHE_DIR      cache root (default: $HOME/.cache/edgemeet)
#   EDGEMEET_BUILD_JOBS     parallel compile jobs (default: nproc)
#   EDGEMEET_KEEP_BUILD=1   keep the temporary build dir (for debugging)
set -euo pipefail

MEDIASOUP_VERSION=3.19.3

# Everything but the final path goes to stderr; fd 3 is the real stdout.
exec 3>&1 1>&2

log() { printf '[mediasoup-worker] %s\n' "$*" >&2; }
die() { printf '[mediasoup-worker] ERROR: %s\n' "$*" >&2; exit 1; }

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPT_DIR=$(dirname "$SCRIPT_PATH")
RECIPE_DIR="$SCRIPT_DIR/mediasoup-worker"
[[ -d "$RECIPE_DIR/subprojects" ]] || die "recipe files missing: $RECIPE_DIR/subprojects"

# --- cache lookup -------------------------------------------------------------

recipe_hash() {
  # Contents (and relative names) of the script and every recipe file.
  (
    cd "$SCRIPT_DIR"
    {
      printf '== %s\n' "$(basename "$SCRIPT_PATH")"
      cat "$SCRIPT_PATH"
      find mediasoup-worker -type f -print | LC_ALL=C sort | while IFS= read -r f; do
        printf '== %s\n' "$f"
        cat "$f"
      done
    } | sha256sum | cut -c1-12
  )
}

RECIPE_HASH=$(recipe_hash)
CACHE_ROOT=$(realpath -m "${EDGEMEET_CACHE_DIR:-${HOME:?HOME is not set}/.cache/edgemeet}")
CACHE_NAME="mediasoup-worker-$MEDIASOUP_VERSION-$RECIPE_HASH"
FINAL_DIR="$CACHE_ROOT/$CACHE_NAME"
FINAL_BIN="$FINAL_DIR/mediasoup-worker"

if [[ -x "$FINAL_BIN" ]]; then
  log "using cached worker (mediasoup $MEDIASOUP_VERSION, recipe $RECIPE_HASH)"
  echo "$FINAL_BIN" >&3
  exit 0
fi

mkdir -p "$CACHE_ROOT" || die "cannot create cache dir $CACHE_ROOT"

# One build per version+recipe at a time; a second caller waits, then reuses it.
command -v flock >/dev/null || die "flock (util-linux) is required"
exec 9>"$CACHE_ROOT/.$CACHE_NAME.lock"
if ! flock -n 9; then
  log "another build of $CACHE_NAME is running; waiting for it (up to 60 min)"
  flock -w 3600 9 || die "timed out waiting for the other build (lock $CACHE_ROOT/.$CACHE_NAME.lock)"
fi
if [[ -x "$FINAL_BIN" ]]; then
  log "using worker built by a concurrent run"
  echo "$FINAL_BIN" >&3
  exit 0
fi

log "no cached worker for mediasoup $MEDIASOUP_VERSION / recipe $RECIPE_HASH: building (a few minutes)"
START_TS=$(date +%s)

# --- Debian packages ------------------------------------------------------------

APT_GET=(apt-get -y -q -o DPkg::Lock::Timeout=300)
export DEBIAN_FRONTEND=noninteractive

apt_update_system() {
  local i
  for i in 1 2 3; do
    if timeout 600 apt-get -q -o DPkg::Lock::Timeout=300 update >&2; then return 0; fi
    log "apt-get update failed (try $i/3); retrying in 10 s"
    sleep 10
  done
  die "apt-get update failed"
}

# package -> why it is needed
declare -A PKG_WHY=(
  [g++]="C++ compiler for the worker"
  [make]="builds libsrtp2"
  [patch]="applies the DTLS fix"
  [pkg-config]="lets meson find the Debian libraries"
  [meson]="the worker's build system"
  [ninja-build]="meson's build backend"
  [flatbuffers-compiler]="flatc generates the worker's FBS headers"
  [libflatbuffers-dev]="flatbuffers headers matching flatc"
  [libssl-dev]="OpenSSL (DTLS, and libsrtp2 crypto)"
  [libuv1-dev]="libuv event loop"
  [libusrsctp-dev]="SCTP for data channels"
  [libabsl-dev]="abseil containers"
  [liburing-dev]="io_uring send path"
  [dpkg-dev]="dpkg-source, to unpack Debian's libsrtp2 source"
)
PKGS=(g++ make patch pkg-config meson ninja-build flatbuffers-compiler libflatbuffers-dev
      libssl-dev libuv1-dev libusrsctp-dev libabsl-dev liburing-dev dpkg-dev)

MISSING=()
for p in "${PKGS[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == installed ]] || MISSING+=("$p")
done
if ((${#MISSING[@]})); then
  [[ $(id -u) -eq 0 ]] || die "missing Debian packages (${MISSING[*]}); run as root or install them first"
  log "installing missing Debian packages needed to build the worker:"
  for p in "${MISSING[@]}"; do log "  $p - ${PKG_WHY[$p]}"; done
  apt_update_system
  timeout 1800 "${APT_GET[@]}" install --no-install-recommends "${MISSING[@]}" >&2 \
    || die "apt-get install ${MISSING[*]} failed"
else
  log "Debian build dependencies already installed"
fi

for tool in npm node meson ninja flatc pkg-config g++ make patch strip ldd dpkg-source; do
  command -v "$tool" >/dev/null || die "required tool not found on PATH: $tool"
done

# --- work dir -------------------------------------------------------------------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/edgemeet-mediasoup-worker.XXXXXX")
cleanup() {
  if [[ "${EDGEMEET_KEEP_BUILD:-}" == 1 ]]; then
    log "keeping build dir $WORK"
  else
    rm -rf "$WORK"
  fi
  rm -rf "${STAGE_DIR:-}"
}
trap cleanup EXIT
log "build dir: $WORK"

# --- mediasoup source from the npm registry ------------------------------------

log "fetching mediasoup@$MEDIASOUP_VERSION with npm pack"
mkdir -p "$WORK/npm"
(
  cd "$WORK/npm"
  timeout 600 npm pack --silent "mediasoup@$MEDIASOUP_VERSION" >&2
) || die "npm pack mediasoup@$MEDIASOUP_VERSION failed"
TARBALL="$WORK/npm/mediasoup-$MEDIASOUP_VERSION.tgz"
[[ -f "$TARBALL" ]] || die "npm pack did not produce $TARBALL"
tar -xzf "$TARBALL" -C "$WORK"
PKGDIR="$WORK/package"
WORKER="$PKGDIR/worker"
[[ -f "$WORKER/meson.build" ]] || die "unexpected tarball layout: $WORKER/meson.build missing"

# --- libsrtp2 with OpenSSL, from Debian's source package -------------------------

# Print deb-src lines for the Debian suites the system already uses (same mirror,
# same keyring), from one-line .list files and deb822 .sources files.
derive_deb_src() {
  local codename=$1 f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    awk -v c="$codename" '
      $1 == "deb" {
        opts = ""; i = 2
        if ($2 ~ /^\[/) {
          while (i <= NF && $i !~ /\]$/) { opts = opts " " $i; i++ }
          opts = opts " " $i; i++
        }
        uri = $i; suite = $(i + 1)
        if (suite == c || index(suite, c "-") == 1) print "deb-src" opts " " uri " " suite " main"
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    awk -v c="$codename" '
      function flush(   n, m, i, j, S, U, o) {
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no") {
          o = (sb ~ /^\//) ? " [signed-by=" sb "]" : ""
          n = split(suites, S, /[ \t]+/); m = split(uris, U, /[ \t]+/)
          for (i = 1; i <= n; i++)
            if (S[i] == c || index(S[i], c "-") == 1)
              for (j = 1; j <= m; j++)
                if (U[j] != "") print "deb-src" o " " U[j] " " S[i] " main"
        }
        types = uris = suites = sb = enabled = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ { next }
      /^[A-Za-z-]+:/ {
        k = tolower(substr($0, 1, index($0, ":") - 1)); v = substr($0, index($0, ":") + 1)
        gsub(/^[ \t]+|[ \t]+$/, "", v)
        if (k == "types") types = v; else if (k == "uris") uris = v
        else if (k == "suites") suites = v; else if (k == "signed-by") sb = v
        else if (k == "enabled") enabled = tolower(v)
      }
      END { flush() }' "$f"
  done
}

CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ -n "$CODENAME" ]] || die "cannot tell the Debian codename from /etc/os-release"

APTDIR="$WORK/apt"
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
derive_deb_src "$CODENAME" | awk '!seen[$0]++' > "$APTDIR/sources.list"
if [[ ! -s "$APTDIR/sources.list" ]]; then
  kr=/usr/share/keyrings/debian-archive-keyring.gpg
  opt=""; [[ -f "$kr" ]] && opt=" [signed-by=$kr]"
  echo "deb-src$opt http://deb.debian.org/debian $CODENAME main" > "$APTDIR/sources.list"
  log "no Debian entry for $CODENAME in /etc/apt; using the default mirror"
fi
log "deb-src entries (private apt config in $APTDIR, system apt config untouched):"
sed 's/^/[mediasoup-worker]   /' "$APTDIR/sources.list" >&2
SRC_APT=(apt-get -q
  -o Dir::Etc::sourcelist="$APTDIR/sources.list"
  -o Dir::Etc::sourceparts=-
  -o Dir::State::Lists="$APTDIR/lists"
  -o Dir::Cache="$APTDIR/cache"
  -o APT::Sandbox::User=root)
timeout 600 "${SRC_APT[@]}" update >&2 || die "apt-get update for the deb-src entries failed"
mkdir -p "$WORK/srtp"
( cd "$WORK/srtp" && timeout 600 "${SRC_APT[@]}" source libsrtp2 >&2 ) \
  || die "apt-get source libsrtp2 failed"
SRTP_SRC=$(find "$WORK/srtp" -mindepth 1 -maxdepth 1 -type d -name 'libsrtp2-*' | head -n1)
[[ -n "$SRTP_SRC" && -f "$SRTP_SRC/configure" ]] || die "libsrtp2 source not unpacked under $WORK/srtp"
log "building $(basename "$SRTP_SRC") with OpenSSL crypto (static, -O3 -fPIC)"
(
  cd "$SRTP_SRC"
  CFLAGS="-O3 -fPIC" ./configure --enable-openssl --disable-debug --disable-stdout >"$WORK/srtp/configure.log" 2>&1 \
    || { tail -n 40 "$WORK/srtp/configure.log" >&2; exit 1; }
  grep -q '^#define OPENSSL 1' crypto/include/config.h 2>/dev/null \
    || { echo "libsrtp2 configure did not enable OpenSSL" >&2; exit 1; }
  make -j"$(nproc)" libsrtp2.a >"$WORK/srtp/make.log" 2>&1 || { tail -n 40 "$WORK/srtp/make.log" >&2; exit 1; }
) || die "libsrtp2 build failed"
[[ -f "$SRTP_SRC/libsrtp2.a" ]] || die "libsrtp2.a was not produced"

# --- prepare the worker tree ---------------------------------------------------

log "applying the DTLS BIO callback fix"
( cd "$PKGDIR" && patch -p1 --forward --batch < "$RECIPE_DIR/dtls-bio-callback.patch" >&2 ) \
  || die "dtls-bio-callback.patch did not apply to mediasoup $MEDIASOUP_VERSION"
grep -q 'long resultOfcallback = ((operationType & BIO_CB_RETURN) != 0)' "$WORKER/src/RTC/DtlsTransport.cpp" \
  || die "DTLS fix not present in DtlsTransport.cpp after patching"
if grep -q 'operationType == BIO_CB_RETURN' "$WORKER/src/RTC/DtlsTransport.cpp"; then
  die "DtlsTransport.cpp still tests operationType == BIO_CB_RETURN after patching"
fi

# Debian 12 ships meson 1.0.1; the worker asks for >= 1.1.0 but builds with 1.0.
MESON_VERSION=$(meson --version)
if ! printf '1.1.0\n%s\n' "$MESON_VERSION" | sort -V -C; then
  log "meson $MESON_VERSION < 1.1.0: relaxing the worker's meson_version requirement"
  sed -i "s/meson_version: '>= 1.1.0'/meson_version: '>= 1.0.0'/" "$WORKER/meson.build"
  grep -q "meson_version: '>= 1.0.0'" "$WORKER/meson.build" || die "could not relax meson_version in worker/meson.build"
fi

log "replacing meson subprojects with stand-ins over Debian libraries"
rm -f "$WORKER"/subprojects/*.wrap
rm -rf "$WORKER/subprojects/packagefiles"
cp -r "$RECIPE_DIR/subprojects/." "$WORKER/subprojects/"
for d in "$WORKER"/subprojects/*/; do
  : > "$d/standin-empty.c"
done
SRTP_STANDIN="$WORKER/subprojects/libsrtp3"
mkdir -p "$SRTP_STANDIN/lib" "$SRTP_STANDIN/include/srtp2"
cp "$SRTP_SRC/libsrtp2.a" "$SRTP_STANDIN/lib/"
# The headers `make install` would put in include/srtp2/.
for h in include/srtp.h crypto/include/auth.h crypto/include/cipher.h crypto/include/crypto_types.h; do
  [[ -f "$SRTP_SRC/$h" ]] && cp "$SRTP_SRC/$h" "$SRTP_STANDIN/include/srtp2/"
done
[[ -f "$SRTP_STANDIN/include/srtp2/srtp.h" ]] || die "libsrtp2 public header not found"

# --- build ---------------------------------------------------------------------

JOBS=${EDGEMEET_BUILD_JOBS:-$(nproc)}
BUILD="$WORKER/out/build"
log "meson setup (release, prefer_static, io_uring via liburing shim)"
(
  cd "$WORKER"
  timeout 600 meson setup --buildtype release -Db_ndebug=true -Dprefer_static=true \
    --wrap-mode=nodownload "$BUILD" >"$WORK/meson-setup.log" 2>&1 \
    || { tail -n 60 "$WORK/meson-setup.log" >&2; exit 1; }
) || die "meson setup failed (log: $WORK/meson-setup.log)"

log "compiling flatbuffers-generator, then mediasoup-worker with $JOBS jobs (takes minutes)"
timeout 600 meson compile -C "$BUILD" -j "$JOBS" flatbuffers-generator >&2 \
  || die "meson compile flatbuffers-generator failed"
timeout 3600 meson compile -C "$BUILD" -j "$JOBS" mediasoup-worker >&2 \
  || die "meson compile mediasoup-worker failed"
BUILT="$BUILD/mediasoup-worker"
[[ -f "$BUILT" ]] || die "build finished but $BUILT is missing"
strip "$BUILT"

# --- checks --------------------------------------------------------------------

LDD_OUT=$(ldd "$BUILT") || die "ldd failed on the worker binary"
log "ldd:"
printf '%s\n' "$LDD_OUT" | sed 's/^/[mediasoup-worker]   /' >&2
if grep -q 'not found' <<<"$LDD_OUT"; then die "worker has unresolved shared libraries"; fi
if grep -q 'libnss3' <<<"$LDD_OUT"; then die "worker links libnss3: libsrtp2 is not the OpenSSL build"; fi
if grep -q 'libsrtp2' <<<"$LDD_OUT"; then die "worker links a shared libsrtp2 instead of the static OpenSSL build"; fi
# Without MEDIASOUP_VERSION in its environment the worker exits 41 right away:
# proves the loader resolved everything and main() ran.
set +e
env -u MEDIASOUP_VERSION "$BUILT" </dev/null >/dev/null 2>&1
rc=$?
set -e
[[ $rc -eq 41 ]] || die "worker smoke run exited $rc (expected 41)"

# --- install into the cache atomically -----------------------------------------

STAGE_DIR=$(mktemp -d "$CACHE_ROOT/.$CACHE_NAME.tmp.XXXXXX")
cp "$BUILT" "$STAGE_DIR/mediasoup-worker"
chmod 755 "$STAGE_DIR/mediasoup-worker"
{
  echo "mediasoup $MEDIASOUP_VERSION"
  echo "recipe $RECIPE_HASH"
  echo "libsrtp $(basename "$SRTP_SRC") (OpenSSL crypto, static)"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -r)"
} > "$STAGE_DIR/BUILD-INFO"
chmod 755 "$STAGE_DIR"
if ! mv -T "$STAGE_DIR" "$FINAL_DIR" 2>/dev/null; then
  [[ -x "$FINAL_BIN" ]] || die "could not move the worker into $FINAL_DIR"
  log "$FINAL_DIR appeared meanwhile; keeping it"
fi
STAGE_DIR=

log "built in $(($(date +%s) - START_TS)) s: $FINAL_BIN"
echo "$FINAL_BIN" >&3
