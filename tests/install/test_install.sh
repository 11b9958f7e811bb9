#!/bin/sh
# test_install.sh BUILD_DIR SOURCE_DIR WORK_DIR CC CMAKE profiler|noprofiler
# Install BUILD_DIR into WORK_DIR/prefix, then use it as a user would:
# tiny.c built with pkg-config and through find_package(rcgc) (consumer/),
# each run; with the profiler, the installed rcgc (from PATH, no
# RCGC_PRELOAD) profiles the program with the installed shim.
set -eu
build=$1 src=$2 work=$3 cc=$4 cmake=$5 profiler=$6
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
fail() { echo "test_install: $*" >&2; exit 1; }

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" || fail "install failed (see $work/install.log)"
libdir=$(dirname "$(find "$prefix" -name 'librcgc.so' | head -1)")
[ -f "$libdir/librcgc.a" ] || fail "no librcgc.a beside librcgc.so in $libdir"
[ -f "$prefix/include/rcgc.h" ] || fail "no include/rcgc.h"

# pkg-config: the prefix is the one installed to
pc=$libdir/pkgconfig
[ "$(PKG_CONFIG_PATH=$pc pkg-config --variable=prefix rcgc)" = "$prefix" ] \
  || fail "rcgc.pc's prefix is $(PKG_CONFIG_PATH=$pc pkg-config --variable=prefix rcgc), not $prefix"
# shellcheck disable=SC2046
"$cc" -o "$work/tiny_pc" "$src/tiny.c" $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs rcgc) \
  -Wl,-rpath,"$libdir" || fail "cannot build tiny.c with pkg-config"
"$work/tiny_pc" | grep -q '^tiny: reclaimed [1-9]' || fail "tiny_pc did not run right"

# find_package(rcgc)
"$cmake" -S "$src/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" >"$work/consumer.log" 2>&1 || fail "find_package(rcgc) failed (see $work/consumer.log)"
"$cmake" --build "$work/consumer" >>"$work/consumer.log" 2>&1 || fail "consumer build failed (see $work/consumer.log)"
for t in tiny_shared tiny_static; do
  "$work/consumer/$t" | grep -q '^tiny: reclaimed [1-9]' || fail "$t did not run right"
done

[ "$profiler" = profiler ] || { echo "test_install: ok (no profiler in this build)"; exit 0; }
[ -f "$libdir/librcgc_preload.so" ] || fail "no librcgc_preload.so in $libdir"
[ -x "$prefix/bin/rcgc" ] || fail "no bin/rcgc"
cd "$work"
out=$(env -u RCGC_PRELOAD PATH="$prefix/bin:$PATH" rcgc run -o tiny.cap -- sh -c 'echo "$LD_PRELOAD"') \
  || fail "installed rcgc run failed"
[ "$(realpath "${out%%:*}")" = "$(realpath "$libdir/librcgc_preload.so")" ] \
  || fail "the installed rcgc preloaded $out, not $libdir/librcgc_preload.so"
env -u RCGC_PRELOAD PATH="$prefix/bin:$PATH" rcgc run -o tiny.cap -- "$work/tiny_pc" >/dev/null \
  || fail "installed rcgc run on tiny_pc failed"
"$prefix/bin/rcgc" summary tiny.cap | grep -q 'exit status 0' || fail "no summary of tiny.cap"
echo "test_install: ok"
