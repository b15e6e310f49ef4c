#!/usr/bin/env bash
# build.sh makes the CPython-for-WASI artifacts that package codeinterp/wasi embeds:
#   python.wasm.gz   CPython 3.11 (Debian bookworm's python3.11 source) for wasm32-wasi, stripped
#   stdlib.zip.gz    the standard library as .pyc (stored zip, guest paths in tracebacks)
#   sitepkgs.zip.gz  sympy + mpmath from Debian's python3-sympy / python3-mpmath, as .pyc
#   SHA256SUMS       checksums of the .gz files and of their decompressed contents
# Everything comes from Debian bookworm/main packages through apt; no other download.
#
# Usage: codeinterp/wasi/build/build.sh [--install] [--verify]
#   --install  install the toolchain with apt-get (needs root) and add a deb-src entry if none exists
#   --verify   build into a temp dir and compare with the committed codeinterp/wasi/wasm/SHA256SUMS
# Builds in /tmp/hearth-cpython-wasi (fixed: the path is part of the output). Env: JOBS (default nproc).
set -euo pipefail

PY_DEB_VERSION=3.11.2-6+deb12u8
SYMPY_DEB_VERSION=1.11.1-1
MPMATH_DEB_VERSION=1.2.1-2
LLVM=19

HERE=$(cd "$(dirname "$0")" && pwd)
REPO_OUT=$(cd "$HERE/../wasm" && pwd)
# A fixed build directory: CPython bakes its source path into python.wasm (the
# VPATH define) and into _sysconfigdata, so another path gives other bytes.
WORK=/tmp/hearth-cpython-wasi
JOBS=${JOBS:-$(nproc)}
INSTALL=0 VERIFY=0
for a in "$@"; do
  case $a in
    --install) INSTALL=1 ;;
    --verify) VERIFY=1 ;;
    *) echo "unknown argument $a" >&2; exit 2 ;;
  esac
done
OUT=$REPO_OUT
if [ $VERIFY = 1 ]; then OUT=$WORK/out; fi

# Reproducibility: fixed time stamps, hash seed, locale and paths.
export SOURCE_DATE_EPOCH=1672531200 # 2023-01-01T00:00:00Z
export PYTHONHASHSEED=0 LC_ALL=C TZ=UTC
umask 022

if [ $INSTALL = 1 ]; then
  if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat >/etc/apt/sources.list.d/hearth-deb-src.sources <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  fi
  apt-get update -q
  apt-get install -y -q --no-upgrade clang-$LLVM lld-$LLVM llvm-$LLVM libclang-rt-$LLVM-dev-wasm32 wasi-libc \
    dpkg-dev build-essential pkg-config
fi

rm -rf "$WORK"
mkdir -p "$WORK" "$OUT"
cd "$WORK"

echo "== sources"
apt-get source -q "python3.11=$PY_DEB_VERSION" >/dev/null
SRC=$(ls -d "$WORK"/python3.11-3.11*/)
SRC=${SRC%/}
apt-get download -q "python3-sympy=$SYMPY_DEB_VERSION" "python3-mpmath=$MPMATH_DEB_VERSION"
mkdir debs
for d in python3-sympy_*.deb python3-mpmath_*.deb; do dpkg-deb -x "$d" debs; done

echo "== native build python"
mkdir native && cd native
"$SRC/configure" -q >/dev/null
make -s -j"$JOBS" >/dev/null 2>make.log || { tail -50 make.log; exit 1; }
BUILDPY=$WORK/native/python
cd "$WORK"

echo "== wasm32-wasi build"
mkdir wasi && cd wasi
mkdir pkgconfig # empty: keeps host .pc files (and host headers) out of the guest build
CONFIG_SITE="$SRC/Tools/wasm/config.site-wasm32-wasi" \
CC="clang-$LLVM --target=wasm32-wasi" CPP="clang-$LLVM --target=wasm32-wasi -E" \
AR=llvm-ar-$LLVM RANLIB=llvm-ranlib-$LLVM READELF=llvm-readelf-$LLVM \
PKG_CONFIG_LIBDIR="$WORK/wasi/pkgconfig" PKG_CONFIG_PATH= \
ac_cv_func_clock_nanosleep=no ac_cv_lib_rt_clock_nanosleep=no \
"$SRC/configure" -q --host=wasm32-unknown-wasi --build=x86_64-pc-linux-gnu \
  --with-build-python="$BUILDPY" --prefix=/usr/local --disable-ipv6 >/dev/null
make -s -j"$JOBS" EXTRA_CFLAGS="-Wno-int-conversion -ffile-prefix-map=$WORK=/build" python.wasm pybuilddir.txt \
  >/dev/null 2>make.log || { tail -50 make.log; exit 1; }
llvm-strip-$LLVM -o "$WORK/python.wasm" python.wasm
SYSCONFIG_DIR=$WORK/wasi/$(cat pybuilddir.txt)
cd "$WORK"

echo "== stdlib and site packages"
"$BUILDPY" "$HERE/mkzip.py" stdlib "$WORK/stdlib.zip" "$SRC/Lib" "$SYSCONFIG_DIR"
"$BUILDPY" "$HERE/mkzip.py" site "$WORK/sitepkgs.zip" "$WORK/debs/usr/lib/python3/dist-packages"

echo "== outputs"
# License texts of everything embedded (see NOTICE at the repository root).
mkdir -p "$OUT/licenses"
cp "$SRC/LICENSE" "$OUT/licenses/CPython-LICENSE"
cp "$SRC/Doc/license.rst" "$OUT/licenses/CPython-license.rst" # third-party parts: libmpdec, expat, ...
cp "$SRC/Modules/expat/COPYING" "$OUT/licenses/expat-COPYING"
cp /usr/share/doc/wasi-libc/copyright "$OUT/licenses/wasi-libc-copyright"
cp /usr/share/doc/libclang-rt-$LLVM-dev-wasm32/copyright "$OUT/licenses/compiler-rt-copyright"
cp debs/usr/share/doc/python3-sympy/copyright "$OUT/licenses/sympy-copyright"
cp debs/usr/share/doc/python3-mpmath/copyright "$OUT/licenses/mpmath-copyright"
for f in python.wasm stdlib.zip sitepkgs.zip; do
  gzip -9 -n -c "$WORK/$f" >"$OUT/$f.gz"
done
( cd "$WORK" && sha256sum python.wasm stdlib.zip sitepkgs.zip ) >"$OUT/SHA256SUMS"
( cd "$OUT" && sha256sum python.wasm.gz stdlib.zip.gz sitepkgs.zip.gz ) >>"$OUT/SHA256SUMS"
cat "$OUT/SHA256SUMS"
ls -l "$OUT"

if [ $VERIFY = 1 ]; then
  if diff -u "$REPO_OUT/SHA256SUMS" "$OUT/SHA256SUMS"; then
    echo "verify: OK, the build reproduces the committed artifacts"
  else
    echo "verify: MISMATCH" >&2; exit 1
  fi
fi
