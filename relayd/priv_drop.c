/* Dropping root: see priv_drop.h. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "priv_drop.h"

/* setgroups, setresgid, setresuid, then check that none of it can be undone. */
void priv_drop(uid_t uid, gid_t gid, bool mail_group)
{
	gid_t groups[2] = { gid, gid };
	size_t ngroups = 1;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	struct group *mail;

	/* Group mail: for appending bounces to /var/mail/USER (bounce_local),
	 * in the mailbox process only (mbox_proc.h). */
	mail = mail_group ? getgrnam("mail") : NULL;
	if (mail != NULL && mail->gr_gid != gid)
		groups[ngroups++] = mail->gr_gid;
	if (setgroups(ngroups, groups) == -1)
		log_fatalx(EX_OSERR, "setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid) == -1)
		log_fatalx(EX_OSERR, "setresgid: %s", strerror(errno));
	if (setresuid(uid, uid, uid) == -1)
		log_fatalx(EX_OSERR, "setresuid: %s", strerror(errno));
	if (getresuid(&ru, &eu, &su) == -1 || ru != uid || eu != uid || su != uid)
		log_fatalx(EX_OSERR, "could not drop root: uids are not all %lu", (unsigned long)uid);
	if (getresgid(&rg, &eg, &sg) == -1 || rg != gid || eg != gid || sg != gid)
		log_fatalx(EX_OSERR, "could not drop root: gids are not all %lu", (unsigned long)gid);
	if (setuid(0) != -1 || seteuid(0) != -1)
		log_fatalx(EX_OSERR, "could not drop root: setuid(0) still works");
}

void priv_drop_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof d);
	/* Ambient first: it would survive the exec of every worker. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 && errno != EINVAL)
		log_fatalx(EX_OSERR, "prctl PR_CAP_AMBIENT_CLEAR_ALL: %s", strerror(errno));
	/* glibc has no capset(); lowering every set to nothing is always allowed. */
	if (syscall(SYS_capset, &h, d) == -1)
		log_fatalx(EX_OSERR, "capset: %s", strerror(errno));
}

bool priv_drop_groups(gid_t gid)
{
	if (setgroups(1, &gid) == -1) {
		if (errno == EPERM)
			return false;
		log_fatalx(EX_OSERR, "setgroups: %s", strerror(errno));
	}
	priv_drop_caps();
	return true;
}

void priv_no_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		log_fatalx(EX_OSERR, "setrlimit RLIMIT_CORE: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_fatalx(EX_OSERR, "prctl PR_SET_DUMPABLE: %s", strerror(errno));
}
