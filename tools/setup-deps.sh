#!/bin/sh
# setup-deps.sh — install the Debian packages rcgc's build and tests need,
# only those missing.  The Makefile runs it before configuring; run it by
# hand to set a machine up.
#
#   tools/setup-deps.sh [GROUP...]      (default: build)
#     build     cmake, pkg-config, libzstd/zlib (the profiler), libiberty
#               (the profiler's demangler), libdw/libelf (symbols),
#               libunwind (--unwind libunwind), protobuf-c (the pprof export)
#     test      build, plus python3 (the CLI's tests), libc6-dev (libc.a:
#               a static program for `rcgc run`'s tests), g++ (a C++
#               program's names), binutils (nm: the exports), the bench peers
#               whose quick runs are tests (mimalloc, jemalloc, Boehm GC)
#               and the HTML report's browser test (chromium, node, npm,
#               playwright-core from npm in tools/rcgc/tests/browser)
#     valgrind  valgrind (make valgrind)
#     bench     the benchmarks' peers and workloads (heaptrack, valgrind,
#               sqlite3, python3, mimalloc, jemalloc, Boehm GC)
#     fuzz      clang-14 and its runtime (make fuzz), lcov (make coverage)
#
# Installs with apt-get as root, or through sudo.  When it cannot (no root,
# no sudo, or sudo wanting a password without a terminal) it stops at once
# and prints the command to run.  Not Debian (no dpkg-query): it says what
# is needed and leaves the rest to the build's own checks.
# RCGC_SETUP=skip turns it off (make test RCGC_SETUP=skip); RCGC_SETUP=check
# only lists what is missing (exit 1 if anything is).
set -eu
[ "${RCGC_SETUP:-}" = skip ] && exit 0
cd "$(dirname "$0")/.."

# Each item: package[:command].  With a command, the package counts as
# present when the command is on PATH (however it was installed).
build="cmake:cmake pkg-config:pkg-config libzstd-dev zlib1g-dev libiberty-dev libdw-dev libelf-dev
  libunwind-dev libprotobuf-c-dev protobuf-c-compiler:protoc-c"
test="$build python3:python3 libc6-dev g++:g++ binutils:nm libmimalloc-dev libjemalloc-dev libgc-dev
  chromium:chromium nodejs:node npm:npm golang-go:go valgrind:valgrind xz-utils:xz make:make
  perl:perl sqlite3:sqlite3 jq:jq git:git"
fuzz="clang-14:clang-14 libclang-rt-14-dev lcov:lcov"
bench="python3:python3 heaptrack:heaptrack valgrind:valgrind sqlite3:sqlite3
  libmimalloc-dev libjemalloc-dev libgc-dev"

items=""
browser=no
[ $# -gt 0 ] || set -- build
for group in "$@"; do
  case $group in
    build) items="$items $build" ;;
    test) items="$items $test"; browser=yes ;;
    valgrind) items="$items valgrind:valgrind" ;;
    bench) items="$items $bench" ;;
    fuzz) items="$items $fuzz" ;;
    *) echo "setup-deps: unknown group $group (build, test, valgrind, bench, fuzz)" >&2; exit 2 ;;
  esac
done

missing=""
if command -v dpkg-query >/dev/null; then
  for item in $items; do
    pkg=${item%%:*}
    cmd=${item#"$pkg"}
    cmd=${cmd#:}
    case " $missing " in *" $pkg "*) continue ;; esac
    if [ -n "$cmd" ] && command -v "$cmd" >/dev/null; then continue; fi
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    [ "${status#ii}" != "$status" ] || missing="$missing $pkg"
  done
else
  echo "setup-deps: not a Debian system; rcgc needs the equivalents of:" \
    "$(echo "$items" | sed 's/:[^ ]*//g' | tr -s ' \n' ' ')" >&2
fi

if [ "${RCGC_SETUP:-}" = check ]; then
  [ -z "$missing" ] || { echo "setup-deps: missing:$missing"; exit 1; }
  echo "setup-deps: nothing missing"
  exit 0
fi

if [ -n "$missing" ]; then
  install="apt-get update && apt-get install -y --no-install-recommends$missing"
  if [ "$(id -u)" = 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
    sudo="sudo"
  else
    echo "setup-deps: missing packages:$missing" >&2
    echo "setup-deps: install them as root, then run make again:" >&2
    echo "  sudo sh -c '$install'" >&2
    exit 1
  fi
  echo "setup-deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  # shellcheck disable=SC2086
  $sudo apt-get install -y -q --no-install-recommends $missing
fi

# The browser test drives Debian's chromium with playwright-core (npm).
browser_dir=tools/rcgc/tests/browser
if [ $browser = yes ] && [ -f $browser_dir/package.json ] &&
   [ ! -d $browser_dir/node_modules/playwright-core ]; then
  echo "setup-deps: npm install in $browser_dir"
  npm install --prefix $browser_dir --no-audit --no-fund
fi
