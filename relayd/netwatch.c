/* Network changes from rtnetlink: see netwatch.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "log.h"
#include "netwatch.h"
#include "util.h"

/* Links whose state we know, to see one come up (not every RTM_NEWLINK:
 * wireless drivers send them for scans). */
#define NW_LINKS 64
#define NW_DUMP_SEQ 1	/* our RTM_GETLINK dump: learn states, trigger nothing */

struct nw_link {
	int index;	/* 0 = free */
	bool running;
};

struct netwatch {
	int fd;
	struct nw_link links[NW_LINKS];
	size_t next_slot;
	double first, last;	/* monotonic: this burst of changes; 0 = none */
	double last_retry;	/* monotonic: the last retry we asked for */
	char why[256];		/* the first change of the burst */
};

/* Ask for every link's state now, so that a later "up" is a change. */
static void ask_links(struct netwatch *nw)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req;

	memset(&req, 0, sizeof req);
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.i));
	req.h.nlmsg_type = RTM_GETLINK;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = NW_DUMP_SEQ;
	req.i.ifi_family = AF_UNSPEC;
	if (send(nw->fd, &req, req.h.nlmsg_len, 0) == -1)
		log_debug("network changes: link dump: %s", strerror(errno));
}

struct netwatch *netwatch_open(void)
{
	struct sockaddr_nl sa;
	struct netwatch *nw;
	int fd;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd == -1) {
		log_warnx("network changes: no netlink socket (%s); deferred mail waits for its "
		    "retry time after the network comes back", strerror(errno));
		return NULL;
	}
	memset(&sa, 0, sizeof sa);
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
	    RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == -1) {
		log_warnx("network changes: cannot subscribe to netlink (%s); deferred mail waits "
		    "for its retry time after the network comes back", strerror(errno));
		close(fd);
		return NULL;
	}
	nw = xcalloc(1, sizeof(*nw));
	nw->fd = fd;
	nw->last_retry = -NETWATCH_MIN_INTERVAL;
	ask_links(nw);
	return nw;
}

void netwatch_close(struct netwatch *nw)
{
	if (nw == NULL)
		return;
	close(nw->fd);
	free(nw);
}

void netwatch_forget(struct netwatch *nw)
{
	if (nw != NULL && nw->fd != -1) {
		close(nw->fd);
		nw->fd = -1;
	}
}

int netwatch_fd(const struct netwatch *nw)
{
	return nw != NULL ? nw->fd : -1;
}

static void note(struct netwatch *nw, double now, const char *why)
{
	if (nw->first == 0) {
		nw->first = now;
		strlcpy(nw->why, why, sizeof nw->why);
	}
	nw->last = now;
}

static void ifname(unsigned idx, char out[IF_NAMESIZE + 1])
{
	if (if_indextoname(idx, out) == NULL)
		snprintf(out, IF_NAMESIZE + 1, "#%u", idx);
}

static void addr_text(int family, const void *p, size_t len, char *out, size_t outlen)
{
	if ((family == AF_INET && len >= 4) || (family == AF_INET6 && len >= 16)) {
		if (inet_ntop(family, p, out, (socklen_t)outlen) != NULL)
			return;
	}
	strlcpy(out, "?", outlen);
}

static struct nw_link *link_slot(struct netwatch *nw, int index, bool *known)
{
	size_t i;

	for (i = 0; i < NW_LINKS; i++) {
		if (nw->links[i].index == index) {
			*known = true;
			return &nw->links[i];
		}
	}
	*known = false;
	for (i = 0; i < NW_LINKS; i++)
		if (nw->links[i].index == 0)
			return &nw->links[i];
	i = nw->next_slot++ % NW_LINKS;	/* full: forget the oldest slot */
	return &nw->links[i];
}

/* RTM_NEWLINK: a link that was down (or new) is now up and running. */
static void on_link(struct netwatch *nw, const struct nlmsghdr *h, double now)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct nw_link *l;
	char dev[IF_NAMESIZE + 1], why[256];
	bool known, running;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) || ifi->ifi_index <= 0)
		return;
	running = (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_RUNNING);
	l = link_slot(nw, ifi->ifi_index, &known);
	if (h->nlmsg_seq != NW_DUMP_SEQ && running && (!known || !l->running)) {
		ifname((unsigned)ifi->ifi_index, dev);
		snprintf(why, sizeof why, "link %s is up", dev);
		note(nw, now, why);
	}
	l->index = ifi->ifi_index;
	l->running = running;
}

static void on_dellink(struct netwatch *nw, const struct nlmsghdr *h)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct nw_link *l;
	bool known;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return;
	l = link_slot(nw, ifi->ifi_index, &known);
	if (known)
		memset(l, 0, sizeof(*l));
}

/* RTM_NEWADDR: a global address that is usable (not still in DAD). */
static void on_addr(struct netwatch *nw, const struct nlmsghdr *h, double now)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(h);
	const struct rtattr *rta;
	char a[INET6_ADDRSTRLEN] = "?", dev[IF_NAMESIZE + 1], why[256];
	unsigned flags;
	int len;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)) || ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return;
	flags = ifa->ifa_flags;
	len = (int)IFA_PAYLOAD(h);
	for (rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == IFA_FLAGS && RTA_PAYLOAD(rta) >= sizeof(unsigned))
			memcpy(&flags, RTA_DATA(rta), sizeof(unsigned));
		else if (rta->rta_type == IFA_ADDRESS || rta->rta_type == IFA_LOCAL)
			addr_text(ifa->ifa_family, RTA_DATA(rta), RTA_PAYLOAD(rta), a, sizeof a);
	}
	if (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED))
		return;	/* IPv6 sends another RTM_NEWADDR once DAD is done */
	ifname(ifa->ifa_index, dev);
	snprintf(why, sizeof why, "new address %s on %s", a, dev);
	note(nw, now, why);
}

/* RTM_NEWROUTE: a default route, or the prefix route of a link that came up. */
static void on_route(struct netwatch *nw, const struct nlmsghdr *h, double now)
{
	const struct rtmsg *rt = NLMSG_DATA(h);
	const struct rtattr *rta;
	char gw[INET6_ADDRSTRLEN] = "", dst[INET6_ADDRSTRLEN] = "?", dev[IF_NAMESIZE + 1] = "?";
	char why[256];
	unsigned table, oif = 0;
	int len;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*rt)) || rt->rtm_type != RTN_UNICAST)
		return;
	table = rt->rtm_table;
	len = (int)RTM_PAYLOAD(h);
	for (rta = RTM_RTA(rt); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == RTA_TABLE && RTA_PAYLOAD(rta) >= sizeof(unsigned))
			memcpy(&table, RTA_DATA(rta), sizeof(unsigned));
		else if (rta->rta_type == RTA_GATEWAY)
			addr_text(rt->rtm_family, RTA_DATA(rta), RTA_PAYLOAD(rta), gw, sizeof gw);
		else if (rta->rta_type == RTA_DST)
			addr_text(rt->rtm_family, RTA_DATA(rta), RTA_PAYLOAD(rta), dst, sizeof dst);
		else if (rta->rta_type == RTA_OIF && RTA_PAYLOAD(rta) >= sizeof(unsigned))
			memcpy(&oif, RTA_DATA(rta), sizeof(unsigned));
	}
	if (table != RT_TABLE_MAIN)
		return;
	if (oif != 0)
		ifname(oif, dev);
	if (rt->rtm_dst_len == 0)
		snprintf(why, sizeof why, "new default route%s%s dev %s", gw[0] ? " via " : "", gw,
		    dev);
	else if (rt->rtm_protocol == RTPROT_KERNEL)
		snprintf(why, sizeof why, "new route to %s/%u dev %s (link up)", dst,
		    rt->rtm_dst_len, dev);
	else
		return;
	note(nw, now, why);
}

void netwatch_read(struct netwatch *nw, double now)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));

	if (nw == NULL || nw->fd == -1)
		return;
	for (;;) {
		ssize_t n = recv(nw->fd, buf, sizeof buf, 0);
		const struct nlmsghdr *h;
		size_t left;

		if (n == -1) {
			/* Overrun: changes were lost, so something changed. */
			if (errno == ENOBUFS) {
				note(nw, now, "network change (netlink overrun)");
				continue;
			}
			if (errno != EAGAIN && errno != EINTR)
				log_warn("network changes: netlink recv");
			return;
		}
		left = (size_t)n;
		for (h = (const struct nlmsghdr *)(void *)buf; NLMSG_OK(h, left);
		    h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_type == RTM_NEWLINK)
				on_link(nw, h, now);
			else if (h->nlmsg_type == RTM_DELLINK)
				on_dellink(nw, h);
			else if (h->nlmsg_type == RTM_NEWADDR)
				on_addr(nw, h, now);
			else if (h->nlmsg_type == RTM_NEWROUTE)
				on_route(nw, h, now);
		}
	}
}

double netwatch_due(const struct netwatch *nw)
{
	double due;

	if (nw == NULL || nw->first == 0)
		return 0;
	due = nw->last + NETWATCH_DEBOUNCE;
	if (due > nw->first + NETWATCH_DEBOUNCE_MAX)
		due = nw->first + NETWATCH_DEBOUNCE_MAX;
	if (due < nw->last_retry + NETWATCH_MIN_INTERVAL)
		due = nw->last_retry + NETWATCH_MIN_INTERVAL;
	return due;
}

bool netwatch_take(struct netwatch *nw, double now, char *why, size_t whylen)
{
	double due = netwatch_due(nw);

	if (due == 0 || now < due)
		return false;
	strlcpy(why, nw->why, whylen);
	nw->first = nw->last = 0;
	nw->last_retry = now;
	return true;
}
