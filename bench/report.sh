#!/usr/bin/env bash
# bench/report.sh W: print the benchmark report from the scratch directory W
# that bench/run filled (results.tsv, commands.txt, notes.txt, peers.env,
# total). bench/run calls it and saves the output as bench/results-latest.txt;
# run it by hand on a directory kept with `bench/run --keep`.
set -u
W=${1:?usage: bench/report.sh SCRATCHDIR}
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$W/peers.env" 2>/dev/null

echo "nullrelay benchmark — $(date -u -r "$W/results.tsv" '+%Y-%m-%d %H:%M:%S UTC')"
echo "host: $(uname -srm), $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo)," \
	"scratch fs: $(df -T "$W" | awk 'NR == 2 { print $2 " on " $1 }') (shared with other jobs)"
echo "nullrelay: git $(cd "$TOP" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$TOP" && git status --porcelain -- . ':!bench' 2>/dev/null | grep -q . && echo ' + uncommitted changes');" \
	"peers (Debian packages, unpacked, not installed): nullmailer ${NULLMAILER_VERSION:-n/a}, dma ${DMA_VERSION:-n/a}, postfix ${POSTFIX_VERSION:-n/a} (peer and smtp-sink)"
echo "run as: $(stat -c %U "$W/results.tsv"); bench time $(cat "$W/total" 2>/dev/null || echo ?)s"
echo "load: $(cat "$W/load" 2>/dev/null || echo '?') (1/5/15-min load average at start and end: other jobs share the machine)"
echo
if [ -s "$W/peers.tsv" ] && [ -s "$W/peer_rows.tsv" ]; then
	echo "Side by side (one run; every figure taken for each program in turn, round after round):"
	awk -F '\t' -f "$TOP/bench/table.awk" "$W/peer_rows.tsv" "$W/peers.tsv"
	echo
fi
awk -F '\t' '
	BEGIN { printf "%-54s %10s  %-6s %s\n", "measurement", "value", "unit", "detail" }
	{
		sec = $1; sub(/\..*/, "", sec)
		if (sec != last) printf "%s\n", "------------------------------------------------------------------------------------------"
		last = sec
		printf "%-54s %10s  %-6s %s\n", $4, $2, $3, $5
	}' "$W/results.tsv"
echo
echo "Ratios: rates nullrelay/other (> 1 = nullrelay faster); RSS nullrelay/other (< 1 = nullrelay smaller)."
echo
echo "Commands (W = scratch dir under /var/tmp, CONF/SPOOL/NMDIR under it; sources in bench/):"
sed 's/^/  /' "$W/commands.txt"
cat <<'CAVEATS'

How to read it (fixed caveats):
  - One machine, 2 CPUs, a virtual disk shared with other jobs: fsync latency moves
    with their load (runs of the same tree have given 60 to 260 msgs/s for the relayd
    drain). Compare figures within one run (same moment, same disk), not across runs.
  - Submission: every program runs once per message from the same bash loop; rounds of
    N/10 are taken in turn so a burst of load hits all alike. The floor is the least a
    durable maildir drop can do (create O_EXCL, write, fsync, rename, fsync dir);
    floor-libs is the same program linked with ./sendmail's shared libraries.
    Postfix's sendmail runs postdrop into maildrop/ with its master stopped (as relayd
    is during nullrelay's rounds); dma runs with DEFER: every program only queues.
  - Postfix as a peer: Debian's package unpacked, in a private mount namespace
    (bench/pf-ns.sh: overlays on /etc and /usr), its queue on the bench's disk, master
    run by PID; main.cf = a null client (pf_setup in bench/lib.sh), relayhost = the
    same sink, default concurrency. Drain: the backlog sits in deferred/, made by
    Postfix itself (defer_transports = smtp) and copied under fresh queue ids with the
    next-retry time a day ahead (bench/replicate_pf.py); timed from `postqueue -f`.
  - Peers that take longer than the round's bound are stopped and rated on what they
    delivered by then (their rates are steady: one process per message).
  - nullmailer has /etc, /usr/sbin, /var/spool paths compiled in: it runs in a private
    mount namespace (bench/nm-ns.sh: overlays on /etc and /usr, its spool bind-mounted
    from the scratch dir on the same disk). nullmailer-queue fsyncs the file and the
    queue dir, like nullrelay. Its sendmail runs as root (setuid mail nullmailer-queue).
  - Drain queue: SEED messages made by each program's own submission path, copied byte
    for byte under fresh names to N (bench/replicate.py) and synced once.
  - relayd --once first picks every drop file up (checks, moves into queue/, fsyncs in
    batches), then sends: its drain rate includes that. The peers' queues need no
    pick-up (dma's spool, nullmailer's queue/, Postfix's deferred/), so nullrelay's
    "of which sending" row is the like-for-like network-side figure.
  - dma forks one process and one connection per message, nullmailer-send one smtp
    process per message over one connection each; Postfix runs at its default
    concurrency (20 smtp per destination) with connection caching (plain) and a new
    connection per message over TLS (smtp_tls_connection_reuse = no by default).
  - The TLS drain uses bench/tls_sink.py (Python asyncio, STARTTLS, AUTH PLAIN/LOGIN,
    refuses MAIL before both), the plain one Postfix's smtp-sink (C): a TLS figure is
    bounded by the Python sink, the same one for every program. nullrelay verifies the
    chain and name (tls_ca_file), nullmailer too (--x509cafile); dma and Postfix
    (smtp_tls_security_level = encrypt) encrypt without verifying.
  - Latency: the programs take turns message by message, each submission waited for
    at the sink before the next; the peers' submissions include their unshare+mount.
  - Peak RSS by /usr/bin/time -f %M covers the process and every child it reaped
    (nullmailer: sendmail -> nullmailer-inject -> nullmailer-queue).
CAVEATS
if [ -s "$W/notes.txt" ]; then
	echo
	echo "Notes from this run:"
	sed 's/^/  - /' "$W/notes.txt"
fi
