#!/bin/sh
# Runs every unit test binary; prints one closing "N passed, N failed" line
# counting the cmocka tests of all of them (a binary that dies counts as one
# failure).
pass=0; fail=0; out=$(mktemp)
for t in "$@"; do
  if "$t" >"$out" 2>&1; then rc=0; else rc=1; fi
  cat "$out"
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
  if [ "$rc" -ne 0 ] && [ -z "$f" ]; then fail=$((fail + 1)); echo "FAILED: $t died"; fi
done
rm -f "$out"
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
