#!/bin/sh
# test_stacks.sh — whole stacks by default, through code without frame
# pointers.  Usage:
#   test_stacks.sh nofp RCGC NOFP_PROG   the test program (nofp_prog.c and
#       its library, -O2 -fomit-frame-pointer): with no options the stacks
#       of its allocations run from the leaf through the library to main,
#       each of its two callers with its own bytes;
#       with --unwind fp it does not (the program really has no frame
#       pointers, so this test can fail)
#   test_stacks.sh python RCGC           Debian's /usr/bin/python3: stacks
#       reach main (or Py_BytesMain); exit 77 (skipped) if it is absent
#   test_stacks.sh dlswap RCGC SWAP_PROG ONE.so TWO.so   two libraries of the
#       same code loaded one where the other was (swap_prog.c), with each
#       walk: each function has its own bytes (10,000 and 5,000), none
#       named as the other
set -eu
what=$1 rcgc=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rcgc_test_stacks.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# collapsed OPTIONS... -- PROG ARGS: the program's collapsed stacks, one a line.
collapsed() {
    "$rcgc" run -o "$tmp/run.cap" "$@" >"$tmp/run.out" 2>"$tmp/run.err" || {
        echo "test_stacks: rcgc run failed:" >&2
        cat "$tmp/run.err" >&2
        exit 1
    }
    "$rcgc" flamegraph --collapsed --by total -o "$tmp/stacks.txt" "$tmp/run.cap"
    cat "$tmp/stacks.txt"
}

# expect FILE PREFIX WHAT LINE...: each LINE ends a line of FILE, right
# after PREFIX; else the stacks are printed and the test fails.
expect() {
    e_file=$1 e_prefix=$2 e_what=$3
    shift 3
    for want in "$@"; do
        if ! grep -q "$e_prefix$want\$" "$e_file"; then
            echo "test_stacks: no $e_what '$want'; the stacks:" >&2
            cat "$e_file" >&2
            exit 1
        fi
    done
}

case $what in
nofp)
    prog=$3
    inner='nofp_lib_middle;nofp_lib_inner;nofp_callback;nofp_leaf'
    collapsed -- "$prog" >"$tmp/default.txt"
    expect "$tmp/default.txt" "__libc_start_call_main;" "whole stack by default" \
        "main;nofp_outer_a;$inner 5000" "main;nofp_outer_b;$inner 10000"
    collapsed --unwind fp -- "$prog" >"$tmp/fp.txt"
    if grep -q "main;nofp_outer_a;$inner" "$tmp/fp.txt"; then
        echo "test_stacks: the frame-pointer walk found the whole stack too: built with frame pointers?" >&2
        exit 1
    fi
    ;;
dlswap)
    prog=$3 one=$4 two=$5
    for walk in default fp; do
        opts=
        [ $walk = default ] || opts="--unwind $walk"
        collapsed $opts -- "$prog" "$one" "$two" >"$tmp/swap.txt"
        expect "$tmp/swap.txt" ";" "stack with the $walk walk" \
            "main;phase;plug_one_alloc 10000" "main;phase;plug_two_alloc 5000"
        if [ "$(grep -c 'plug_' "$tmp/swap.txt")" != 2 ]; then
            echo "test_stacks: other stacks through the plugins with the $walk walk:" >&2
            cat "$tmp/swap.txt" >&2
            exit 1
        fi
    done
    ;;
python)
    py=/usr/bin/python3
    if [ ! -x "$py" ]; then
        echo "test_stacks: $py not found (skipped)"
        exit 77
    fi
    collapsed -- "$py" -c 'x = [str(i) for i in range(1000)]' >"$tmp/py.txt"
    if ! grep -Eq '(^|;)(main|Py_BytesMain);' "$tmp/py.txt"; then
        echo "test_stacks: no stack of $py reaches main; the stacks:" >&2
        head -20 "$tmp/py.txt" >&2
        exit 1
    fi
    ;;
*)
    echo "usage: test_stacks.sh nofp RCGC PROG | python RCGC | dlswap RCGC PROG ONE TWO" >&2
    exit 2
    ;;
esac
echo "test_stacks: $what ok"
