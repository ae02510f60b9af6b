/*
 * Confinement after the privilege drop (confine.h).
 *
 * 1. PR_SET_NO_NEW_PRIVS: nothing relayd or its children exec can gain
 *    privileges (setuid programs run as the caller).
 * 2. Landlock (ABI >= 2, for renames between spool directories): relayd
 *    keeps full access below the spool and the metrics file's directory
 *    (/var/mail is the mailbox process's alone, confine_mbox); read access to the configuration, the
 *    secret and certificate files it names, the CA stores, the system
 *    libraries and data it may load late (NSS modules, OpenSSL providers,
 *    zoneinfo), a few files of /etc (passwd, group, hosts, resolv.conf,
 *    ...) and /proc; /dev/null and /dev/urandom. Executing is allowed for
 *    relayd's own directory only (its helper programs, e.g. the OAuth2
 *    helper). Everything else (/home, /root, /etc/shadow, /tmp, other
 *    spools) is refused by the kernel whatever the file modes say.
 *    Children inherit the domain. With auth_password_command or
 *    auth_token_command set, the parent does not apply Landlock (logged):
 *    the command is a shell line, and what it needs (a keyring in the
 *    admin's home, gpg, a script anywhere) cannot be known. Each worker
 *    (nullrelay-smtp, exec'd) runs the command first (auth_prefetch), then
 *    confines itself here with worker = true, Landlock included, before it
 *    touches the network or a queued message.
 * 3. seccomp: a deny-list (EPERM) of system calls relayd never makes and
 *    that matter to an attacker (ptrace, mount, namespaces, modules, bpf,
 *    keyrings, kexec, ...). A full allow-list was judged too fragile across
 *    glibc/OpenSSL versions and the exec'd secret commands.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <paths.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sysexits.h>
#include <unistd.h>

#include "confine.h"
#include "helper_path.h"
#include "log.h"
#include "oauth2_client.h"
#include "util_nss.h"
#include "worker.h"

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

#define FS_READ_FILE (LANDLOCK_ACCESS_FS_READ_FILE)
#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_EXEC (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | \
	LANDLOCK_ACCESS_FS_READ_DIR)

struct ll {
	int fd;			/* the ruleset */
	__u64 handled;		/* rights this kernel knows */
	unsigned nrules;
};

/* Allow access below (or on) path; a path that does not exist is skipped. */
static void ll_allow(struct ll *l, const char *path, __u64 access)
{
	struct landlock_path_beneath_attr pb;
	struct stat st;
	int fd;

	if (path == NULL || path[0] != '/')
		return;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd == -1)
		return;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		access &= LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE;
	pb.allowed_access = access & l->handled;
	pb.parent_fd = fd;
	if (pb.allowed_access != 0 &&
	    syscall(SYS_landlock_add_rule, l->fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == 0)
		l->nrules++;
	close(fd);
}

/* The directory part of path, into out ("" if none). */
static void dir_of(const char *path, char *out, size_t outlen)
{
	const char *slash = path != NULL ? strrchr(path, '/') : NULL;
	size_t n = slash != NULL ? (size_t)(slash - path) : 0;

	if (n == 0 || n >= outlen) {
		out[0] = '\0';
		return;
	}
	memcpy(out, path, n);
	out[n] = '\0';
}

static const char *const ro_dirs[] = {
	"/etc/ssl", "/etc/pki", "/etc/ca-certificates", "/usr/share", "/usr/lib",
	"/usr/lib64", "/lib", "/lib64", "/usr/local/share/ca-certificates",
	"/usr/local/lib", "/proc", "/etc/alternatives",
};
static const char *const ro_files[] = {
	"/etc/passwd", "/etc/group", "/etc/hosts", "/etc/resolv.conf",
	"/etc/nsswitch.conf", "/etc/gai.conf", "/etc/services", "/etc/protocols",
	"/etc/host.conf", "/etc/mailname", "/etc/localtime", "/etc/ld.so.cache",
	"/etc/hostname", "/dev/urandom", "/dev/random",
};

/* A ruleset handling every right this kernel knows (ABI >= 2), into l.
 * false (logged when the kernel has Landlock but refused) if none. */
static bool ll_begin(struct ll *l, int *abi_out)
{
	struct landlock_ruleset_attr ra;
	__u64 all;
	int abi;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	*abi_out = abi;
	if (abi < 2)
		return false;	/* none, or ABI 1 (no renames between directories) */
	all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1: bits 0..12 */
	all |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		all |= LANDLOCK_ACCESS_FS_TRUNCATE;
	memset(&ra, 0, sizeof ra);
	ra.handled_access_fs = all;
	l->handled = all;
	l->nrules = 0;
	l->fd = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof ra, 0);
	if (l->fd == -1) {
		log_warnx("confinement: landlock_create_ruleset: %s: not confined by Landlock",
		    strerror(errno));
		return false;
	}
	return true;
}

static void ll_commit(struct ll *l)
{
	if (syscall(SYS_landlock_restrict_self, l->fd, 0) == -1)
		log_fatalx(EX_OSERR, "confinement: landlock_restrict_self: %s", strerror(errno));
	close(l->fd);
}

static bool landlock(const struct conf *c, const char *conf_path, int *abi_out)
{
	struct ll l = { .fd = -1 };
	char self[PATH_MAX], dir[PATH_MAX];
	__u64 all;
	ssize_t n;
	size_t i;

	if (!ll_begin(&l, abi_out))
		return false;
	all = l.handled;
	/* Everything but exec where relayd writes; /var/mail is the mailbox
	 * process's alone (mbox_proc.h). */
	ll_allow(&l, c->spool, all & ~(__u64)LANDLOCK_ACCESS_FS_EXECUTE);
	if (c->metrics_file != NULL) {
		dir_of(c->metrics_file, dir, sizeof dir);
		ll_allow(&l, dir, all & ~(__u64)LANDLOCK_ACCESS_FS_EXECUTE);
	}
	ll_allow(&l, "/dev/null", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE);
	/* Read only (the configuration again at SIGHUP). */
	if (conf_path != NULL && realpath(conf_path, dir) != NULL)
		ll_allow(&l, dir, FS_READ_FILE);
	ll_allow(&l, c->tls_ca_file, FS_READ);
	ll_allow(&l, c->tls_client_cert, FS_READ_FILE);
	ll_allow(&l, c->tls_client_key, FS_READ_FILE);
	ll_allow(&l, c->auth_password_file, FS_READ_FILE);
	/* The listener (re-read at SIGHUP) and the aliases its mail follows. */
	ll_allow(&l, c->listen_tls_cert, FS_READ_FILE);
	ll_allow(&l, c->listen_tls_key, FS_READ_FILE);
	ll_allow(&l, c->listen_auth_file, FS_READ_FILE);
	ll_allow(&l, c->aliases != NULL && c->aliases[0] != '\0' ? c->aliases : "/etc/aliases",
	    FS_READ_FILE);
	/* The OAuth2 helper: its secret and CA files, the token file's
	 * directory (temporary file, rename and lock beside it), and exec of
	 * the helper itself, which an installed relayd finds in
	 * ../lib/nullrelay rather than beside it. */
	if (c->oauth2 != OAUTH2_OFF) {
		char helper[PATH_MAX], herr[256];

		ll_allow(&l, c->oauth2_client_secret_file, FS_READ_FILE);
		ll_allow(&l, c->oauth2_ca_file, FS_READ);
		if (c->oauth2_token_file != NULL) {
			dir_of(c->oauth2_token_file, dir, sizeof dir);
			ll_allow(&l, dir, all & ~(__u64)LANDLOCK_ACCESS_FS_EXECUTE);
		}
		if (oauth2_client_helper(helper, sizeof helper, herr, sizeof herr) == 0)
			ll_allow(&l, helper, FS_EXEC);
	}
	for (i = 0; i < sizeof ro_dirs / sizeof ro_dirs[0]; i++)
		ll_allow(&l, ro_dirs[i], FS_READ);
	for (i = 0; i < sizeof ro_files / sizeof ro_files[0]; i++)
		ll_allow(&l, ro_files[i], FS_READ_FILE);
	/* Exec: our own helpers, and the loader they need. */
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		dir_of(self, dir, sizeof dir);
		ll_allow(&l, dir, FS_EXEC);
	}
	/* The worker and listener program, wherever it was installed. */
	if (helper_path(WORKER_PROGRAM, dir, sizeof dir, self, sizeof self) == 0)
		ll_allow(&l, dir, FS_EXEC);
	ll_allow(&l, "/lib64/ld-linux-x86-64.so.2", FS_EXEC);
	ll_allow(&l, "/lib/ld-linux-aarch64.so.1", FS_EXEC);
	ll_allow(&l, "/lib/x86_64-linux-gnu", FS_EXEC);
	ll_allow(&l, "/lib/aarch64-linux-gnu", FS_EXEC);
	/* A static relayd asks getent for users outside /etc/passwd (util_nss.h). */
	ll_allow(&l, NSS_GETENT_PATH, FS_EXEC);
	ll_commit(&l);
	return true;
}

/* The mailbox process: the mailbox directory (lock files are created and
 * removed there), the system files NSS and the clock read; no exec. */
static bool landlock_mbox(int *abi_out)
{
	struct ll l = { .fd = -1 };
	size_t i;

	if (!ll_begin(&l, abi_out))
		return false;
	ll_allow(&l, _PATH_MAILDIR, LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
	    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE);
	ll_allow(&l, "/dev/null", LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE);
	for (i = 0; i < sizeof ro_dirs / sizeof ro_dirs[0]; i++)
		ll_allow(&l, ro_dirs[i], FS_READ);
	for (i = 0; i < sizeof ro_files / sizeof ro_files[0]; i++)
		ll_allow(&l, ro_files[i], FS_READ_FILE);
	ll_commit(&l);
	return true;
}

/* Deny-list (EPERM) by system call number, for this build's architecture. */
#if defined(__x86_64__)
#define CONFINE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define CONFINE_ARCH AUDIT_ARCH_AARCH64
#endif

static const int denied[] = {
#ifdef SYS_ptrace
	SYS_ptrace,
#endif
#ifdef SYS_process_vm_readv
	SYS_process_vm_readv, SYS_process_vm_writev,
#endif
#ifdef SYS_mount
	SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot,
#endif
#ifdef SYS_unshare
	SYS_unshare, SYS_setns,
#endif
#ifdef SYS_init_module
	SYS_init_module, SYS_finit_module, SYS_delete_module,
#endif
#ifdef SYS_kexec_load
	SYS_kexec_load,
#endif
#ifdef SYS_bpf
	SYS_bpf,
#endif
#ifdef SYS_perf_event_open
	SYS_perf_event_open,
#endif
#ifdef SYS_keyctl
	SYS_keyctl, SYS_add_key, SYS_request_key,
#endif
#ifdef SYS_userfaultfd
	SYS_userfaultfd,
#endif
#ifdef SYS_open_by_handle_at
	SYS_open_by_handle_at,
#endif
#ifdef SYS_swapon
	SYS_swapon, SYS_swapoff, SYS_reboot, SYS_acct,
#endif
#ifdef SYS_quotactl
	SYS_quotactl,
#endif
#ifdef SYS_fsopen
	SYS_fsopen, SYS_fsmount, SYS_move_mount, SYS_open_tree,
#endif
};

/* The mailbox process also runs no program and opens no network socket. */
static const int denied_mbox[] = {
	SYS_execve,
#ifdef SYS_execveat
	SYS_execveat,
#endif
};

static bool seccomp_denylist(bool mbox)
{
#ifdef CONFINE_ARCH
	struct sock_filter f[4 + 2 * (sizeof denied / sizeof denied[0]) +
	    2 * (sizeof denied_mbox / sizeof denied_mbox[0]) + 5 + 1];
	struct sock_fprog prog;
	size_t i, k = 0;

	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch));
	/* Another ABI (i386 on x86_64): refuse it outright. */
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, CONFINE_ARCH, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
	for (i = 0; i < sizeof denied / sizeof denied[0]; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    (unsigned)denied[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	}
	for (i = 0; mbox && i < sizeof denied_mbox / sizeof denied_mbox[0]; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    (unsigned)denied_mbox[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	}
	if (mbox) {
		/* socket(2) for AF_UNIX only (syslog); the number is still in A. */
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 3);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, args[0]));
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 1, 0);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	prog.len = (unsigned short)k;
	prog.filter = f;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1) {
		log_warnx("confinement: seccomp: %s: not filtered", strerror(errno));
		return false;
	}
	return true;
#else
	log_warnx("confinement: seccomp: no deny-list for this architecture");
	return false;
#endif
}

void confine_self(const struct conf *c, const char *conf_path, bool worker)
{
	bool ll, sc;
	int abi = -1;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_fatalx(EX_OSERR, "confinement: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (!worker && (c->auth_password_command != NULL || c->auth_token_command != NULL)) {
		ll = false;
		abi = 99;
		log_warnx("confinement: Landlock not applied: %s runs programs whose files "
		    "relayd cannot know; each worker runs it, then confines itself with Landlock",
		    c->auth_password_command != NULL ? "auth_password_command" :
		    "auth_token_command");
	} else {
		ll = landlock(c, conf_path, &abi);
	}
	if (!ll && abi < 2 && !worker)
		log_warnx("confinement: Landlock %s: the filesystem is not restricted",
		    abi < 0 ? "is not available on this kernel" :
		    "ABI 1 cannot allow renames between spool directories");
	sc = seccomp_denylist(false);
	if (worker)
		log_debug("confinement: worker: no_new_privs%s%s", ll ? ", landlock" : "",
		    sc ? ", seccomp deny-list" : "");
	else
		log_info("confinement: no_new_privs%s%s", ll ? ", landlock" : "",
		    sc ? ", seccomp deny-list" : "");
}

void confine_mbox(const struct conf *c)
{
	bool ll, sc;
	int abi = -1;

	(void)c;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		log_fatalx(EX_OSERR, "confinement: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	ll = landlock_mbox(&abi);
	sc = seccomp_denylist(true);
	log_debug("confinement: mailbox process: no_new_privs%s%s", ll ? ", landlock" : "",
	    sc ? ", seccomp deny-list, no exec, no network" : "");
}
