#!/usr/bin/env bash
# bench/pf-ns.sh PFDIR CMD...: run CMD where Postfix, unpacked by
# bench/peers.sh into $PF_TREE, finds what is compiled into it (/etc/postfix,
# /usr/sbin, /usr/lib/postfix with its RUNPATH, /usr/lib/postfix/sbin),
# without installing anything on the host: a private mount namespace
# (unshare -m, root only) with
#   /etc  = overlay of PFDIR/etc over the real /etc (read-only)
#   /usr  = overlay of $PF_TREE/usr over the real /usr (read-only)
# main.cf (pf_setup in lib.sh) puts queue_directory and data_directory in
# PFDIR, on the bench's disk. The mounts vanish with the namespace; a master
# started in one keeps it alive until it exits.
set -u
: "${PF_TREE:?PF_TREE (unpacked postfix) not set}"
if [ -z "${PF_IN_NS:-}" ]; then
	PF_IN_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
d=$1
shift
mount -t overlay overlay -o "lowerdir=$d/etc:/etc" /etc &&
mount -t overlay overlay -o "lowerdir=$PF_TREE/usr:/usr" /usr || { echo "pf-ns: mounts failed" >&2; exit 1; }
exec "$@"
