#!/bin/sh
# nullrelay's container entry point: write relay.conf from the environment,
# check it, then run relayd in the foreground (logging to stderr) or the
# command given.
#
#   NULLRELAY_<KEY>=value     any relay.conf(5) key, upper-cased:
#                             NULLRELAY_SMARTHOST, NULLRELAY_TLS, NULLRELAY_AUTH_USER,
#                             NULLRELAY_ADMIN_ADDR, NULLRELAY_HOSTNAME,
#                             NULLRELAY_FROM_REWRITE, NULLRELAY_LISTEN, ...
#                             SMARTHOST and LISTEN take several values
#                             separated by commas or spaces (in order).
#   NULLRELAY_*_FILE          secrets come from files only (Docker/Podman
#                             secrets under /run/secrets): the file is copied
#                             to a private 0600 copy relayd accepts.
#   NULLRELAY_AUTH_PASSWORD (and any other secret as a plain value) is
#                             refused: the environment is visible to
#                             `docker inspect` and to every process.
#   NULLRELAY_CONF            where the file is written (default
#                             /etc/nullrelay/relay.conf). With no NULLRELAY_<KEY>
#                             set, an existing file there is used as it is.
#   NULLRELAY_RUNTIME_DIR     where secret copies go (default /run/nullrelay).
#
# Usage: entrypoint.sh [relayd ARGS | COMMAND ARGS | --print-config]
# No argument: relayd -f. `--print-config` prints the generated file and exits.
set -eu

me=nullrelay-entrypoint
conf=${NULLRELAY_CONF:-/etc/nullrelay/relay.conf}
runtime=${NULLRELAY_RUNTIME_DIR:-/run/nullrelay}
export NULLRELAY_CONF="$conf"

die() {
	# EX_CONFIG: what relayd -n returns for a bad configuration.
	printf '%s: %s\n' "$me" "$*" >&2
	exit 78
}

# Variables of ours that are not relay.conf keys.
is_control_var() {
	case $1 in
	NULLRELAY_CONF|NULLRELAY_RUNTIME_DIR) return 0 ;;
	esac
	return 1
}

# Secrets passed as plain values: refuse, and say what to do instead.
check_plain_secret() {
	case $1 in
	*_FILE|*_COMMAND) return 0 ;;
	*PASSWORD*)
		die "$1: a password may not be passed as an environment variable (docker inspect and every process in the container can read it); put it in a file, e.g. a Docker or Podman secret at /run/secrets/NAME, and set NULLRELAY_AUTH_PASSWORD_FILE=/run/secrets/NAME"
		;;
	*_SECRET|*_TOKEN)
		die "$1: a secret may not be passed as an environment variable (docker inspect and every process in the container can read it); put it in a file, e.g. a Docker or Podman secret at /run/secrets/NAME, and set ${1}_FILE=/run/secrets/NAME"
		;;
	esac
}

# private_copy VAR PATH: the secret at PATH (often root-owned 0444 under
# /run/secrets) copied to a file only this user can read, as relayd demands.
private_copy() {
	var=$1 src=$2
	[ -f "$src" ] || die "$var=$src: no such file (mount the secret there, or fix the path)"
	[ -r "$src" ] || die "$var=$src: not readable by uid $(id -u) (give the secret mode 0444, or uid $(id -u) in your compose file's secrets: section)"
	if ! mkdir -p "$runtime" 2>/dev/null || [ ! -w "$runtime" ]; then
		runtime=$(mktemp -d "${TMPDIR:-/tmp}/nullrelay-secrets.XXXXXX") ||
			die "no writable directory for the secret copies (set NULLRELAY_RUNTIME_DIR)"
	fi
	chmod 0700 "$runtime"
	dst=$runtime/$(printf '%s' "$var" | tr '[:upper:]' '[:lower:]')
	(umask 077 && cat "$src" > "$dst.tmp") || die "$var: cannot copy $src to $runtime"
	chmod 0600 "$dst.tmp" && mv -f "$dst.tmp" "$dst"
	# Run as root (docker run --user 0), relayd drops to the relay user,
	# who must own the copy and reach it.
	if [ "$(id -u)" = 0 ]; then
		chown "${NULLRELAY_USER:-nullrelay}" "$runtime" "$dst" ||
			die "$var: cannot give the secret copy to ${NULLRELAY_USER:-nullrelay}"
	fi
	printf '%s' "$dst"
}

# Keys whose value is a secret file relayd checks (owner, mode 0600/0400).
is_secret_file_key() {
	case $1 in
	auth_password_file|oauth2_client_secret_file) return 0 ;;
	esac
	return 1
}

# Keys that may be repeated: one value per word of the variable.
is_list_key() {
	case $1 in
	smarthost|listen) return 0 ;;
	esac
	return 1
}

generate() {
	names=$(env | sed -n 's/^\(NULLRELAY_[A-Z0-9_]*\)=.*/\1/p' | sort -u)
	out=
	n=0
	for name in $names; do
		is_control_var "$name" && continue
		# A line inside another variable's value may look like a name.
		value=$(printenv "$name") || continue
		check_plain_secret "$name"
		key=$(printf '%s' "${name#NULLRELAY_}" | tr '[:upper:]' '[:lower:]')
		case $value in
		*'
'*) die "$name: the value holds a newline; one line only" ;;
		*' #'*|*'	#'*) die "$name: \" #\" would start a comment in relay.conf; remove it from the value" ;;
		esac
		[ -n "$value" ] || die "$name is set but empty (unset it for the default)"
		if is_secret_file_key "$key"; then
			value=$(private_copy "$name" "$value") || exit 78
		fi
		if is_list_key "$key"; then
			for v in $(printf '%s' "$value" | tr ',' ' '); do
				out="$out$key = $v
"
				n=$((n + 1))
			done
		else
			out="$out$key = $value
"
			n=$((n + 1))
		fi
	done
	GENERATED=$out
	NKEYS=$n
}

GENERATED=''
NKEYS=0
generate
if [ "$NKEYS" -gt 0 ]; then
	text="# Written by $me from NULLRELAY_* variables at $(date -u '+%Y-%m-%dT%H:%M:%SZ').
# Edit the container's environment, not this file.
$GENERATED"
	if [ "${1:-}" = --print-config ]; then
		printf '%s' "$text"
		exit 0
	fi
	dir=$(dirname "$conf")
	mkdir -p "$dir" 2>/dev/null || true
	tmp="$conf.tmp.$$"
	(printf '%s' "$text" > "$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$conf") 2>/dev/null || {
		rm -f "$tmp"
		die "cannot write $conf as uid $(id -u) (make $dir writable by it, or set NULLRELAY_CONF to a writable path)"
	}
elif [ ! -f "$conf" ]; then
	die "no configuration: set NULLRELAY_SMARTHOST (and NULLRELAY_AUTH_USER, NULLRELAY_AUTH_PASSWORD_FILE, ...) or mount a relay.conf at $conf"
elif [ "${1:-}" = --print-config ]; then
	cat "$conf"
	exit 0
fi

[ $# -gt 0 ] || set -- relayd -f
case $1 in
-*) set -- relayd "$@" ;;
esac
if [ "$1" = relayd ]; then
	if ! err=$(relayd -n 2>&1 >/dev/null); then
		printf '%s: the configuration is refused:\n  %s\n' "$me" "$err" >&2
		if [ "$NKEYS" -gt 0 ]; then
			printf '%s: %s as written from the NULLRELAY_* variables:\n' "$me" "$conf" >&2
			cat -n "$conf" >&2
		fi
		exit 78
	fi
fi
exec "$@"
