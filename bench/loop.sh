#!/usr/bin/env bash
# bench/loop.sh N INPUT CMD...: run CMD N times, one process launch each, with
# stdin from INPUT; print the elapsed wall time in seconds. Every submitter
# (./sendmail, the floor, nullmailer) goes through this same bash loop so
# the fork/exec overhead is the same for all. Exits 1 at the first failure.
n=$1 in=$2
shift 2
t0=$EPOCHREALTIME
for ((i = 0; i < n; i++)); do
	"$@" < "$in" || { echo "loop: run $i of $* failed (exit $?)" >&2; exit 1; }
done
t1=$EPOCHREALTIME
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
