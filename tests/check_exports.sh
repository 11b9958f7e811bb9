#!/bin/sh
# Fails when the shared library exports a symbol not named rc_*.
set -e
lib="$1"
# (ASan adds __odr_asan.<name> markers for exported data: not ours to name)
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v -e '^rc_' -e '^__odr_asan\.' || true)
if [ -n "$bad" ]; then
  echo "exported symbols outside the rc_ namespace:"; echo "$bad"; exit 1
fi
echo "exports ok: $(nm -D --defined-only "$lib" | wc -l) symbols, all rc_*"
