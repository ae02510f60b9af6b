/*
 * nullrelay-smtp: the part of relayd that speaks SMTP and TLS, a program
 * of its own so that the resident relayd never maps OpenSSL (or holds the
 * smarthost secret). relayd execs it, never a person:
 *
 *   nullrelay-smtp [-f] [-C FILE] deliver ID [UNTIL...]
 *       a delivery worker (deliver.h): descriptor 3 is its socket to relayd
 *       (worker.h), 4 the spool lock it keeps while it lives; UNTIL are the
 *       smarthosts' hold-downs (epoch s). It reads the configuration itself,
 *       runs auth_password_command / auth_token_command, then confines
 *       itself (confine.h) before it touches the network or the queue.
 *   nullrelay-smtp [-f] -C FILE listen PARENT NAME...
 *       the SMTP listener (listen.h): descriptor 3 reports to relayd, the
 *       listening sockets are 4, 5, ... (named NAME...).
 *   nullrelay-smtp -C FILE check-listen
 *       relayd -n's check of the listener's files; the error on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth.h"
#include "conf.h"
#include "confine.h"
#include "deliver.h"
#include "listen.h"
#include "listen_sock.h"
#include "log.h"
#include "pickup.h"
#include "queue.h"
#include "priv_drop.h"

static void usage(void)
{
	fprintf(stderr, "usage: nullrelay-smtp [-f] [-C FILE] deliver ID [UNTIL...]\n"
	    "       nullrelay-smtp [-f] -C FILE listen PARENT NAME...\n"
	    "       nullrelay-smtp -C FILE check-listen\n"
	    "(relayd runs this program; it is not meant to be run by hand)\n");
	exit(EX_USAGE);
}

static long long number(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		usage();
	return v;
}

static noreturn void deliver(struct conf *c, const char *path, char **args, size_t n)
{
	time_t until[CONF_MAX_SMARTHOSTS] = { 0 };
	struct spool_dirs d;
	char err[512];
	size_t i;

	if (n < 1 || n - 1 > CONF_MAX_SMARTHOSTS || !queue_id_valid(args[0]))
		usage();
	for (i = 1; i < n; i++)
		until[i - 1] = (time_t)number(args[i]);
	if (queue_dirs_open(c->spool, &d, err, sizeof err) == -1)
		log_fatalx(EX_OSFILE, "worker: spool: %s", err);
	/* The secret commands run before confinement: what they need cannot
	 * be known, and afterwards this process may exec nothing but the
	 * OAuth2 helper. */
	auth_prefetch(c);
	confine_self(c, path, true);
	deliver_main(c, &d, 3, args[0], until, n - 1);
}

static noreturn void listen_mode(const struct conf *c, char **args, size_t n)
{
	static struct listen_socks socks;
	size_t i;

	if (n < 2 || n - 1 > LISTEN_MAX_SOCKS)
		usage();
	for (i = 1; i < n; i++) {
		socks.fd[i - 1] = (int)(3 + i);
		strlcpy(socks.name[i - 1], args[i], sizeof socks.name[i - 1]);
	}
	socks.n = n - 1;
	listen_master_main(c, &socks, 3, (pid_t)number(args[0]));
}

int main(int argc, char **argv)
{
	const char *explicit_path = NULL, *path;
	char err[CONF_ERR_MAX];
	bool foreground = false, must_exist;
	struct conf c;
	int ch;

	priv_no_core_dumps();
	while ((ch = getopt(argc, argv, "+C:f")) != -1) {
		switch (ch) {
		case 'C':
			explicit_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	log_init("nullrelay/relayd", foreground || strcmp(argv[optind], "check-listen") == 0);
	if (geteuid() == 0 && strcmp(argv[optind], "check-listen") != 0)
		log_fatalx(EX_USAGE, "nullrelay-smtp runs as the relay user, started by relayd");
	path = conf_pick_path(explicit_path, &must_exist);
	memset(&c, 0, sizeof c);
	if (conf_load(path, must_exist, &c, err, sizeof err) == -1) {
		if (strcmp(argv[optind], "check-listen") == 0)
			fprintf(stderr, "%s\n", err);
		else
			log_warnx("%s", err);
		return EX_CONFIG;
	}
	if (strcmp(argv[optind], "deliver") == 0)
		deliver(&c, path, argv + optind + 1, (size_t)(argc - optind - 1));
	if (strcmp(argv[optind], "listen") == 0)
		listen_mode(&c, argv + optind + 1, (size_t)(argc - optind - 1));
	if (strcmp(argv[optind], "check-listen") == 0) {
		if (listen_check(&c, err, sizeof err) == -1) {
			fprintf(stderr, "%s\n", err);
			return EX_CONFIG;
		}
		return 0;
	}
	usage();
}
