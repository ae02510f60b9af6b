#!/usr/bin/env bash
# bench/nm-ns.sh NMDIR CMD...: run CMD where nullmailer, unpacked by
# bench/peers.sh into $NM_TREE, finds the absolute paths compiled into it
# (/etc/nullmailer, /usr/sbin/nullmailer-queue, /usr/lib/nullmailer/smtp,
# /var/spool/nullmailer), without installing anything on the host: a private
# mount namespace (unshare -m, root only) with
#   /etc        = overlay of NMDIR/etc over the real /etc (read-only)
#   /usr        = overlay of $NM_TREE/usr over the real /usr (read-only)
#   /var/spool  = bind mount of NMDIR/spool (on the same disk as the bench,
#                 so fsync costs what it costs for nullrelay's spool)
# The mounts vanish with the namespace. nm_setup NMDIR prepares NMDIR.
set -u
: "${NM_TREE:?NM_TREE (unpacked nullmailer) not set}"
if [ -z "${NM_IN_NS:-}" ]; then
	NM_IN_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
d=$1
shift
mount -t overlay overlay -o "lowerdir=$d/etc:/etc" /etc &&
mount -t overlay overlay -o "lowerdir=$NM_TREE/usr:/usr" /usr &&
mount --bind "$d/spool" /var/spool || { echo "nm-ns: mounts failed" >&2; exit 1; }
exec "$@"
