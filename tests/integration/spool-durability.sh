#!/usr/bin/env bash
# SPEC §5.1, §5.6 and §3's exit codes: a message is queued whole or not at
# all. sendmail killed mid-message leaves nothing in incoming/new; a full disk
# is exit 74 with nothing partial anywhere; a missing spool is 73 naming the
# path; a spool the user may not write is 73. Also checks the order of the
# durability calls (fsync, rename, then fsync of the directory or the file).
# Each case runs through sendmail and through the spool API (drop-submit).
. "$(dirname "$0")/../lib/common.sh"

if ! is_root; then
	skip "spool durability (needs root to act as $TEST_USER1 and to mount a tmpfs)"
	exit 0
fi
for t in mkspool drop-submit; do
	if [ ! -x "$TOOLS/$t" ]; then
		fail "test tool $TOOLS/$t is built (make units)"
		exit 0
	fi
done
cp "$TOOLS/drop-submit" "$T/"
chmod 755 "$T/drop-submit"
U1=$TEST_USER1

checke() { if eval "$2"; then pass "$1"; else fail "$1"; fi; }
as() {
	local u=$1; shift
	setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups -- \
		/bin/sh -c 'umask 077; exec "$@"' sh "$@"
}
conf_for() {	# conf_for SPOOL FILE
	write_conf "$2" "spool = $1" "smarthost = 127.0.0.1:2525" "tls = none" \
		"hostname = test.example.org"
}
# submit WAY SPOOL CONF: queue stdin as $U1 by sendmail or by the spool API.
submit() {
	case $1 in
	sendmail) as "$U1" "$SENDMAIL" -C "$3" -i rcpt@example.org ;;
	api) as "$U1" "$T/drop-submit" "$2" "$U1@example.org" rcpt@example.org >/dev/null ;;
	esac
}
nfiles() { find "$@" -type f 2>/dev/null | wc -l; }

ways=(api)
if [ -x "$SENDMAIL" ]; then
	ways+=(sendmail)
else
	fail "sendmail is built ($SENDMAIL missing): sendmail durability not tested"
fi

# ---- kill -9 in the middle of a large message ---------------------------
for way in "${ways[@]}"; do
	SP=$T/kill-$way
	mk_spool "$SP"
	conf_for "$SP" "$T/kill-$way.conf"
	mkfifo "$T/fifo-$way"
	# exec all the way down, so $! is the submitter itself.
	if [ "$way" = sendmail ]; then
		set -- "$SENDMAIL" -C "$T/kill-$way.conf" -i rcpt@example.org
	else
		set -- "$T/drop-submit" "$SP" "$U1@example.org" rcpt@example.org
	fi
	(exec setpriv --reuid="$U1" --regid="$(id -g "$U1")" --init-groups -- "$@" \
		< "$T/fifo-$way" > /dev/null 2>&1) &
	pid=$!
	prog=$(basename "$1" | cut -c1-15)
	exec 3> "$T/fifo-$way"
	printf 'Subject: big\n\n' >&3
	line=$(printf '%0100d' 0)
	for i in $(seq 1 20); do
		for j in $(seq 1 200); do printf '%s\n' "$line"; done >&3
		sleep 0.05
	done
	# ~400 KB written, more to come: the submitter is mid-stream.
	sleep 0.3
	checke "$way is still running mid-message (pid $pid)" \
		'[ "$(cat /proc/$pid/comm 2>/dev/null)" = "$prog" ]'
	kill -9 "$pid" 2>/dev/null
	exec 3>&-
	wait "$pid" 2>/dev/null
	checke "$way killed with SIGKILL mid-message: nothing in incoming/new" \
		'[ "$(nfiles "$SP/incoming/new")" = 0 ]'
	# The partial file may stay in tmp/ (relayd sweeps stale ones); it is
	# never visible to pick-up.
done

# ---- a full disk -----------------------------------------------------------
FULL=$T/full
mkdir -p "$FULL"
if mount -t tmpfs -o size=1m,mode=755 tmpfs "$FULL" 2>/dev/null; then
	on_exit "umount '$FULL'"
	for way in "${ways[@]}"; do
		SP=$FULL/spool-$way
		mk_spool "$SP"
		conf_for "$SP" "$T/full-$way.conf"
		head -c 2000000 /dev/zero | tr '\0' 'x' | fold -w 100 |
			sed '1i Subject: too big for the disk\n' > "$T/big.txt"
		submit "$way" "$SP" "$T/full-$way.conf" < "$T/big.txt" 2> "$T/full.err"
		rc=$?
		check "$way on a full disk exits 74 (EX_IOERR), got $rc" [ "$rc" = 74 ]
		checke "$way on a full disk says why on stderr" \
			'grep -qi "space\|I/O\|disk" "$T/full.err"'
		checke "$way on a full disk leaves nothing in incoming/new or incoming/tmp" \
			'[ "$(nfiles "$SP/incoming/new" "$SP/incoming/tmp")" = 0 ]'
		rm -rf "$SP"
	done
else
	skip "full disk (cannot mount a tmpfs here)"
fi

# ---- the spool is missing --------------------------------------------------
for way in "${ways[@]}"; do
	conf_for "$T/no-such-spool" "$T/missing.conf"
	printf 'Subject: x\n\nx\n' | submit "$way" "$T/no-such-spool" "$T/missing.conf" \
		2> "$T/missing.err"
	rc=$?
	check "$way without a spool exits 73 (EX_CANTCREAT), got $rc" [ "$rc" = 73 ]
	checke "$way names the missing spool path" 'grep -q "$T/no-such-spool" "$T/missing.err"'
	checke "$way says how to create the spool" 'grep -qi "relayd" "$T/missing.err"'
	check "$way did not create the spool" [ ! -e "$T/no-such-spool" ]

	# A half-made spool: incoming/tmp missing is named too.
	SP=$T/half-$way
	mk_spool "$SP"
	rmdir "$SP/incoming/tmp"
	conf_for "$SP" "$T/half.conf"
	printf 'Subject: x\n\nx\n' | submit "$way" "$SP" "$T/half.conf" 2> "$T/half.err"
	rc=$?
	check "$way without incoming/tmp exits 73, got $rc" [ "$rc" = 73 ]
	checke "$way names the missing incoming/tmp" 'grep -q "$SP/incoming/tmp" "$T/half.err"'
done

# ---- the spool is not writable for this user -------------------------------
for way in "${ways[@]}"; do
	SP=$T/ro-$way
	mk_spool "$SP"
	chmod 0700 "$SP/incoming/tmp"
	conf_for "$SP" "$T/ro.conf"
	printf 'Subject: x\n\nx\n' | submit "$way" "$SP" "$T/ro.conf" 2> "$T/ro.err"
	rc=$?
	check "$way with an unwritable spool exits 73, got $rc" [ "$rc" = 73 ]
	checke "$way with an unwritable spool says why" '[ -s "$T/ro.err" ]'
	checke "$way with an unwritable spool leaves nothing in incoming/new" \
		'[ "$(nfiles "$SP/incoming/new")" = 0 ]'
done

# ---- the durability calls, in order (SPEC §5.1) ----------------------------
# As an ordinary user (no read permission on incoming/new): fsync the file,
# rename into new/, fsync the file again. As root: fsync the directory.
if command -v strace >/dev/null; then
	for way in "${ways[@]}"; do
		SP=$T/sync-$way
		mk_spool "$SP"
		conf_for "$SP" "$T/sync.conf"
		# strace runs as root and traces the submitter after setpriv.
		printf 'Subject: x\n\nx\n' | strace -f -qq -o "$T/strace-$way" \
			-e trace=fsync,fdatasync,rename,renameat,renameat2,openat \
			setpriv --reuid="$U1" --regid="$(id -g "$U1")" --init-groups -- \
			$( [ "$way" = api ] && echo "$T/drop-submit $SP $U1@example.org" ||
				echo "$SENDMAIL -C $T/sync.conf -i" ) rcpt@example.org \
			>/dev/null 2>&1
		calls=$(grep -E 'fsync|rename' "$T/strace-$way" | grep -v '= -1' |
			sed -E 's/^[0-9]+ +//; s/\(.*//' | tr '\n' ' ')
		checke "$way as a user: fsync, rename into new/, fsync again ($calls)" \
			'grep -qE "fsync.* rename[a-z0-9]* fsync" <<<"$calls"'
	done
	SP=$T/sync-root
	mk_spool "$SP"
	printf 'Subject: x\n\nx\n' | strace -f -qq -o "$T/strace-root" \
		-e trace=fsync,rename,renameat,renameat2,openat \
		"$T/drop-submit" "$SP" root@example.org rcpt@example.org >/dev/null 2>&1
	checke "as root: the directory incoming/new is fsynced after the rename" \
		'sed -n "/^[0-9]* *rename/,\$p" "$T/strace-root" |
		grep -A1 "openat(.*incoming/new\".*O_DIRECTORY" | grep -q "fsync("'
else
	skip "order of fsync and rename (strace not installed)"
fi
exit 0
