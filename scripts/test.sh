#!/bin/sh
# The whole test suite: unit, property and integration (QEMU) tests, run by uvu over the
# compiled tests. Ends with one line "N passed, N failed" that CI reads; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
sh scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
{ node node_modules/uvu/bin.js dist/test '\.test\.js$' 2>&1; echo "uvu-exit $?"; } | tee "$log" | grep -v '^uvu-exit '
status=$(sed -n 's/^uvu-exit //p' "$log")

# uvu prints "Total: N", "Passed: N", "Skipped: N"; anything not passed and not skipped failed.
# A skipped test is a failure here too: the suite has no business skipping a check.
total=$(sed -n 's/^ *Total: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
passed=$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
if [ -z "$total" ] || [ -z "$passed" ]; then
  echo "0 passed, 1 failed"
  exit 1
fi
failed=$((total - passed))
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$status" = 0 ]
