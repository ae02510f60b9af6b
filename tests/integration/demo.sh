#!/usr/bin/env bash
# make demo (scripts/demo): the README's first command. It must deliver one
# message through a throwaway smarthost in under a minute, show mailq while
# the message waits, the log lines and the received message with its
# Received: line naming the uid, leave no process or scratch file behind,
# and fail when the message does not arrive.
. "$(dirname "$0")/../lib/common.sh"
require_bin() { [ -x "$SENDMAIL" ] && [ -x "$RELAYD" ]; }
require_bin || { fail "demo: binaries not built"; exit 0; }

# demo_run OUT CMD...: run it bounded; DEMO_RC, DEMO_SECS; the scratch
# directories it made are compared before and after.
demo_run() {
	local out=$1; shift
	local t0 before after
	before=$(ls -d /tmp/nullrelay-demo.* 2>/dev/null | sort)
	t0=$(date +%s)
	timeout 90 "$@" > "$out" 2>&1
	DEMO_RC=$?
	DEMO_SECS=$(( $(date +%s) - t0 ))
	after=$(ls -d /tmp/nullrelay-demo.* 2>/dev/null | sort)
	DEMO_LEFT=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep . || true)
}

# expect_demo WHO OUT UID: the checks on a successful run's output.
expect_demo() {
	local who=$1 out=$2 uid=$3 id
	check "$who: exits 0 (got $DEMO_RC)" [ "$DEMO_RC" = 0 ]
	check "$who: takes under a minute (${DEMO_SECS}s)" [ "$DEMO_SECS" -lt 60 ]
	id=$(grep -Eo '^    [0-9A-F]{16} ' "$out" | head -n 1 | tr -d ' ')
	check "$who: mailq shows the message while it waits ($id)" \
		eval '[ -n "$id" ] && grep -q "(waiting for pick-up)" "$out"'
	check "$who: shows the pick-up log line with uid=$uid" \
		grep -Eq "$id: from=<[^>]*>, size=[0-9]+, nrcpt=1, uid=$uid\$" "$out"
	check "$who: shows the delivery log line, status=sent" \
		grep -Eq "$id: to=<ops@example.org>, relay=localhost\[127\.0\.0\.1\]:[0-9]+, delay=[0-9.]+, tries=1, dsn=2\.0\.0, status=sent \(250 " "$out"
	check "$who: shows the received message with its Received: line naming uid $uid" \
		grep -Eq "^    Received: by demo\.nullrelay\.test \(nullrelay, from userid $uid\) id $id; " "$out"
	check "$who: the message went over TLS with AUTH" grep -Eq 'The smarthost saw: TLSv1\.[23], AUTH PLAIN as demo' "$out"
	check "$who: mailq is empty afterwards" grep -q '    Mail queue is empty' "$out"
	check "$who: removes its scratch directory${DEMO_LEFT:+ (left $DEMO_LEFT)}" [ -z "$DEMO_LEFT" ]
	check "$who: leaves no smarthost or relayd running" \
		eval '! pgrep -f "nullrelay-demo\.[A-Za-z0-9]{6}/" >/dev/null'
}

# 1. make demo itself, from the top of the tree (builds ./sendmail and
#    ./relayd/relayd if needed), as this user.
demo_run "$T/make.out" make -s -C "$TOP" demo
expect_demo "make demo" "$T/make.out" "$(id -u)"
sed "s/^/    | /" "$T/make.out"

# 2. As an ordinary user (relayd then runs as that user, who owns the
#    spool), from a copy of the pieces it needs anyone can read.
if is_root; then
	tree=$T/tree
	mkdir -p "$tree/scripts" "$tree/tests/lib" "$tree/relayd"
	cp "$TOP/scripts/demo" "$tree/scripts/" && cp "$TOP/tests/lib/certs.sh" "$tree/tests/lib/" &&
	cp "$TOP/tests/smarthost.py" "$tree/tests/" && cp "$SENDMAIL" "$tree/sendmail" &&
	cp "$RELAYD" "$(dirname "$RELAYD")/nullrelay-smtp" "$tree/relayd/"
	chmod -R a+rX "$tree"
	demo_run "$T/user.out" setpriv --reuid "$TEST_USER1" --regid "$TEST_USER1" --init-groups env -u SENDMAIL -u RELAYD "$tree/scripts/demo"
	expect_demo "demo as $TEST_USER1" "$T/user.out" "$(id -u "$TEST_USER1")"
else
	skip "demo as another user (needs root)"
fi

# 3. It fails when the message cannot arrive: a relayd that does nothing
#    (so no spool is made and sendmail refuses).
demo_run "$T/fail.out" env RELAYD=/bin/true "$TOP/scripts/demo"
check "a demo whose message cannot arrive exits non-zero (got $DEMO_RC)" [ "$DEMO_RC" != 0 ]
check "... and says why" grep -q '^demo: sendmail refused the message' "$T/fail.out"
check "... and still removes its scratch directory" [ -z "$DEMO_LEFT" ]
