# Helpers for the SMTP listener tests (tests/integration/listen-*.sh).
# Source after relay.sh.
#
#   listen_setup NAME [CONF LINE...]  relay_new NAME, a fake smarthost sh-NAME,
#                                     LPORT, a config with listen = 127.0.0.1:LPORT
#                                     and metrics in the spool, relayd started
#   smtpc STEP...                     tests/lib/smtpc.py against LPORT (see there)
#   smtpc_at ARGS...                  the same with explicit --host/--src etc.
#   relayd_metric NAME                the value of NAME in the metrics file

SMTPC_PY=$TOP/tests/lib/smtpc.py

listen_setup() {
	local name=$1; shift
	relay_new "$name"
	sh_start "sh-$name" '{"ehlo":["PIPELINING","8BITMIME","SMTPUTF8","ENHANCEDSTATUSCODES"]}'
	LPORT=$(closed_port)
	LSH=sh-$name
	relay_conf "listen = 127.0.0.1:$LPORT" "metrics_file = $RS/metrics.prom" "$@"
	relayd_start
	wait_for 5 log_has "listen: accepting SMTP on"
}

smtpc() { timeout 60 "$PY" "$SMTPC_PY" "$LPORT" "$@"; }
smtpc_at() { timeout 60 "$PY" "$SMTPC_PY" "$@"; }

relayd_metric() {
	awk -v k="$1" '$1 == k { print $2 }' "$RS/metrics.prom" 2>/dev/null
}

# Nothing queued at all: no drop file, nothing in the queue.
spool_empty() {
	[ -z "$(ls "$RS/incoming/new")" ] && [ -z "$(ls "$RS/queue")" ]
}

# The received message N (1-based) of smarthost SH.
sh_mail() { cat "$T/$1/mail/conn-"*"-msg-$2.eml" 2>/dev/null | head -c 1000000; }
