# Shared helpers for the benchmark scripts (bash). bench/run sets W (the
# scratch directory), TOP, BENCH and exports them; each measurement script
# sources this file.
#
#   result KEY VALUE UNIT LABEL [DETAIL]  record one figure ($W/results.tsv)
#   note TEXT                     record a caveat or a failure ($W/notes.txt)
#   cmd TEXT                      record an exact command ($W/commands.txt)
#   say TEXT                      progress on stderr
#   now                           seconds since the epoch, microseconds
#   elapsed T0                    seconds since T0 (from now)
#   rate N SECONDS                N / SECONDS, 1 decimal
#   ratio A B                     A / B, 2 decimals ("-" if either is missing)
#   getres KEY                    a recorded value
#   bench_spool DIR               a spool for the relay user (mkspool)
#   msg2k FILE [N]                a 2 KB message (To:, Subject:, body)
#   wait_until SECONDS CMD...     poll CMD every 20 ms until true
#   free_port                     an unused TCP port on 127.0.0.1
#   stop_pid PID                  SIGTERM, then SIGKILL after 5 s; reaps it
#   stats V...                    "MEDIAN MIN MAX N" of the values ("-" ignored)
#   peer_fig FIG PEER UNIT V...   one figure of one program over the rounds
#                                 ($W/peers.tsv, the side-by-side table)
#   pf_setup/pf_start/pf_stop     a private Postfix (see below)

set -u
: "${W:?bench scripts are run by bench/run}"
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BENCH=${BENCH:-$TOP/bench}
SENDMAIL=${SENDMAIL:-$TOP/sendmail}
RELAYD=${RELAYD:-$TOP/relayd/relayd}
MKSPOOL=${MKSPOOL:-$TOP/build/tests/tools/mkspool}
PY=/usr/bin/python3
RELAY_USER=${RELAY_USER:-nullrelay}
# Where downloaded peers (nullmailer, postfix's smtp-sink) are kept, outside git.
PEERS=${PEERS:-/var/cache/nullrelay-bench}
# Sizes, overridable for a quick run (bench/run --quick).
N_SUBMIT=${N_SUBMIT:-500}
N_DRAIN=${N_DRAIN:-10000}

result() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "${5:-}" >> "$W/results.tsv"; }
note() { printf '%s\n' "$*" >> "$W/notes.txt"; printf 'bench: note: %s\n' "$*" >&2; }
cmd() { printf '%s\n' "$*" >> "$W/commands.txt"; }
say() { printf 'bench: %s\n' "$*" >&2; }

is_root() { [ "$(id -u)" = 0 ]; }
relay_user() { if is_root; then echo "$RELAY_USER"; else id -un; fi; }

now() { printf '%s\n' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f\n", n / s; else print "-" }'; }
ratio() {
	awk -v a="${1:--}" -v b="${2:--}" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}
getres() { awk -F '\t' -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "-" : v) }' "$W/results.tsv" 2>/dev/null; }

bench_spool() {
	"$MKSPOOL" "$1" "$(relay_user)" || { note "mkspool $1 failed"; return 1; }
}

# msg2k FILE [N]: To:/Subject: headers and a body, 2048 bytes in all, lines
# of 64 characters.
msg2k() {
	{
		printf 'To: sink@example.org\nSubject: bench message %s\n\n' "${2:-0}"
		local i line
		line=$(printf '%063d' 0 | tr 0 x)
		for ((i = 0; i < 40; i++)); do printf '%s\n' "$line"; done
	} | head -c 2047 > "$1"
	printf '\n' >> "$1"
	chmod 644 "$1"
}

wait_until() {
	local end
	end=$(awk -v a="$EPOCHREALTIME" -v s="$1" 'BEGIN { printf "%.3f", a + s }'); shift
	while :; do
		"$@" 2>/dev/null && return 0
		awk -v a="$EPOCHREALTIME" -v e="$end" 'BEGIN { exit !(a >= e) }' && return 1
		sleep 0.02
	done
}

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

_alive() { kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]; }
stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	wait_until 5 eval "! _alive $pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# count_files DIR: regular files directly in DIR (0 if DIR is missing).
count_files() { find "$1" -maxdepth 1 -type f 2>/dev/null | wc -l; }

# relay_conf FILE SPOOL [LINE...]: a relayd/sendmail config for the bench.
# Without a smarthost line it names a closed port (sendmail never connects).
relay_conf() {
	local f=$1 s=$2; shift 2
	{
		printf '%s\n' "spool = $s" "user = $(relay_user)" "hostname = bench.example.org" \
			"bounce_local = keep" "max_message_size = 2G"
		case " $* " in
		*" smarthost = "*) ;;
		*) printf '%s\n' "smarthost = 127.0.0.1:9" "tls = none" ;;
		esac
		printf '%s\n' "$@"
	} > "$f"
	chmod 644 "$f"
}

# nm_setup NMDIR [REMOTE]: the files nullmailer expects (see nm-ns.sh), as
# Debian's postinst makes them: queue, tmp, failed owned by mail, a FIFO
# trigger; REMOTE is a line of /etc/nullmailer/remotes.
nm_setup() {
	local d=$1 remote=${2:-}
	mkdir -p "$d/etc/nullmailer" "$d/spool/nullmailer/queue" "$d/spool/nullmailer/tmp" \
		"$d/spool/nullmailer/failed" || return 1
	echo bench.example.org > "$d/etc/mailname"
	echo bench.example.org > "$d/etc/nullmailer/defaultdomain"
	[ -z "$remote" ] || printf '%s\n' "$remote" > "$d/etc/nullmailer/remotes"
	rm -f "$d/spool/nullmailer/trigger"
	mkfifo -m 0622 "$d/spool/nullmailer/trigger" || return 1
	chown mail:root "$d/spool/nullmailer/queue" "$d/spool/nullmailer/tmp" \
		"$d/spool/nullmailer/failed" "$d/spool/nullmailer/trigger" &&
	chmod 750 "$d/spool/nullmailer/queue" "$d/spool/nullmailer/tmp" "$d/spool/nullmailer/failed"
}

# dma_setup DMADIR SPOOLDIR [PORT [EXTRA...]]: DMADIR/etc/dma/dma.conf for
# bench/dma-ns.sh: a null client to 127.0.0.1:PORT (default 9: nothing
# listens, and DEFER keeps mail queued), spool SPOOLDIR (root:mail 2775,
# as Debian's postinst makes /var/spool/dma). EXTRA: more dma.conf lines.
dma_setup() {
	local d=$1 s=$2 port=${3:-9}; shift 2; [ $# -gt 0 ] && shift
	mkdir -p "$d/etc/dma" "$s" || return 1
	{
		printf '%s\n' "SMARTHOST 127.0.0.1" "PORT $port" "SPOOLDIR $s" "MAILNAME bench.example.org" \
			"NULLCLIENT" "INSECURE"
		[ "$port" = 9 ] && echo DEFER
		printf '%s\n' "$@"
	} > "$d/etc/dma/dma.conf"
	[ -e "$d/etc/dma/auth.conf" ] || : > "$d/etc/dma/auth.conf"
	chown root:mail "$s" && chmod 2775 "$s"
}

# sink_start DIR [PORT]: Postfix's smtp-sink on 127.0.0.1:SINK_PORT, bounded to 600 s,
# counting sessions and messages (-c) into DIR/sink.out. Sets SINK_PID (the
# `timeout` wrapper: stop it with stop_pid, it passes the signal on).
sink_start() {
	local d=$1 u=()
	mkdir -p "$d"
	is_root && u=(-u nobody)
	SINK_PORT=${2:-$(free_port)}
	SINK_CMD="smtp-sink -c ${u[*]} 127.0.0.1:$SINK_PORT 256"
	LD_LIBRARY_PATH=$SMTP_SINK_LIBS timeout 600 "$SMTP_SINK" -c "${u[@]}" \
		"127.0.0.1:$SINK_PORT" 256 > "$d/sink.out" 2> "$d/sink.err" &
	SINK_PID=$!
	SINK_DIR=$d
	wait_until 5 eval "ss -Hltn 'sport = :$SINK_PORT' | grep -q LISTEN" ||
		{ note "smtp-sink did not start: $(cat "$d/sink.err")"; return 1; }
}
# sink_stat sess|mesg: smtp-sink's last counter line ("sess=N quit=N mesg=N").
sink_stat() {
	tr '\r' '\n' < "$SINK_DIR/sink.out" | grep . | tail -n 1 |
		sed -n "s/.*\\b$1=\\([0-9]*\\).*/\\1/p" | grep . || echo 0
}
sink_has() { [ "$(sink_stat mesg)" -ge "$1" ]; }

# proc_tree PID: PID and all its descendants.
proc_tree() {
	local p c
	echo "$1"
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do proc_tree "$c"; done
}
# vm KEY PID: VmRSS/VmHWM of PID in kB (empty if gone).
vm() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status" 2>/dev/null; }
mb() { awk -v k="$1" 'BEGIN { if (k == "" || k == "-") print "-"; else printf "%.1f\n", k / 1024 }'; }
# is_empty DIR: nothing in DIR (stops at the first name: cheap on big dirs).
is_empty() { [ -z "$(find "$1" -mindepth 1 -maxdepth 1 -print -quit 2>/dev/null)" ]; }

# stats V...: median, min, max and count of the numeric values ("-" and
# empty ones are skipped); "- - - 0" when there is none.
stats() {
	printf '%s\n' "$@" | awk '$1 != "-" && $1 != "" { v[n++] = $1 + 0 }
		END {
			if (n == 0) { print "- - - 0"; exit }
			for (i = 1; i < n; i++) for (j = i; j > 0 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			m = n % 2 ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
			printf "%s %s %s %d\n", m, v[0], v[n - 1], n
		}'
}
# peer_fig FIG PEER UNIT V...: record FIG (a row of the side-by-side table)
# for PEER (nullrelay, nullmailer, dma, postfix, floor...) as the median of
# the per-round values V (round i of every program taken in the same pass),
# with their spread and the raw values (report.sh pairs them by round for
# the ratios). FIG's label and which way is better come from peer_row.
peer_fig() {
	local fig=$1 peer=$2 unit=$3; shift 3
	local raw
	raw=$(printf '%s,' "$@"); raw=${raw%,}
	printf '%s\t%s\t%s\t%s\t%s\n' "$fig" "$peer" "$unit" "$(stats "$@" | tr ' ' '\t')" "${raw:--}" >> "$W/peers.tsv"
}
# peer_row FIG hi|lo LABEL: declare a row of the side-by-side table; hi: a
# larger value is better (rates), lo: a smaller one is (times, memory).
peer_row() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$W/peer_rows.tsv"; }
# med V...: the median alone.
med() { stats "$@" | awk '{ print $1 }'; }

# A private Postfix, unpacked by peers.sh into PF_TREE, run by bench/pf-ns.sh
# (which overlays PF_TREE/usr on /usr and DIR/etc on /etc in a private mount
# namespace, so Postfix's compiled-in paths and RUNPATH resolve). Its daemons
# run as PF_OWNER with PF_GROUP as setgid_group: the same throwaway accounts
# as tests/lib/postfix.sh, made by peers.sh.
PF_OWNER=${PF_OWNER:-nrpostfix}
PF_GROUP=${PF_GROUP:-nrpostdrop}
# pf_setup DIR PORT [MAIN.CF LINES...]: DIR/etc/postfix/{main,master}.cf for
# a null client relaying everything to [127.0.0.1]:PORT, with its queue in
# DIR/spool and its log in DIR/maillog, the queue directories as Postfix's
# post-install makes them; no listener (master_service_disable = inet).
pf_setup() {
	local d s q port=${2:-9}
	mkdir -p "$1" && d=$(cd "$1" && pwd) || return 1
	shift; [ $# -gt 0 ] && shift
	s=$d/spool
	mkdir -p "$d/etc/postfix" "$d/data" "$s" || return 1
	cp "$PF_TREE/usr/share/postfix/dynamicmaps.cf" "$PF_TREE/etc/postfix/postfix-files" "$d/etc/postfix/" || return 1
	{
		printf '%s\n' "compatibility_level = 3.6" "queue_directory = $s" "data_directory = $d/data" \
			"mail_owner = $PF_OWNER" "setgid_group = $PF_GROUP" "myhostname = bench.example.org" \
			"mydomain = example.org" "myorigin = \$myhostname" "mydestination =" "append_dot_mydomain = no" \
			"relayhost = [127.0.0.1]:$port" "inet_interfaces = loopback-only" "inet_protocols = ipv4" \
			"master_service_disable = inet" "maillog_file = $d/maillog" "maillog_file_prefixes = $d" \
			"alias_maps =" "alias_database =" "local_transport = error:local delivery is disabled" \
			"smtp_dns_support_level = disabled" "biff = no" "smtputf8_enable = no" "notify_classes ="
		printf '%s\n' "$@"
	} > "$d/etc/postfix/main.cf"
	# Debian's master.cf less the listener and the pipe transports, nothing
	# chrooted (the scratch queue has no etc/ of its own).
	cat > "$d/etc/postfix/master.cf" <<-'MASTER'
	pickup    unix  n       -       n       60      1       pickup
	cleanup   unix  n       -       n       -       0       cleanup
	qmgr      unix  n       -       n       300     1       qmgr
	tlsmgr    unix  -       -       n       1000?   1       tlsmgr
	rewrite   unix  -       -       n       -       -       trivial-rewrite
	bounce    unix  -       -       n       -       0       bounce
	defer     unix  -       -       n       -       0       bounce
	trace     unix  -       -       n       -       0       bounce
	verify    unix  -       -       n       -       1       verify
	flush     unix  n       -       n       1000?   0       flush
	proxymap  unix  -       -       n       -       -       proxymap
	proxywrite unix -       -       n       -       1       proxymap
	smtp      unix  -       -       n       -       -       smtp
	relay     unix  -       -       n       -       -       smtp
	showq     unix  n       -       n       -       -       showq
	error     unix  -       -       n       -       -       error
	retry     unix  -       -       n       -       -       error
	discard   unix  -       -       n       -       -       discard
	local     unix  -       n       n       -       -       local
	anvil     unix  -       -       n       -       1       anvil
	scache    unix  -       -       n       -       1       scache
	postlog   unix-dgram n  -       n       -       1       postlogd
	MASTER
	# Postfix re-reads, after a pause, a table changed in the last second or
	# so (a half-written file); a bench config is complete when written.
	touch -d '-1 minute' "$d/etc/postfix/main.cf" "$d/etc/postfix/master.cf" || return 1
	chown root:root "$s" && chmod 755 "$s" || return 1
	for q in active bounce corrupt defer deferred flush hold incoming private saved trace; do
		mkdir -p "$s/$q" && chown "$PF_OWNER:root" "$s/$q" && chmod 700 "$s/$q" || return 1
	done
	mkdir -p "$s/maildrop" "$s/public" "$s/pid" &&
	chown "$PF_OWNER:$PF_GROUP" "$s/maildrop" "$s/public" && chmod 730 "$s/maildrop" && chmod 710 "$s/public" &&
	chown "$PF_OWNER" "$d/data" && chmod 700 "$d/data"
}
# pf_start DIR: Postfix's master -d (foreground) for DIR, bounded to 900 s;
# waits until qmgr and pickup listen. Sets PF_MPID (stop it with pf_stop).
# setsid: master leads its own process group, which it signals when it stops.
pf_start() {
	PF_TREE=$PF_TREE timeout 900 setsid "$BENCH/pf-ns.sh" "$1" /usr/lib/postfix/sbin/master -d >> "$1/master.out" 2>&1 &
	PF_MPID=$!
	wait_until 10 eval "[ -S '$1/spool/public/qmgr' ] && [ -S '$1/spool/public/pickup' ]" ||
		{ note "postfix master did not start: $(tail -n 2 "$1/maillog" "$1/master.out" 2>/dev/null | tr '\n' ' ')"; return 1; }
}
# pf_stop: stop that master (SIGTERM: it stops its daemons) and wait for it.
pf_stop() { stop_pid "${PF_MPID:-}"; PF_MPID=; }
# pf_cmd DIR CMD...: run a Postfix command (sendmail, postqueue...) for DIR.
pf_cmd() { local d=$1; shift; PF_TREE=$PF_TREE "$BENCH/pf-ns.sh" "$d" "$@"; }
# pf_count DIR: queue files left in DIR's queue (incoming, active, deferred).
pf_count() { find "$1/spool/incoming" "$1/spool/active" "$1/spool/deferred" -type f 2>/dev/null | wc -l; }
