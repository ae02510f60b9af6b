# Helpers for relayd integration tests (bash). Source after common.sh:
#   . "$(dirname "$0")/../lib/common.sh"; . "$TOP/tests/lib/relay.sh"
#
# A test case is a "setup": relay_new NAME makes $T/NAME with its own spool,
# config and log, so cases never see each other's queued mail. Fake
# smarthosts (tests/smarthost.py) are started per case with sh_start.
#
#   relay_new NAME               RS (spool), RC (config), RL (relayd log), RD (dir)
#   sh_start SH JSON [ARGS...]   start a fake smarthost in $T/SH (ARGS: --tls valid|
#                                wrong|untrusted|expired, --implicit-tls, --client-ca);
#                                sets SH_PORT; stopped by PID at exit
#   sh_script SH JSON            change its script (read at each new connection)
#   shq SH EXPR                  query what it recorded (smarthost.py query)
#   relay_conf [LINE...]         write $RC: spool, user, hostname, tls, short timeouts,
#                                smarthost = 127.0.0.1:$SH_PORT, then the LINEs (a LINE
#                                "key = value" replaces a default line of that key)
#   submit [ARGS...] < MSG       ./sendmail -C $RC ARGS; SUBMIT_ID = the new drop file's id
#   submit_as USER [ARGS...]     the same as another user
#   relayd_once [ARGS...]        relayd -C $RC -f --once, bounded, log appended to $RL
#   relayd_start / relayd_stop   a background relayd -f; RELAYD_PID
#   relay_parked NAME [LINE...]  relay_new NAME, then relay_conf with a smarthost
#                                port nothing listens on: mail stays queued
#   wait_for SECONDS CMD...      poll CMD every 0.1 s until it succeeds or time runs out
#   log_has ERE                  grep -E in $RL
#   require_relay NAME           both binaries built, else one FAIL line
#   require_root_relay NAME [WHY]  that, and root, else one SKIP line
#   ms_since NS                  milliseconds since NS (date +%s%N)

. "$TOP/tests/lib/certs.sh"
SMARTHOST_PY=$TOP/tests/smarthost.py
CERTS=$T/certs

# The regular expressions of SPEC §8 (a prefix such as a time stamp or
# "relayd[123]:" is allowed before the queue id).
QID_RE='[0-9A-F]{16}'
DELIVERY_RE="(^|[[:space:]])($QID_RE): to=<[^>]*>, relay=[^ ,]+, delay=[0-9]+(\.[0-9]+)?, tries=[0-9]+, dsn=[245]\.[0-9]{1,3}\.[0-9]{1,3}, status=(sent|deferred|bounced) \(.+\)$"
PICKUP_RE="(^|[[:space:]])($QID_RE): from=<[^>]*>, size=[0-9]+, nrcpt=[0-9]+, uid=[0-9]+$"

relay_user() { if is_root; then echo "$RELAY_USER"; else id -un; fi; }

# wait_for SECONDS CMD...: 0 once CMD succeeds, 1 if it never did.
wait_for() {
	local end=$(( $(date +%s%N) / 1000000 + ${1%.*} * 1000 )); shift
	while :; do
		"$@" 2>/dev/null && return 0
		[ $(( $(date +%s%N) / 1000000 )) -ge "$end" ] && return 1
		sleep 0.1
	done
}

# The spool layout relayd makes when started as root (spool/spool_setup.c,
# relayd(8) FILES), for when build/tests/tools/mkspool is not built.
_mk_spool_sh() {
	local s=$1 u g
	u=$(relay_user); g=$(id -gn "$u")
	install -d -m 0755 -o "$u" -g "$g" "$s" "$s/incoming" &&
	install -d -m 3733 -o "$u" -g "$g" "$s/incoming/tmp" "$s/incoming/new" &&
	install -d -m 0700 -o "$u" -g "$g" "$s/queue" "$s/failed" "$s/quarantine"
}

relay_new() {
	RD=$T/$1
	RS=$RD/spool RC=$RD/relay.conf RL=$RD/relayd.log
	mkdir -p "$RD" && chmod 755 "$RD" && : > "$RL"
	if [ -x "$TOOLS/mkspool" ]; then mk_spool "$RS" >/dev/null; else _mk_spool_sh "$RS"; fi
	SH_PORT=
	make_certs "$CERTS" >/dev/null
}

# sh_start SH JSON [--tls NAME] [--implicit-tls] [--client-ca]
sh_start() {
	local name=$1 json=$2 d=$T/$1; shift 2
	local args=()
	while [ $# -gt 0 ]; do
		case $1 in
		--tls) args+=(--tls-cert "$CERTS/$2.pem" --tls-key "$CERTS/$2.key"); shift 2 ;;
		--client-ca) args+=(--tls-client-ca "$CERTS/ca.pem"); shift ;;
		*) args+=("$1"); shift ;;
		esac
	done
	make_certs "$CERTS" >/dev/null
	mkdir -p "$d"
	printf '%s\n' "$json" > "$d/script.json"
	rm -f "$d/port"
	"$PY" "$SMARTHOST_PY" --port 0 --portfile "$d/port" --script "$d/script.json" \
		--transcript "$d/t.jsonl" --maildir "$d/mail" --timeout-total 300 \
		"${args[@]+"${args[@]}"}" 2>>"$d/stderr" &
	echo $! > "$d/pid"
	on_exit "kill $! 2>/dev/null"
	wait_for 5 test -s "$d/port" || { echo "smarthost $name did not start" >&2; cat "$d/stderr" >&2; return 1; }
	SH_PORT=$(cat "$d/port")
}

sh_script() {
	printf '%s\n' "$2" > "$T/$1/script.json.tmp" && mv "$T/$1/script.json.tmp" "$T/$1/script.json"
}
sh_port() { cat "$T/$1/port"; }
sh_stop() { kill "$(cat "$T/$1/pid")" 2>/dev/null; }
# shq SH EXPR: true if the expression over the recording is true.
shq() { "$PY" "$SMARTHOST_PY" query "$T/$1" "$2"; }
# Number of messages the fake smarthost SH accepted.
sh_count() { find "$T/$1/mail" -name '*.eml' 2>/dev/null | wc -l; }
sh_has() { [ "$(sh_count "$1")" -ge "${2:-1}" ]; }

# A free TCP port on 127.0.0.1 that nothing listens on (for "connection refused").
closed_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

relay_conf() {
	local lines=(
		"spool = $RS"
		"user = $(relay_user)"
		"hostname = relay.test"
		"smarthost = 127.0.0.1:$SH_PORT"
		"tls = none"
		"timeout_connect = 2s"
		"timeout_greeting = 2s"
		"timeout_command = 3s"
		"timeout_data_block = 3s"
		"timeout_final_dot = 3s"
		"retry_min = 1s"
		"retry_max = 4s"
		"rescan_interval = 1s"
		"bounce_local = keep"
		"aliases = none"
	)
	local l k i out=()
	# A given "key = value" replaces the default of that key (smarthost: all
	# default smarthost lines are replaced by the given ones).
	for l in "${lines[@]}"; do
		k=${l%% =*}
		for i in "$@"; do [ "${i%% =*}" = "$k" ] && continue 2; done
		out+=("$l")
	done
	write_conf "$RC" "${out[@]}" "$@"
}

# A message with every header sendmail would otherwise add, so what reaches
# the smarthost is this text plus relayd's Received: line.
test_message() {
	printf 'From: Sender <sender@example.org>\nTo: rcpt@example.org\nSubject: %s\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.org>\n\nHello.\n' \
		"${1:-test}" "${1:-test}-$RANDOM$RANDOM"
}

# submit [ARGS...] < MSG: SUBMIT_ID = id of the drop file sendmail made.
submit() { _submit "" "$@"; }
submit_as() { local u=$1; shift; _submit "$u" "$@"; }
_submit() {
	local u=$1; shift
	local before after rc
	before=$(ls "$RS/incoming/new" 2>/dev/null | sort)
	if [ -n "$u" ]; then
		setpriv --reuid="$u" --regid="$u" --init-groups env NULLRELAY_CONF="$RC" "$SENDMAIL" "$@" 2>>"$RD/sendmail.err"
	else
		"$SENDMAIL" -C "$RC" "$@" 2>>"$RD/sendmail.err"
	fi
	rc=$?
	after=$(ls "$RS/incoming/new" 2>/dev/null | sort)
	SUBMIT_ID=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | head -n 1)
	return $rc
}

relayd_once() {
	timeout 60 "$RELAYD" -C "$RC" -f --once "$@" 2>>"$RL"
}

relayd_start() {
	"$RELAYD" -C "$RC" -f "$@" 2>>"$RL" &
	RELAYD_PID=$!
	on_exit "kill $RELAYD_PID 2>/dev/null"
	# Ready when its control socket exists (or, failing that, after 1 s).
	wait_for 3 test -S "$RS/relayd.sock" || sleep 0.2
	kill -0 "$RELAYD_PID" 2>/dev/null
}

# relayd_stop: SIGTERM, wait up to 10 s; returns relayd's exit status
# (124 if it did not exit).
relayd_stop() {
	local pid=$RELAYD_PID
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null
	if wait_for 10 _gone "$pid"; then
		wait "$pid"
		local rc=$?
		RELAYD_PID=
		return $rc
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	RELAYD_PID=
	return 124
}
_gone() { ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" = Z ]; }

log_has() { grep -Eq -- "$1" "$RL"; }
# The delivery log lines for queue id $1 (or all).
log_deliveries() { grep -E -- "$DELIVERY_RE" "$RL" | grep -E -- "${1:-.}"; }

# In the queue? (any file named after the id under queue/)
# queue_copies ID N: N more copies of queued message ID (its ID.msg and
# ID.env, owners and modes kept) under fresh ids in $RS/queue, without a
# queue/index: a large queue made faster than N pick-ups would.
queue_copies() {
	"$PY" - "$RS/queue" "$1" "$2" <<'PYEOF'
import os, secrets, sys
q, t, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
st = os.stat(os.path.join(q, t + ".env"))
data = {s: open(os.path.join(q, t + s), "rb").read() for s in (".env", ".msg")}
for i in range(n):
    new = "%016X" % secrets.randbits(64)
    for s, b in data.items():
        p = os.path.join(q, new + s)
        with open(p, "wb") as f:
            f.write(b)
        os.chown(p, st.st_uid, st.st_gid)
        os.chmod(p, 0o600)
PYEOF
}

queued() { ls "$RS/queue" 2>/dev/null | grep -q -- "^$1"; }
failed() { ls "$RS/failed" 2>/dev/null | grep -q -- "^$1"; }
# Nothing left for id $1 in queue/ or incoming/new/.
gone() { ! queued "$1" && [ ! -e "$RS/incoming/new/$1" ]; }

# eml_matches SH N ID UID MSGFILE: the N-th accepted message (1-based) is
# "Received: by relay.test (nullrelay, from userid UID) id ID; DATE" followed
# by MSGFILE with CRLF line ends, byte for byte.
eml_matches() {
	"$PY" - "$T/$1" "$2" "$3" "$4" "$5" <<'PYEOF'
import os, re, sys, json
d, n, qid, uid, src = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
md = os.path.join(d, "mail")
names = sorted((n[:-4] for n in os.listdir(md) if n.endswith(".eml")),
               key=lambda x: tuple(int(p) for p in re.findall(r"\d+", x)))
eml = open(os.path.join(md, names[n - 1] + ".eml"), "rb").read()
want = open(src, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
m = re.match(rb"Received: by relay\.test \(nullrelay, from userid (\d+)\)\s+id ([0-9A-F]{16});\s+"
             rb"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}"
             rb"(?: \([A-Z]+\))?\r\n", eml)
if not m:
    sys.exit("no Received: line of the SPEC's form at the top: %r" % eml[:200])
if m.group(1).decode() != uid:
    sys.exit("Received: names uid %s, want %s" % (m.group(1).decode(), uid))
if qid and m.group(2).decode() != qid:
    sys.exit("Received: names id %s, want %s" % (m.group(2).decode(), qid))
rest = eml[m.end():]
if rest != want:
    sys.exit("body differs:\n got %r\nwant %r" % (rest[:400], want[:400]))
PYEOF
}

# require_relay NAME: both binaries built, else one FAIL line (return 1).
require_relay() {
	local m=
	[ -x "$SENDMAIL" ] || m="$m $SENDMAIL"
	[ -x "$RELAYD" ] || m="$m $RELAYD"
	[ -z "$m" ] && return 0
	fail "$1: not built:$m"
	return 1
}

# require_root_relay NAME [WHY]: require_relay, and root (the tests that
# need the test users or another user's files), else one SKIP line naming
# WHY (default: test users). Returns 1 when the test cannot run.
require_root_relay() {
	require_relay "$1" || return 1
	is_root && return 0
	skip "$1: needs root (${2:-test users})"
	return 1
}

# ms_since NS: milliseconds since NS, a time from date +%s%N.
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# relay_parked NAME [LINE...]: a setup whose smarthost is a port nothing
# listens on, so whatever is submitted stays queued (LINEs as relay_conf).
relay_parked() {
	relay_new "$1"
	shift
	SH_PORT=$(closed_port)
	relay_conf "$@"
}

# deliver_until SECONDS SH [N]: run relayd --once every 0.3 s until SH has
# accepted N messages (default 1).
deliver_until() {
	local end=$(( $(date +%s) + $1 )) sh=$2 n=${3:-1}
	while :; do
		relayd_once
		sh_has "$sh" "$n" && return 0
		[ "$(date +%s)" -ge "$end" ] && return 1
		sleep 0.3
	done
}

# uid of a user name
uid_of() { id -u "$1"; }

# A secret file the relay user may read: secret_file PATH CONTENT [MODE]
secret_file() {
	printf '%s\n' "$2" > "$1"
	chmod "${3:-600}" "$1"
	chown "$(relay_user)" "$1"
}
