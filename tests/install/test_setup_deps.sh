#!/bin/sh
# test_setup_deps.sh SOURCE_DIR WORK_DIR — tools/setup-deps.sh against a
# fake Debian (dpkg-query, id, sudo, apt-get, npm on PATH): it installs
# only what is missing, as root through apt-get; without root or sudo it
# stops and prints the command to run.
set -eu
src=$1 work=$2
rm -rf "$work"
mkdir -p "$work/bin"
fail() { echo "test_setup_deps: $*" >&2; exit 1; }
fake() { printf '#!/bin/sh\n%s\n' "$2" >"$work/bin/$1"; chmod +x "$work/bin/$1"; }
# libzstd-dev and cmake are missing; everything else is installed
fake dpkg-query 'case "$*" in *libzstd-dev*|*cmake*) echo "un " ;; *) echo "ii " ;; esac'
fake apt-get "echo \"apt-get \$*\" >>$work/apt.log"
fake npm 'exit 0'
setup() { PATH="$work/bin:$PATH" RCGC_SETUP= sh "$src/tools/setup-deps.sh" "$@" </dev/null; }

# as root: apt-get update, then only the missing packages
fake id 'echo 0'
setup build >"$work/root.out" 2>&1 || fail "as root: exit $? ($(cat "$work/root.out"))"
grep -q '^apt-get update' "$work/apt.log" || fail "no apt-get update: $(cat "$work/apt.log")"
# (cmake counts as present when it is on PATH, however installed)
if command -v cmake >/dev/null; then want="libzstd-dev"; else want="cmake libzstd-dev"; fi
grep -q "^apt-get install -y -q --no-install-recommends $want\$" "$work/apt.log" \
  || fail "apt-get install should name exactly: $want; got: $(cat "$work/apt.log")"

# neither root nor sudo: stop, with the command to run
fake id 'echo 1000'
fake sudo 'exit 1'
rm -f "$work/apt.log"
if setup build >"$work/user.out" 2>&1; then fail "without root or sudo it should fail"; fi
grep -q "sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends .*libzstd-dev'" \
  "$work/user.out" || fail "no command to run in: $(cat "$work/user.out")"
[ ! -f "$work/apt.log" ] || fail "apt-get ran without root"

# nothing missing: nothing run
fake dpkg-query 'echo "ii "'
setup build test valgrind bench >"$work/none.out" 2>&1 || fail "nothing missing: exit $?"
[ ! -f "$work/apt.log" ] || fail "apt-get ran with nothing missing"
echo "test_setup_deps: ok"
