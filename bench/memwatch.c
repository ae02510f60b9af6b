/*
 * memwatch PID [INTERVAL_MS]: watch PID and every descendant it forks (relayd
 * and its delivery workers) and, on SIGTERM or when PID exits, print one line
 * per process seen:
 *     PID PPID MAX_VmHWM_kB MAX_VmRSS_kB NAME
 * (PID's own line first). Used by bench/rss.sh: workers may live for less
 * than a second, so the polling is done here, every INTERVAL_MS (default
 * 20), rather than from the shell.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXP 4096

struct proc {
	int pid, ppid;
	long hwm, rss;
	char name[64];
};

static struct proc procs[MAXP];
static int nprocs;
static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int ppid_of(int pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL)
		sscanf(p + 2, "%*c %d", &ppid);
	fclose(f);
	return ppid;
}

static struct proc *find(int pid)
{
	for (int i = 0; i < nprocs; i++)
		if (procs[i].pid == pid)
			return &procs[i];
	return NULL;
}

/* Read VmHWM/VmRSS/Name of pid into its record (made if new). */
static void sample(int pid, int ppid)
{
	char path[64], line[256];
	struct proc *p;
	FILE *f;
	long v;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	if ((p = find(pid)) == NULL) {
		if (nprocs == MAXP) {
			fclose(f);
			return;
		}
		p = &procs[nprocs++];
		memset(p, 0, sizeof(*p));
		p->pid = pid;
		p->ppid = ppid;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "VmHWM: %ld", &v) == 1 && v > p->hwm)
			p->hwm = v;
		else if (sscanf(line, "VmRSS: %ld", &v) == 1 && v > p->rss)
			p->rss = v;
		else if (strncmp(line, "Name:", 5) == 0 && p->name[0] == '\0')
			sscanf(line + 5, " %63s", p->name);
	}
	fclose(f);
}

/* Is pid a descendant of root (through processes alive now)? */
/* A positive decimal number, or -1. */
static int number(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > 1 << 30)
		return -1;
	return (int)v;
}

static int descends(int pid, int root)
{
	for (int depth = 0; depth < 16 && pid > 1; depth++) {
		if ((pid = ppid_of(pid)) == root)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec ts;
	struct dirent *de;
	DIR *d;
	int root, ms;

	if (argc < 2 || (root = number(argv[1])) <= 1) {
		fprintf(stderr, "usage: memwatch PID [INTERVAL_MS]\n");
		return 2;
	}
	ms = argc > 2 ? number(argv[2]) : 20;
	if (ms < 1)
		ms = 20;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	while (!stop && kill(root, 0) == 0) {
		sample(root, ppid_of(root));
		if ((d = opendir("/proc")) != NULL) {
			while ((de = readdir(d)) != NULL) {
				int pid = number(de->d_name);
				if (pid > 1 && pid != root && (find(pid) != NULL || descends(pid, root)))
					sample(pid, ppid_of(pid));
			}
			closedir(d);
		}
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < nprocs; i++)
		printf("%d %d %ld %ld %s\n", procs[i].pid, procs[i].ppid, procs[i].hwm,
		    procs[i].rss, procs[i].name);
	return 0;
}
