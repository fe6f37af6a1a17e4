#!/bin/sh
# The test suite, run by uvu over the compiled tests: `sh scripts/test.sh` runs all of it,
# `unit` only what needs no QEMU (seconds to a minute), `qemu` only the suites that boot QEMU
# (files named *.qemu.test.ts). Ends with one line "N passed, N failed" that CI reads; exits
# non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
case "${1:-all}" in
  all)  set -- '\.test\.js$' ;;
  unit) set -- '\.test\.js$' --ignore '\.qemu\.test\.js$' ;;
  qemu) set -- '\.qemu\.test\.js$' ;;
  *)    echo "usage: sh scripts/test.sh [all|unit|qemu]" >&2; exit 2 ;;
esac
sh scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
{ node node_modules/uvu/bin.js dist/test "$@" 2>&1; echo "uvu-exit $?"; } | tee "$log" | grep -v '^uvu-exit '
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
