# Shared helpers for integration tests (bash). Source it first:
#   . "$(dirname "$0")/../lib/common.sh"
# Results are lines "PASS: what", "FAIL: what" or "SKIP: what (why)";
# tests/run adds them up. A script exits 0 unless it could not run at all.

set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
SENDMAIL=${SENDMAIL:-$TOP/sendmail}
RELAYD=${RELAYD:-$TOP/relayd/relayd}
PY=/usr/bin/python3
TOOLS=$BUILD/tests/tools
# The relay account tests use; tests/run creates it when running as root.
RELAY_USER=${RELAY_USER:-nullrelay}
# Two throwaway submitters for the multi-user tests (created by tests/run).
TEST_USER1=${TEST_USER1:-nrtest1}
TEST_USER2=${TEST_USER2:-nrtest2}
case $SENDMAIL in /*) ;; *) SENDMAIL=$TOP/$SENDMAIL ;; esac
case $RELAYD in /*) ;; *) RELAYD=$TOP/$RELAYD ;; esac
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD; TOOLS=$BUILD/tests/tools ;; esac

pass() { printf 'PASS: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; }
skip() { printf 'SKIP: %s\n' "$*"; }

# check DESCRIPTION COMMAND...: PASS if the command succeeds, else FAIL.
check() {
	local what=$1; shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

is_root() { [ "$(id -u)" = 0 ]; }

# A scratch directory removed when the script exits; world-traversable so
# test users can reach a spool inside it.
T=$(mktemp -d /tmp/nrtest.XXXXXX)
chmod 755 "$T"
_cleanup_hooks=()
on_exit() { _cleanup_hooks+=("$*"); }
_run_cleanup() {
	local h
	for h in "${_cleanup_hooks[@]+"${_cleanup_hooks[@]}"}"; do eval "$h" || true; done
	rm -rf "$T"
}
trap _run_cleanup EXIT

# mk_spool DIR: create a spool at DIR owned by $RELAY_USER (as root) or by
# the current user, with the modes relayd itself would give it.
mk_spool() {
	"$TOOLS/mkspool" "$1" "$( is_root && echo "$RELAY_USER" || id -un)"
}

# write_conf FILE LINE...: a configuration file with one line per argument.
write_conf() {
	local f=$1; shift
	printf '%s\n' "$@" > "$f"
	chmod 644 "$f"
}

# not CMD...: true if CMD fails (for check).
not() { ! "$@"; }

# sendmail_setup NAME [LINE...]: for the tests of sendmail alone (no relayd):
# one FAIL line and status 1 unless sendmail and mkspool are built; else
# SP=$T/spool (not created: mk_spool it) and CONF=$T/relay.conf holding
# spool, hostname = host.example.net, default_domain = example.net, then
# the LINEs.
sendmail_setup() {
	local name=$1; shift
	if [ ! -x "$SENDMAIL" ] || [ ! -x "$TOOLS/mkspool" ]; then
		fail "$name: $SENDMAIL or $TOOLS/mkspool not built"
		return 1
	fi
	SP=$T/spool
	CONF=$T/relay.conf
	write_conf "$CONF" "spool = $SP" "hostname = host.example.net" \
		"default_domain = example.net" "$@"
}

# The single drop file in SPOOL's incoming/new (fails if not exactly one).
only_drop() {
	local n
	n=$(find "$1/incoming/new" -type f | wc -l)
	[ "$n" = 1 ] || { echo "expected 1 drop file, found $n" >&2; return 1; }
	find "$1/incoming/new" -type f
}

# The message part of a drop file (after the blank line ending the envelope).
drop_message() { sed '1,/^$/d' "$1"; }
# The envelope part of a drop file.
drop_envelope() { sed '/^$/q' "$1" | sed '$d'; }

# Replace the generated Date:/Message-ID: values so output compares exactly.
normalize_generated() {
	sed -E -e 's/^Date: .*/Date: DATE/' -e 's/^Message-ID: <[^>]*>/Message-ID: <ID>/'
}

# A copy of sendmail that other users can execute even when the source tree
# sits in a directory they cannot enter (CI may clone under /root): tests
# that run sendmail as nrtest1/nrtest2 must use "$(public_sendmail)".
# shim_bin PROG: PROG if an LD_PRELOAD shim can reach it, else (a static
# build, Makefile STATIC) its dynamic link of the same objects in
# $BUILD/dyn/ when built (make units).
shim_bin() {
	local d
	d=$BUILD/dyn/$(basename "$1")
	if [ -x "$d" ] && ldd "$1" 2>&1 | grep -Eq 'statically linked|not a dynamic executable'; then
		echo "$d"
	else
		echo "$1"
	fi
}

public_sendmail() {
	if [ ! -x "$T/pub/sendmail" ]; then
		mkdir -p "$T/pub"
		cp "$SENDMAIL" "$T/pub/sendmail"
		chmod 755 "$T/pub" "$T/pub/sendmail"
	fi
	echo "$T/pub/sendmail"
}

# Run a command as another user with only that user's groups.
as_user() {
	local u=$1; shift
	setpriv --reuid "$u" --regid "$u" --init-groups "$@"
}
