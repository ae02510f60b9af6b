/*
 * floor DIR < MESSAGE: the least work a durable maildir-style submission must
 * do, used by bench/submit.sh as the lower bound for ./sendmail. One message
 * per process launch, like sendmail: read the message (up to 64 KiB, the 2 KB
 * test message) from stdin, create DIR/tmp/NAME with O_EXCL, give it mode
 * 0640, write, fsync, rename into DIR/new/NAME, fsync DIR/new. No parsing,
 * no header work, no envelope.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	char buf[65536], name[17], tmp[4096], new[4096], dir[4096];
	unsigned char rnd[8];
	ssize_t n = 0, r;
	int fd, d;

	if (argc != 2) {
		fprintf(stderr, "usage: floor DIR < MESSAGE\n");
		return 2;
	}
	while ((size_t)n < sizeof(buf) && (r = read(0, buf + n, sizeof(buf) - (size_t)n)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return die("read");
		}
		n += r;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return die("getrandom");
	for (int i = 0; i < 8; i++)
		snprintf(name + 2 * i, 3, "%02X", rnd[i]);
	if (snprintf(tmp, sizeof(tmp), "%s/tmp/%s", argv[1], name) >= (int)sizeof(tmp) ||
	    snprintf(new, sizeof(new), "%s/new/%s", argv[1], name) >= (int)sizeof(new) ||
	    snprintf(dir, sizeof(dir), "%s/new", argv[1]) >= (int)sizeof(dir)) {
		fprintf(stderr, "floor: path too long\n");
		return 1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return die(tmp);
	if (fchmod(fd, 0640) == -1 || write(fd, buf, (size_t)n) != n || fsync(fd) == -1 ||
	    close(fd) == -1) {
		unlink(tmp);
		return die("write");
	}
	if (rename(tmp, new) == -1) {
		unlink(tmp);
		return die("rename");
	}
	if ((d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 || fsync(d) == -1)
		return die(dir);
	close(d);
	return 0;
}
