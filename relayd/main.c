/*
 * relayd [-C FILE] [-f] [-n] [--once]: flags, configuration, privileges;
 * relayd --delete|--hold|--release|--retry|--requeue ID...: qadmin.c;
 * the daemon itself is daemon.c. Started as root it prepares the spool for
 * the relay user, then becomes that user for good before it touches the
 * network or reads the secret (SPEC §5.5).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "conf.h"
#include "confine.h"
#include "daemon.h"
#include "health.h"
#include "listen.h"
#include "listen_sock.h"
#include "log.h"
#include "mbox_proc.h"
#include "oauth2_client.h"
#include "priv_drop.h"
#include "qadmin.h"
#include "spool.h"

static void usage(void)
{
	fprintf(stderr, "usage: relayd [-C FILE] [-f] [-n] [--once]\n"
	    "       relayd [-C FILE] --delete|--hold|--release|--retry|--requeue ID...|ALL\n"
	    "       relayd [-C FILE] --health [-j]\n"
	    "       relayd [-C FILE] --oauth2-login\n");
	exit(EX_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 'O' },
		{ "delete", no_argument, NULL, 'D' },
		{ "hold", no_argument, NULL, 'H' },
		{ "release", no_argument, NULL, 'R' },
		{ "retry", no_argument, NULL, 'T' },
		{ "requeue", no_argument, NULL, 'Q' },
		{ "health", no_argument, NULL, 'K' },
		{ "oauth2-login", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	const char *explicit_path = NULL, *path;
	bool foreground = false, check = false, must_exist;
	struct daemon_opts o = { 0 };
	char err[CONF_ERR_MAX], note[CONF_ERR_MAX];
	bool o2login = false;
	struct passwd *pw;
	struct conf c;
	enum qadmin_op op = QA_DELETE;
	bool admin = false, health = false, json = false;
	uid_t uid;
	gid_t gid;
	int ch;

	priv_no_core_dumps();
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+C:fnj", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			explicit_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'O':
			o.once = true;
			break;
		case 'K':
			health = true;
			break;
		case 'j':
			json = true;
			break;
		case 'L':
			o2login = true;
			break;
		case 'D':
		case 'H':
		case 'R':
		case 'T':
		case 'Q':
			if (admin) {
				fprintf(stderr, "relayd: give one of --delete, --hold, --release, "
				    "--retry, --requeue\n");
				usage();
			}
			admin = true;
			op = ch == 'D' ? QA_DELETE : ch == 'H' ? QA_HOLD : ch == 'R' ? QA_RELEASE :
			    ch == 'T' ? QA_RETRY : QA_REQUEUE;
			break;
		default:
			if (optopt == 'C')
				fprintf(stderr, "relayd: -C needs a file name\n");
			else if (optopt != 0)
				fprintf(stderr, "relayd: unknown option -%c\n", optopt);
			else
				fprintf(stderr, "relayd: unknown option %s\n", argv[optind - 1]);
			usage();
		}
	}
	if (o2login && (admin || check || o.once || health)) {
		fprintf(stderr, "relayd: --oauth2-login combines with -C only\n");
		usage();
	}
	if (admin && (check || o.once)) {
		fprintf(stderr, "relayd: the queue tools do not combine with -n or --once\n");
		usage();
	}
	if (json && !health) {
		fprintf(stderr, "relayd: -j goes with --health\n");
		usage();
	}
	if (health && (admin || check || o.once)) {
		fprintf(stderr, "relayd: --health does not combine with -n, --once or the queue tools\n");
		usage();
	}
	if (!admin && optind != argc) {
		fprintf(stderr, "relayd: unexpected argument %s\n", argv[optind]);
		usage();
	}

	/* -n reports on stderr whatever the logging mode. */
	log_init("nullrelay/relayd", foreground || check || o2login);
	path = conf_pick_path(explicit_path, &must_exist);
	memset(&c, 0, sizeof c);
	if (health) {
		/* relayd --health (health.h): asks the daemon, exits 0 or 1. */
		int rc = conf_load(path, must_exist, &c, err, sizeof err) == -1 ?
		    health_fail(HS_UNKNOWN, err, json) : health_client(&c, json);

		conf_free(&c);
		return rc;
	}
	if (conf_load(path, must_exist, &c, err, sizeof err) == -1) {
		if (check || foreground)
			fprintf(stderr, "relayd: %s\n", err);
		else
			log_warnx("%s", err);
		return EX_CONFIG;
	}

	if (admin) {
		/* The operator's queue tools (qadmin.h): no daemon here. */
		int rc = qadmin_run(&c, op, argv + optind, (size_t)(argc - optind));

		conf_free(&c);
		return rc;
	}
	if (geteuid() == 0) {
		pw = getpwnam(c.user);
		if (pw == NULL) {
			snprintf(err, sizeof err, "%s: the relay user \"%s\" does not exist (create it, "
			    "e.g. useradd --system %s, or set `user`)", c.path, c.user, c.user);
			goto config_error;
		}
		if (pw->pw_uid == 0) {
			snprintf(err, sizeof err, "%s: user = %s is root; relayd never runs as root",
			    c.path, c.user);
			goto config_error;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	} else {
		uid = getuid();
		gid = getgid();
	}
	o.relay_uid = (long)uid;
	o.conf_path = path;
	o.conf_must_exist = must_exist;
	if (check || o2login) {
		if (conf_check_relay(&c, (long)uid, err, sizeof err) == -1 ||
		    oauth2_client_check(&c, note, sizeof note, err, sizeof err) == -1 ||
		    (check && listen_parent_check(&c, err, sizeof err) == -1))
			goto config_error;
		if (o2login && c.oauth2 == OAUTH2_OFF) {
			snprintf(err, sizeof err, "%s: oauth2 is not set: there is nothing to "
			    "sign in to (set oauth2 = microsoft, google or generic)", c.path);
			goto config_error;
		}
	}
	if (o2login) {
		/* The token file must belong to the relay user: sign in as it. */
		if (spool_setup(c.spool, uid, gid, err, sizeof err) == -1)
			log_fatalx(EX_CANTCREAT, "spool: %s", err);
		if (geteuid() == 0) {
			priv_drop(uid, gid, false);
			priv_no_core_dumps();
		}
		oauth2_client_login(&c, err, sizeof err);
		fprintf(stderr, "relayd: %s\n", err);
		return 1;
	}
	if (check) {
		if (note[0] != '\0')
			fprintf(stderr, "relayd: note: %s\n", note);
		printf("relayd: %s: configuration ok\n", c.path);
		conf_free(&c);
		return 0;
	}

	if (spool_setup(c.spool, uid, gid, err, sizeof err) == -1)
		log_fatalx(EX_CANTCREAT, "spool: %s", err);
	/* The mailbox process (mbox_proc.h), forked while root and before
	 * anything else is opened: it alone keeps group mail. */
	o.mbox_fd = mbox_proc_start(&c, uid, gid, geteuid() == 0, &o.mbox_pid);
	/* Before dropping root: the listener may want port 25. */
	if (!o.once && listen_open(&c, &o.listen, err, sizeof err) == -1)
		log_fatalx(EX_OSERR, "%s", err);
	if (geteuid() == 0) {
		priv_drop(uid, gid, false);
		/* A change of credentials resets "dumpable" to the
		 * fs.suid_dumpable sysctl, which may not be 0. */
		priv_no_core_dumps();
	} else if (!priv_drop_groups(gid) && getgroups(0, NULL) > 1) {
		log_info("started as uid %lu without CAP_SETGID: every relayd process keeps "
		    "its supplementary groups, group mail too (see relayd(8), PROCESS MODEL)",
		    (unsigned long)uid);
	}
	/* Only now, as the relay user: the secret must be readable by it alone. */
	if (conf_check_relay(&c, (long)uid, err, sizeof err) == -1 ||
	    oauth2_client_check(&c, note, sizeof note, err, sizeof err) == -1 ||
	    (o.listen != NULL && listen_parent_check(&c, err, sizeof err) == -1))
		goto config_error;
	if (note[0] != '\0')
		log_warnx("%s", note);
	confine_self(&c, path, false);
	return daemon_run(&c, &o);

config_error:
	if (check || foreground || o2login)
		fprintf(stderr, "relayd: %s\n", err);
	if (!check && !o2login)
		log_warnx("%s", err);
	conf_free(&c);
	return EX_CONFIG;
}
