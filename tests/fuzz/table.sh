#!/bin/bash
# The "Long runs" table of README.md from the logs of a run: one row per
# out/NAME.log (or the logs named as arguments). Usage, after
# `make fuzz-long`: tests/fuzz/table.sh [tests/fuzz/out/fuzz_*.log]
set -u
cd "$(dirname "$0")" || exit 1
logs=("$@")
[ ${#logs[@]} -eq 0 ] && logs=(out/fuzz_*.log)
echo "| target | executions | time (s) | exec/s | cov | ft | corpus (files/size) | crashes |"
echo "|---|---:|---:|---:|---:|---:|---|---:|"
for log in "${logs[@]}"; do
	[ -f "$log" ] || continue
	name=$(basename "$log" .log)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	# The last status line: "#N DONE cov: C ft: F corp: K/SIZE ..."
	last=$(grep -a -E '^#[0-9]+[[:space:]]+(DONE|NEW|REDUCE|pulse|INITED)' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
	crashes=$(grep -a -c 'Test unit written' "$log")
	secs=""
	[ -n "${execs:-}" ] && [ -n "${rate:-}" ] && [ "$rate" -gt 0 ] && secs=$((execs / rate))
	echo "| \`$name\` | ${execs:-?} | ${secs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $crashes |"
done
