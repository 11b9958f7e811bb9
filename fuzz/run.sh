#!/bin/sh
# fuzz/run.sh BUILD SECONDS — run each libFuzzer target of BUILD (made by
# `make fuzz`) for SECONDS seconds, from the committed seeds plus what
# earlier runs found (BUILD/corpus/TARGET), and print per target the
# executions and the coverage (libFuzzer's cov: edges, ft: features), and
# for fuzz_heap the operations checked against its model.
# A crash, a failed check, a leak or a hang stops with its report and the
# input in BUILD/artifacts/; exit status 1 then.
set -u
build=$1
seconds=$2
src=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/artifacts"
status=0
summary=""
for t in capture cli heap; do
  seeds=$src/corpus/$t
  [ "$t" = cli ] && seeds=$src/corpus/capture
  mkdir -p "$build/corpus/$t"
  log=$build/fuzz_$t.log
  echo "== fuzz_$t: $seconds s"
  # close_fd_mask=1: the verbs' output is not wanted (reports still show)
  # a fixed seed: a run (CI's short pass) retraces the same inputs, so a
  # failure reproduces; FUZZ_SEED=0 lets libFuzzer pick one
  "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -max_len=8192 \
    -seed="${FUZZ_SEED:-1}" \
    -print_final_stats=1 -close_fd_mask=1 \
    -artifact_prefix="$build/artifacts/fuzz_$t-" \
    "$build/corpus/$t" "$seeds" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  corp=$(ls "$build/corpus/$t" | wc -l)
  ops=$(sed -n 's/^fuzz_heap: \([0-9]*\) operations checked.*/\1/p' "$log" | tail -1)
  line="fuzz_$t: ${runs:-?} executions in $seconds s, $cov, corpus $corp inputs${ops:+, $ops operations checked against the model}"
  if [ $rc -ne 0 ]; then
    status=1
    line="$line: FAILED (exit $rc, see $log)"
    grep -E 'ERROR|SUMMARY|fuzz_[a-z]*: ' "$log" | head -5
  fi
  echo "$line"
  summary="$summary$line
"
done
echo
printf '%s' "$summary"
exit $status
