/*
 * The control socket (control.h). Clients are untrusted local users: lines
 * are bounded, replies buffered with a cap, idle clients dropped, and the
 * peer's uid comes from the kernel (SO_PEERCRED), never from what it says.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "ctl_proto.h"
#include "log.h"
#include "spool.h"
#include "util.h"

/*
 * Limits against local users who open connections and sit on them, or ask
 * for huge listings (issue 14). Documented in relayd.8 (CONTROL SOCKET).
 * - CTL_MAX_CLIENTS slots, of which the last CTL_RESERVED only root and the
 *   relay user may take: root's mailq never waits behind others' idle
 *   connections; an ordinary uid holds at most CTL_PER_UID at once.
 * - One request per connection (every client sends one): the reply is
 *   written, then the connection closed, so one write of 100 LISTs is one
 *   listing, not 100.
 * - CTL_IDLE_SECONDS without a request or without progress writing the
 *   reply drops the client.
 * - Replies are capped: CTL_REPLY_MAX for an ordinary user's own listing,
 *   CTL_REPLY_MAX_PRIV for root's whole queue (ctl_proto.h: the clients
 *   rely on them too).
 */
#define CTL_MAX_CLIENTS CONTROL_MAX_CLIENTS
#define CTL_RESERVED 8
#define CTL_PER_UID 4
#define CTL_IDLE_SECONDS 5

struct client {
	int fd;
	uid_t uid;
	char in[CTL_LINE_MAX];
	size_t inlen;
	struct buf out;
	size_t outoff;
	time_t deadline;
	bool closing;	/* close once out is written */
	bool answered;	/* its one request was run */
};

struct control {
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct control_hooks hooks;
	struct client c[CTL_MAX_CLIENTS];
	size_t nc;
	/* Which client each pollfd after the listener belongs to. */
	size_t map[CTL_MAX_CLIENTS];
	size_t nmap;
	bool listening;
};

typedef void (*cmd_fn)(struct control *ctl, struct client *cl, const char *args);

/* root and the relay user (whom relayd runs as) see and may change all. */
static bool privileged(uid_t peer)
{
	return peer == 0 || peer == geteuid();
}

static void cmd_flush(struct control *ctl, struct client *cl, const char *args)
{
	if (*args != '\0') {
		buf_appends(&cl->out, CTL_ERR CTL_FLUSH " takes no argument\n");
		return;
	}
	char why[256] = "";

	if (ctl->hooks.flush != NULL &&
	    ctl->hooks.flush(ctl->hooks.ctx, cl->uid, why, sizeof why) != 0) {
		buf_appendf(&cl->out, CTL_ERR "%s\n", why);
		return;
	}
	buf_appends(&cl->out, CTL_OK "\n");
}

static void cmd_list(struct control *ctl, struct client *cl, const char *args)
{
	char err[256];
	bool json = strcmp(args, CTL_ARG_JSON) == 0;
	size_t start = cl->out.len;

	if (*args != '\0' && !json) {
		buf_appends(&cl->out, CTL_ERR CTL_LIST " takes no argument but " CTL_ARG_JSON "\n");
		return;
	}
	if (ctl->hooks.list == NULL) {
		buf_appends(&cl->out, CTL_ERR "not implemented\n");
		return;
	}
	if (ctl->hooks.list(ctl->hooks.ctx, json, privileged(cl->uid), cl->uid, &cl->out, err,
		sizeof err) == -1) {
		/* Never half a listing: drop what was added, say why. */
		cl->out.len = start;
		if (cl->out.data != NULL)
			cl->out.data[start] = '\0';
		if (strcmp(err, "the listing is too large") == 0)
			buf_appendf(&cl->out, CTL_ERR "the listing is too large (over %d MiB): use "
			    "relayd's log or ask root\n", (privileged(cl->uid) ? CTL_REPLY_MAX_PRIV :
			    CTL_REPLY_MAX) / (1024 * 1024));
		else
			buf_appendf(&cl->out, CTL_ERR "%s\n", err);
	}
}

/* DELETE, HOLD, RELEASE, RETRY, REQUEUE: the name is the command. */
static void cmd_admin_named(struct control *ctl, struct client *cl, const char *name,
    const char *args)
{
	enum qadmin_op op;

	if (qadmin_op_parse(name, &op) == -1 || ctl->hooks.admin == NULL) {
		buf_appends(&cl->out, CTL_ERR "not implemented\n");
		return;
	}
	if (!privileged(cl->uid)) {
		log_warnx("control: uid %lu may not %s queued mail", (unsigned long)cl->uid, name);
		buf_appends(&cl->out, CTL_ERR "permission denied: only root and the relay user may "
		    "change the queue\n");
		return;
	}
	if (strcmp(args, CTL_ARG_ALL) != 0 && !queue_id_valid(args)) {
		buf_appendf(&cl->out, CTL_ERR "%s takes a queue id or " CTL_ARG_ALL "\n", name);
		return;
	}
	ctl->hooks.admin(ctl->hooks.ctx, cl->uid, op, args, &cl->out);
}

static void cmd_delete(struct control *ctl, struct client *cl, const char *args)
{
	cmd_admin_named(ctl, cl, CTL_DELETE, args);
}

static void cmd_hold(struct control *ctl, struct client *cl, const char *args)
{
	cmd_admin_named(ctl, cl, CTL_HOLD, args);
}

static void cmd_release(struct control *ctl, struct client *cl, const char *args)
{
	cmd_admin_named(ctl, cl, CTL_RELEASE, args);
}

static void cmd_retry(struct control *ctl, struct client *cl, const char *args)
{
	cmd_admin_named(ctl, cl, CTL_RETRY, args);
}

static void cmd_requeue(struct control *ctl, struct client *cl, const char *args)
{
	cmd_admin_named(ctl, cl, CTL_REQUEUE, args);
}

static void cmd_health(struct control *ctl, struct client *cl, const char *args)
{
	bool json = strcmp(args, CTL_ARG_JSON) == 0;

	if (*args != '\0' && !json) {
		buf_appends(&cl->out, CTL_ERR CTL_HEALTH " takes no argument but " CTL_ARG_JSON "\n");
		return;
	}
	if (ctl->hooks.health == NULL) {
		buf_appends(&cl->out, CTL_ERR "not implemented\n");
		return;
	}
	ctl->hooks.health(ctl->hooks.ctx, json, &cl->out);
}

static const struct {
	const char *name;
	cmd_fn fn;
} commands[] = {
	{ CTL_FLUSH, cmd_flush },
	{ CTL_LIST, cmd_list },
	{ CTL_DELETE, cmd_delete },
	{ CTL_HOLD, cmd_hold },
	{ CTL_RELEASE, cmd_release },
	{ CTL_RETRY, cmd_retry },
	{ CTL_REQUEUE, cmd_requeue },
	{ CTL_HEALTH, cmd_health },
};

struct control *control_open(const char *spool, const struct control_hooks *hooks, char *err,
    size_t errlen)
{
	struct control *ctl = xcalloc(1, sizeof(*ctl));
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;

	ctl->hooks = *hooks;
	ctl->lfd = -1;
	if (spool_path(ctl->path, sizeof ctl->path, spool, SPOOL_SOCKET) == -1) {
		snprintf(err, errlen, "%s/%s: path too long for a socket", spool, SPOOL_SOCKET);
		goto fail;
	}
	if (lstat(ctl->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", ctl->path);
			goto fail;
		}
		unlink(ctl->path);
	}
	ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->lfd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, ctl->path, sizeof sun.sun_path);
	old = umask(0111);
	if (bind(ctl->lfd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		umask(old);
		snprintf(err, errlen, "bind %s: %s", ctl->path, strerror(errno));
		goto fail;
	}
	umask(old);
	/* Every local user may ask (mailq, sendmail -q): what each may see is
	 * decided per command from SO_PEERCRED. */
	if (chmod(ctl->path, 0666) == -1 || listen(ctl->lfd, 16) == -1) {
		snprintf(err, errlen, "%s: %s", ctl->path, strerror(errno));
		unlink(ctl->path);
		goto fail;
	}
	ctl->listening = true;
	return ctl;
fail:
	if (ctl->lfd != -1)
		close(ctl->lfd);
	free(ctl);
	return NULL;
}

static void drop_client(struct control *ctl, size_t i)
{
	close(ctl->c[i].fd);
	buf_free(&ctl->c[i].out);
	ctl->c[i] = ctl->c[--ctl->nc];
}

void control_close(struct control *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->nc > 0)
		drop_client(ctl, 0);
	if (ctl->lfd != -1) {
		close(ctl->lfd);
		unlink(ctl->path);
	}
	free(ctl);
}

void control_forget(struct control *ctl)
{
	size_t i;

	if (ctl == NULL)
		return;
	for (i = 0; i < ctl->nc; i++)
		close(ctl->c[i].fd);
	if (ctl->lfd != -1)
		close(ctl->lfd);
}

size_t control_maxfds(void)
{
	return CONTROL_MAX_FDS;
}

size_t control_pollfds(struct control *ctl, struct pollfd *pfd)
{
	time_t now = time(NULL);
	size_t i, n = 0;

	for (i = 0; i < ctl->nc;) {
		if (ctl->c[i].deadline < now)
			drop_client(ctl, i);
		else
			i++;
	}
	/* Always listening: a full table still answers root (accept_one). */
	pfd[n].fd = ctl->lfd;
	pfd[n].events = POLLIN;
	pfd[n++].revents = 0;
	ctl->nmap = 0;
	for (i = 0; i < ctl->nc; i++) {
		struct client *cl = &ctl->c[i];

		pfd[n].fd = cl->fd;
		pfd[n].events = cl->outoff < cl->out.len ? POLLOUT : POLLIN;
		pfd[n++].revents = 0;
		ctl->map[ctl->nmap++] = i;
	}
	return n;
}

static void accept_one(struct control *ctl)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	struct client *cl;
	int fd;

	size_t i, mine = 0;
	const char *why = NULL;

	fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		close(fd);
		return;
	}
	for (i = 0; i < ctl->nc; i++)
		mine += ctl->c[i].uid == cred.uid;
	if (ctl->nc >= CTL_MAX_CLIENTS)
		why = CTL_ERR "busy: too many connections; try again\n";
	else if (!privileged(cred.uid) && ctl->nc >= CTL_MAX_CLIENTS - CTL_RESERVED)
		why = CTL_ERR "busy: too many connections from ordinary users; try again\n";
	else if (!privileged(cred.uid) && mine >= CTL_PER_UID)
		why = CTL_ERR "busy: too many connections from your uid; try again\n";
	if (why != NULL) {
		/* Best effort, never blocking: the socket is new and empty. */
		(void)!write(fd, why, strlen(why));
		close(fd);
		return;
	}
	cl = &ctl->c[ctl->nc++];
	memset(cl, 0, sizeof(*cl));
	cl->fd = fd;
	cl->uid = cred.uid;
	cl->deadline = time(NULL) + CTL_IDLE_SECONDS;
	buf_init(&cl->out, privileged(cred.uid) ? CTL_REPLY_MAX_PRIV : CTL_REPLY_MAX);
}

static void run_line(struct control *ctl, struct client *cl, char *line)
{
	char *args = strchr(line, ' ');
	size_t i;

	if (args != NULL)
		*args++ = '\0';
	else
		args = line + strlen(line);
	for (i = 0; i < NR_ARRAY_LEN(commands); i++) {
		if (strcmp(line, commands[i].name) == 0) {
			commands[i].fn(ctl, cl, args);
			return;
		}
	}
	buf_appends(&cl->out, CTL_ERR "not implemented\n");
}

/* Read what the client sent; run every complete line. -1: drop it. */
static int client_read(struct control *ctl, struct client *cl)
{
	ssize_t n = read(cl->fd, cl->in + cl->inlen, sizeof cl->in - cl->inlen);
	char *nl;

	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return cl->out.len > cl->outoff ? (cl->closing = true, 0) : -1;
	cl->inlen += (size_t)n;
	if (cl->answered)
		return 0;	/* anything after the one request is ignored */
	if ((nl = memchr(cl->in, '\n', cl->inlen)) != NULL) {
		size_t ll = (size_t)(nl - cl->in);

		size_t le = ll;

		*nl = '\0';
		if (le > 0 && cl->in[le - 1] == '\r')
			cl->in[--le] = '\0';
		if (strlen(cl->in) != le)
			buf_appends(&cl->out, CTL_ERR "bad line\n");
		else
			run_line(ctl, cl, cl->in);
		/* The idle clock starts after the command ran: a listing of
		 * 100 000 messages takes longer than CTL_IDLE_SECONDS, and its
		 * reply was dropped unsent (mailq printed nothing, exit 0). */
		cl->deadline = time(NULL) + CTL_IDLE_SECONDS;
		/* One request per connection: reply, then close. */
		cl->answered = true;
		cl->closing = true;
		cl->inlen = 0;
		if (cl->out.len == 0)
			return -1;
		return 0;
	}
	if (cl->inlen == sizeof cl->in) {
		buf_appends(&cl->out, CTL_ERR "line too long\n");
		cl->closing = true;
	}
	return 0;
}

static int client_write(struct client *cl)
{
	ssize_t n = write(cl->fd, cl->out.data + cl->outoff, cl->out.len - cl->outoff);

	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	cl->outoff += (size_t)n;
	cl->deadline = time(NULL) + CTL_IDLE_SECONDS;
	if (cl->outoff == cl->out.len) {
		buf_reset(&cl->out);
		cl->outoff = 0;
		if (cl->closing)
			return -1;
	}
	return 0;
}

void control_handle(struct control *ctl, const struct pollfd *pfd, size_t n)
{
	size_t i, drop[CTL_MAX_CLIENTS], ndrop = 0;

	if (n == 0)
		return;
	for (i = 1; i < n && i - 1 < ctl->nmap; i++) {
		struct client *cl = &ctl->c[ctl->map[i - 1]];
		int r = 0;

		if (pfd[i].revents & POLLOUT)
			r = client_write(cl);
		else if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
			r = client_read(ctl, cl);
		if (r == -1)
			drop[ndrop++] = ctl->map[i - 1];
	}
	/* Highest index first: drop_client moves the last client down. */
	while (ndrop > 0) {
		size_t k, hi = 0;

		for (k = 1; k < ndrop; k++)
			if (drop[k] > drop[hi])
				hi = k;
		drop_client(ctl, drop[hi]);
		drop[hi] = drop[--ndrop];
	}
	if (pfd[0].revents & POLLIN)
		accept_one(ctl);
}
