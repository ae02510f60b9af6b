#!/usr/bin/env bash
# "The network comes back" (issue 10 item 6): relayd and the fake smarthost
# run inside a private network namespace; the smarthost's address sits on the
# namespace's loopback link. With the network down a message is deferred and
# the smarthost held down for an hour (retry_min = 1h); when the link comes
# back up (or the address is added again) relayd must deliver within seconds
# and log why. Needs root and iproute2; every server stays in the namespace.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/relay.sh"
require_relay relayd-netwatch || exit 0
# The shim needs dynamic programs (a static build's are in $BUILD/dyn).
SENDMAIL=$(shim_bin "$SENDMAIL") RELAYD=$(shim_bin "$RELAYD")

# Degrades cleanly: netlink refused (as systemd's RestrictAddressFamilies
# without AF_NETLINK would) is one warning, and delivery works as before.
if command -v cc >/dev/null && cc -shared -fPIC -o "$T/nonetlink.so" "$TOP/tests/lib/nonetlink.c" -ldl 2>"$T/cc.err"; then
	relay_new nonetlink
	sh_start sh-nonetlink '{"ehlo":["PIPELINING"]}'
	relay_conf
	asan=$(ldd "$RELAYD" 2>/dev/null | awk '/libasan/ { print $3 }')
	LD_PRELOAD="${asan:+$asan }$T/nonetlink.so" relayd_start
	submit -f s@example.org r@example.org < <(test_message nonetlink)
	check "no netlink: mail is still delivered" wait_for 10 sh_has sh-nonetlink
	check "no netlink: said once, with the reason" \
		[ "$(grep -c 'network changes: no netlink socket (Address family not supported by protocol)' "$RL")" = 1 ]
	relayd_stop
else
	skip "no netlink (cannot build the LD_PRELOAD shim: $(head -n 1 "$T/cc.err"))"
fi

if ! is_root; then
	skip "relayd-netwatch: network namespaces need root"
	exit 0
fi
if ! command -v ip >/dev/null; then
	skip "relayd-netwatch: no ip command (install iproute2)"
	exit 0
fi
NS=nrtest-$$-$RANDOM
if ! ip netns add "$NS" 2>"$T/netns.err"; then
	skip "relayd-netwatch: cannot create a network namespace: $(head -c 200 "$T/netns.err")"
	exit 0
fi
on_exit "ip netns del $NS 2>/dev/null"
ADDR=10.254.0.2
ip -n "$NS" link set lo up && ip -n "$NS" addr add "$ADDR/24" dev lo ||
	{ fail "netwatch: cannot set up the namespace's loopback"; exit 0; }

# ns_smarthost NAME: tests/smarthost.py inside the namespace on $ADDR.
ns_smarthost() {
	local d=$T/$1
	mkdir -p "$d"
	printf '%s\n' '{"ehlo":["PIPELINING","ENHANCEDSTATUSCODES"]}' > "$d/script.json"
	ip netns exec "$NS" "$PY" "$SMARTHOST_PY" --bind "$ADDR" --port 0 --portfile "$d/port" \
		--script "$d/script.json" --transcript "$d/t.jsonl" --maildir "$d/mail" \
		--timeout-total 120 2>>"$d/stderr" &
	on_exit "kill $! 2>/dev/null"
	wait_for 5 test -s "$d/port" || { cat "$d/stderr" >&2; return 1; }
	SH_PORT=$(cat "$d/port")
}
ns_relayd_start() {
	ip netns exec "$NS" "$RELAYD" -C "$RC" -f 2>>"$RL" &
	RELAYD_PID=$!
	on_exit "kill $RELAYD_PID 2>/dev/null"
	wait_for 3 test -S "$RS/relayd.sock"
}
deferred_count() { grep -c "status=deferred" "$RL"; }

# run_case NAME DOWN-CMD UP-CMD WHY-RE
run_case() {
	local name=$1 down=$2 up=$3 why=$4 t0 t1
	relay_new "$name"
	ns_smarthost "sh-$name" || { fail "$name: fake smarthost did not start"; return; }
	relay_conf "smarthost = $ADDR:$SH_PORT" "retry_min = 1h" "retry_max = 1h" "timeout_connect = 1s"
	ns_relayd_start || { fail "$name: relayd did not start"; return; }
	eval "$down" || { fail "$name: could not take the network down ($down)"; return; }
	submit -f s@example.org r@example.org < <(test_message "$name")
	check "$name: with the network down the message is deferred" \
		wait_for 10 eval "[ \$(deferred_count) -ge 1 ]"
	sleep 3
	check "$name: and not retried while it stays down (retry_min = 1h)" \
		[ "$(sh_count "sh-$name")" = 0 -a "$(deferred_count)" = 1 ]
	t0=$(date +%s)
	eval "$up" || { fail "$name: could not bring the network up ($up)"; return; }
	if wait_for 15 sh_has "sh-$name"; then
		t1=$(date +%s)
		pass "$name: delivered $((t1 - t0)) s after the network came back"
		check "$name: within 10 s" [ $((t1 - t0)) -le 10 ]
	else
		fail "$name: not delivered within 15 s after the network came back"
		sed 's/^/    /' "$RL" | tail -n 8
	fi
	check "$name: the log says why ($why)" \
		log_has "network change: $why; retrying deferred mail now"
	check "$name: delivery logged as sent" log_has ": to=<r@example.org>, .*status=sent"
	relayd_stop
	check "$name: relayd stops cleanly (exit 0)" [ $? = 0 ]
	if [ -n "${KEEP:-}" ]; then cp "$RL" "/tmp/netwatch-$name.log"; fi
}

run_case link "ip -n $NS link set lo down" "ip -n $NS link set lo up" \
	"link lo is up"
run_case addr "ip -n $NS addr del $ADDR/24 dev lo" "ip -n $NS addr add $ADDR/24 dev lo" \
	"new address 10\.254\.0\.2 on lo"
