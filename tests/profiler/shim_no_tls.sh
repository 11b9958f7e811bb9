#!/bin/sh
# shim_no_tls.sh SHIM — the preload shim has no thread-local storage, nor
# has any library it links but glibc's, and libunwind is not one of them
# (it is loaded only for --unwind libunwind): every module with TLS adds
# a slot to each thread's TLS vector, which the leak report counts
# (tools/preload/shim.h, "Invariants").  Fails naming what has TLS.
set -eu
shim=$1
fail=0
if readelf -lW "$shim" | grep -q ' TLS '; then
    echo "shim_no_tls: $shim has a TLS segment:"
    readelf -sW "$shim" | grep ' TLS ' || true
    fail=1
fi
if readelf -dW "$shim" | grep NEEDED | grep -i unwind; then
    echo "shim_no_tls: $shim links libunwind"
    fail=1
fi
n=0
for lib in $(ldd "$shim" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'); do
    case $(basename "$lib") in
    libc.so.*|ld-linux*|libpthread.so.*|libdl.so.*|libm.so.*) continue ;; # glibc's
    esac
    n=$((n + 1))
    if readelf -lW "$lib" | grep -q ' TLS '; then
        echo "shim_no_tls: $shim links $lib, which has TLS"
        fail=1
    fi
done
[ $fail = 0 ] || exit 1
echo "shim_no_tls: no TLS in $shim nor in the $n libraries it links"
