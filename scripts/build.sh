#!/bin/sh
# Configure and build rtun out of tree in build/ (or $BUILD_DIR).
# Extra arguments go to configure, e.g. --enable-sanitizers.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}

cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi
fi
mkdir -p "$build"
cd "$build"
"$top/configure" --enable-werror "$@"
make -j"$(nproc)"
