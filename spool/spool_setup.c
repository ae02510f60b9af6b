/*
 * The spool: its layout, and creating or repairing it (spool_setup). The
 * submission side is in spool_drop.c, the pick-up side in pickup.c.
 *
 * Layout (owner "relay" is the config's `user`, group its primary group):
 *
 *   SPOOL/                 0755 relay:relay
 *   SPOOL/incoming/        0755 relay:relay
 *   SPOOL/incoming/tmp/    3733 relay:relay  setgid + sticky, no read for others
 *   SPOOL/incoming/new/    3733 relay:relay
 *   SPOOL/queue/           0700 relay:relay  relayd's private queue (ID.msg, ID.env)
 *   SPOOL/failed/          0700 relay:relay  messages with failed recipients
 *   SPOOL/quarantine/      0700 relay:relay  refused drop files, kept for the admin
 *   SPOOL/relayd.sock      0666 socket       mailq for ordinary users, -q trigger
 *
 * Why 3733 for the drop directories: anyone may create a file (w+x), nobody
 * but relayd may list them (no r), the sticky bit stops users from renaming
 * or deleting each other's files, and setgid makes every file's group the
 * relay group, so a file given mode 0640 is readable by relayd and by nobody
 * else (callers such as mutt run with umask 077, hence the explicit fchmod).
 *
 * Life of a message:
 *  1. drop (sendmail, as the submitting user; spool_drop.c): create
 *     incoming/tmp/ID with O_CREAT|O_EXCL|O_NOFOLLOW, ID = queue_id_new();
 *     fchmod 0640; write "NULLRELAY-DROP 1", a 20-digit length placeholder,
 *     the envelope (spool_envelope.h), a blank line, then the message through a
 *     64 KiB buffer (memory stays flat whatever the size); pwrite the real
 *     length; fsync; rename (no replace) to incoming/new/ID; make the rename
 *     durable (below). Any failure unlinks the file: nothing partial is ever
 *     visible in new/. The file's owner is the submitter, attested by the
 *     kernel; nothing the file says about its uid is believed.
 *  2. pick-up (relayd; pickup.c): every name in new/ is hostile input:
 *     lstat (regular, one link), open O_NOFOLLOW|O_NONBLOCK, fstat matches,
 *     size limit, header parses, length matches. Non-files are removed,
 *     refused files moved to quarantine/, young half-written ones left for
 *     later.
 *  3. queue (relayd): copied with a Received: header naming st_uid into
 *     queue/ID.msg + queue/ID.env, fsynced, then the drop file is unlinked.
 *  4. sent (removed from queue/) or failed (bounced, or kept in failed/).
 *
 * Durability (SPEC §5.1): after the rename the directory entry must reach
 * the disk too. When the submitter may open incoming/new (root, or the relay
 * user on a one-user spool) we fsync that directory. Other users cannot open
 * it (no read permission), so we fsync the file again after the rename: on
 * ext4, xfs and btrfs the rename and the file's inode change are in the same
 * journal transaction (or an earlier one), so that fsync makes the rename
 * durable with it. This is tested by tests/integration/spool-durability.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "util.h"

struct spool_dir {
	const char *rel;	/* relative to SPOOL; "" is SPOOL itself */
	const char *name;	/* last component */
	int parent;		/* index of the parent in layout[], -1 for SPOOL */
	mode_t mode;
};

/* Parents come before their children: each directory is opened relative to
 * its parent's descriptor, so a symlink swapped in between cannot redirect
 * a chown. */
static const struct spool_dir layout[] = {
	{ "", NULL, -1, 0755 },
	{ SPOOL_DROP_DIR, "incoming", 0, 0755 },
	{ SPOOL_DROP_TMP, "tmp", 1, 03733 },
	{ SPOOL_DROP_NEW, "new", 1, 03733 },
	{ SPOOL_QUEUE, SPOOL_QUEUE, 0, 0700 },
	{ SPOOL_FAILED, SPOOL_FAILED, 0, 0700 },
	{ SPOOL_QUARANTINE, SPOOL_QUARANTINE, 0, 0700 },
};

int spool_path(char *out, size_t outlen, const char *spool, const char *rel)
{
	int n;

	if (rel == NULL || *rel == '\0')
		n = snprintf(out, outlen, "%s", spool);
	else
		n = snprintf(out, outlen, "%s/%s", spool, rel);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}

/* Create the parents of path that are missing (like mkdir -p), mode 0755:
 * they are not ours to own, only to make exist. */
static int make_parents(const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	char *p;

	if (strlcpy(tmp, path, sizeof(tmp)) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	for (p = tmp + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return 0;
}

/* Open (creating if missing) one spool directory, refusing symlinks. path
 * names it in messages; parent/name is what is opened. */
static int open_dir(int parent, const char *name, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (mkdirat(parent, name, 0700) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
			return -1;
		}
	} else if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "%s is a symlink; refusing to use it as a spool directory",
		    path);
		return -1;
	} else if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s exists but is not a directory", path);
		return -1;
	}
	/* O_NOFOLLOW closes the window between the lstat and the open. */
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)
			snprintf(err, errlen, "%s is a symlink; refusing to use it", path);
		else
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
	}
	return fd;
}

/* Bring one directory to its owner and mode (root), or check it (others). */
static int fix_dir(int fd, const char *path, mode_t want, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	bool root = geteuid() == 0;
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_uid != uid && !root) {
		snprintf(err, errlen,
		    "%s is owned by uid %lu, not uid %lu; start relayd as root once to repair it",
		    path, (unsigned long)st.st_uid, (unsigned long)uid);
		return -1;
	}
	if (st.st_uid != uid || st.st_gid != gid) {
		/* A non-root owner may still move the group to one it is in. */
		if (fchown(fd, root ? uid : (uid_t)-1, gid) == -1) {
			snprintf(err, errlen, "cannot give %s to uid %lu gid %lu: %s", path,
			    (unsigned long)uid, (unsigned long)gid, strerror(errno));
			return -1;
		}
	}
	/* After the chown, which may clear the setgid bit. */
	if ((st.st_mode & 07777) != want || st.st_uid != uid || st.st_gid != gid) {
		if (fchmod(fd, want) == -1) {
			snprintf(err, errlen, "cannot set mode %04o on %s: %s", (unsigned)want, path,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

int spool_setup(const char *spool, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int fds[NR_ARRAY_LEN(layout)];
	char path[4096];
	size_t i, j;
	int rc = -1;

	if (spool == NULL || spool[0] != '/') {
		snprintf(err, errlen, "spool %s: must be an absolute path", spool ? spool : "");
		return -1;
	}
	if (make_parents(spool, err, errlen) == -1)
		return -1;
	for (i = 0; i < NR_ARRAY_LEN(layout); i++)
		fds[i] = -1;
	for (i = 0; i < NR_ARRAY_LEN(layout); i++) {
		const struct spool_dir *d = &layout[i];

		if (spool_path(path, sizeof(path), spool, d->rel) == -1) {
			snprintf(err, errlen, "spool path too long: %s", spool);
			goto out;
		}
		fds[i] = open_dir(d->parent < 0 ? AT_FDCWD : fds[d->parent],
		    d->parent < 0 ? spool : d->name, path, err, errlen);
		if (fds[i] == -1)
			goto out;
		if (fix_dir(fds[i], path, d->mode, uid, gid, err, errlen) == -1)
			goto out;
	}
	/* Children first, so every new entry is durable before we return. */
	for (j = NR_ARRAY_LEN(layout); j-- > 0;)
		(void)fsync(fds[j]);
	rc = 0;
out:
	for (i = 0; i < NR_ARRAY_LEN(layout); i++) {
		if (fds[i] != -1)
			close(fds[i]);
	}
	return rc;
}
