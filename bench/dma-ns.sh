#!/usr/bin/env bash
# bench/dma-ns.sh DMADIR CMD...: run CMD where dma, unpacked by bench/peers.sh
# into $DMA_TREE, finds its compiled-in /etc/dma/dma.conf: a private mount
# namespace (unshare -m, root only) with /etc = overlay of DMADIR/etc over
# the real /etc, read-only. DMADIR/etc/dma/dma.conf names SPOOLDIR (a
# scratch directory on the bench's disk). Nothing is installed on the host.
set -u
if [ -z "${DMA_IN_NS:-}" ]; then
	DMA_IN_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
d=$1
shift
mount -t overlay overlay -o "lowerdir=$d/etc:/etc" /etc || { echo "dma-ns: mount failed" >&2; exit 1; }
exec "$@"
