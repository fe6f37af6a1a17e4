#!/bin/sh
# The test suite, run by uvu over the compiled tests: `sh scripts/test.sh` runs all of it,
# `unit` only what needs no QEMU (seconds to a minute), `qemu` only the suites that boot QEMU
# (files named *.qemu.test.ts). Ends with one line "N passed, N failed" that CI reads; exits
# non-zero on any failure. A second argument, a regular expression over the paths under dist/test,
# runs only the files it matches: `sh scripts/test.sh qemu '^(boot|bootloader)/'`.
#
# Scheduling (docs/testing.md has the numbers): every test file, unit or QEMU, is one item of one
# queue and runs in its own uvu process; the files are independent (each works in its own scratch
# directory). Lanes take the next item until the queue is empty: one lane more than there are
# cores (BANKFORGE_TEST_LANES overrides), because most files wait part of their time (on a guest's
# timers, on the serial line, on child processes) and a waiting lane leaves its core to the others.
# The queue is longest first (test/costs.txt: seconds each file took in a suite run; a file not
# listed counts as 60 s if it boots QEMU, else 5 s), so the long QEMU files start at once and the
# short unit files fill the lanes at the end instead of one lane running long after the others.
# Each process's output is shown whole when it ends, with the time it took and the CPU time it
# and its children used (QEMU, compilers, tools); the counts of all of them are added up.
set -u
cd "$(dirname "$0")/.."
case "${1:-all}" in
  all|unit|qemu) what=${1:-all} ;;
  *) echo "usage: sh scripts/test.sh [all|unit|qemu] [REGEX]" >&2; exit 2 ;;
esac
only=${2:-'\.test\.js$'}
sh scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

cores=$(nproc 2>/dev/null || echo 2)
case "$cores" in ''|*[!0-9]*|0) cores=2 ;; esac
lanes=${BANKFORGE_TEST_LANES:-$((cores + 1))}
case "$lanes" in ''|*[!0-9]*|0) lanes=$((cores + 1)) ;; esac
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# The queue: "cost path" per file, longest first.
(cd dist/test && find . -name '*.test.js' -printf '%P\n') | grep -E -- "$only" | while read -r f; do
  case "$f" in
    *.qemu.test.js) [ "$what" = unit ] && continue; def=60 ;;
    *) [ "$what" = qemu ] && continue; def=5 ;;
  esac
  cost=$(awk -v f="${f%.js}.ts" '$2 == f { print $1; exit }' test/costs.txt 2>/dev/null)
  echo "${cost:-$def} $f"
done | sort -rn -k1,1 | cut -d' ' -f2- > "$logs/queue"
if [ ! -s "$logs/queue" ]; then
  echo "no test file under dist/test matches '$only' ($what)" >&2
  echo "0 passed, 1 failed"; exit 1
fi

# show LOG: prints a finished process's output in one piece, never interleaved with another's.
show() {
  until mkdir "$logs/print.lock" 2>/dev/null; do sleep 0.1; done
  grep -v '^uvu-exit \|^uvu-cpu ' "$1"
  rmdir "$logs/print.lock"
}

# take: the next file of the queue, under a mkdir lock (atomic), or nothing when it is empty.
take() {
  until mkdir "$logs/queue.lock" 2>/dev/null; do sleep 0.1; done
  head -n 1 "$logs/queue"; sed -i 1d "$logs/queue"
  rmdir "$logs/queue.lock"
}

hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
started=$(date +%s)
i=0
while [ "$i" -lt "$lanes" ]; do
  (
    while f=$(take) && [ -n "$f" ]; do
      name=$(printf '%s' "$f" | tr '/' '_')
      t0=$(date +%s.%N)
      # In a shell of its own, whose children's CPU time (/proc: cutime, cstime) is the file's:
      # Node's, and that of every QEMU, compiler and tool Node waited for.
      { sh -c 'node node_modules/uvu/bin.js dist/test "$1" 2>&1; s=$?; echo "uvu-cpu $(cut -d" " -f16,17 /proc/$$/stat)"; exit $s' sh "$(printf '^%s$' "$f" | sed 's/[.]/\\./g')"; echo "uvu-exit $?"; } > "$logs/$name.log"
      t1=$(date +%s.%N)
      cpu=$(sed -n 's/^uvu-cpu //p' "$logs/$name.log")
      awk -v f="${f%.js}.ts" -v a="$t0" -v b="$t1" -v l="$i" -v c="$cpu" -v hz="$hz" 'BEGIN { split(c, t, " "); printf "  time: %.1f s %s (lane %s, CPU %.1f s)\n", b - a, f, l, (t[1] + t[2]) / hz }' >> "$logs/$name.log"
      show "$logs/$name.log"
    done
  ) &
  i=$((i + 1))
done
wait
cpu=$(sed -n 's/^uvu-cpu //p' "$logs"/*.log | awk -v hz="$hz" '{ s += $1 + $2 } END { printf "%.0f", s / hz }')
echo "$(($(date +%s) - started)) s in $lanes lanes, CPU $cpu s"

total=0; passed=0; failed_runs=0
for log in "$logs"/*.log; do
  [ -e "$log" ] || continue
  # uvu prints "Total: N", "Passed: N", "Skipped: N"; anything not passed and not skipped failed.
  # A skipped test is a failure here too: the suite has no business skipping a check.
  t=$(sed -n 's/^ *Total: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  p=$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  s=$(sed -n 's/^uvu-exit //p' "$log")
  if [ -z "$t" ] || [ -z "$p" ]; then failed_runs=$((failed_runs + 1)); continue; fi
  [ "$s" = 0 ] || failed_runs=$((failed_runs + 1))
  total=$((total + t)); passed=$((passed + p))
done
failed=$((total - passed))
# The failures again, last, where a reader of the run's tail (CI keeps only the end) sees them:
# each failed file's name and its FAIL blocks, colours and library stack frames left out.
for log in "$logs"/*.log; do
  [ -e "$log" ] || continue
  t=$(sed -n 's/^ *Total: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  p=$(sed -n 's/^ *Passed: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  [ "$(sed -n 's/^uvu-exit //p' "$log")" = 0 ] && [ -n "$t" ] && [ "$t" = "$p" ] && continue
  name=$(basename "$log" .log)
  echo "--- failed: $name"
  sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
    / FAIL / { on = 1 }
    /^ *Total:/ { on = 0 }
    on && !/^ +at .*(node_modules|node:internal)/ && n < 80 { print; n++ }
    END { if (n == 0) print "  (no FAIL block: the process ended without one; its output is above)" }'
done

# A lane that ended without its counts (a crash before uvu's summary) is one failure at least.
[ "$failed_runs" -gt 0 ] && [ "$failed" = 0 ] && failed=1
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$failed_runs" = 0 ]
