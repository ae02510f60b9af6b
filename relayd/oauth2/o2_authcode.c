/*
 * The authorization code grant with PKCE (RFC 7636, S256) for `login`.
 * The redirect comes back to a listener on 127.0.0.1 with a port the kernel
 * picks; on a host without a browser the person pastes the address the
 * browser was sent to (it holds ?code=...&state=...) on stdin instead.
 * Whichever comes first wins; an answer with the wrong state is not ours and
 * is ignored.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "o2.h"
#include "util.h"

#define WAIT_SECONDS 600
#define REQUEST_MAX 8192

/* base64url without padding (RFC 7636 §4.1, appendix A). */
static char *b64url(const unsigned char *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n), i;

	for (i = 0; i < len; i++)
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	return out;
}

static char *pkce_challenge(const char *verifier)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL);
	return b64url(md, mdlen);
}

struct answer {
	char *code, *state, *error, *error_description;
};

static void answer_free(struct answer *a)
{
	o2_wipe(a->code);
	free(a->state);
	free(a->error);
	free(a->error_description);
	memset(a, 0, sizeof(*a));
}

/* The query of a URL or request target: code, state, error. 0 if it held
 * a code or an error, -1 if not. */
static int parse_answer(const char *s, struct answer *a)
{
	const char *q = strchr(s, '?'), *p, *end, *eq;

	memset(a, 0, sizeof(*a));
	if (q == NULL)
		return -1;
	for (p = q + 1; *p != '\0' && *p != ' ' && *p != '#' && *p != '\r' && *p != '\n';
	    p = *end == '&' ? end + 1 : end) {
		char **field = NULL;

		end = p + strcspn(p, "&# \r\n");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL)
			continue;
		if ((size_t)(eq - p) == 4 && strncmp(p, "code", 4) == 0)
			field = &a->code;
		else if ((size_t)(eq - p) == 5 && strncmp(p, "state", 5) == 0)
			field = &a->state;
		else if ((size_t)(eq - p) == 5 && strncmp(p, "error", 5) == 0)
			field = &a->error;
		else if ((size_t)(eq - p) == 17 && strncmp(p, "error_description", 17) == 0)
			field = &a->error_description;
		if (field != NULL && *field == NULL)
			*field = o2_urldecode(eq + 1, (size_t)(end - eq - 1));
		if (*end == '\0')
			break;
	}
	return a->code != NULL || a->error != NULL ? 0 : -1;
}

static int listen_loopback(unsigned *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* One HTTP request on the listener: its first line, answered with a page. */
static int take_request(int lfd, const char *state, struct answer *a)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Connection: close\r\n\r\nnullrelay: the sign-in answer reached relayd. You can "
	    "close this window.\n";
	static const char nope[] = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
	    "Connection: close\r\n\r\nnullrelay: this is not a sign-in answer.\n";
	char req[REQUEST_MAX + 1];
	size_t len = 0;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), rc = -1;

	if (fd == -1)
		return -1;
	while (len < REQUEST_MAX && memchr(req, '\n', len) == NULL) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			break;
		if ((n = read(fd, req + len, REQUEST_MAX - len)) <= 0)
			break;
		len += (size_t)n;
	}
	req[len] = '\0';
	if (strncmp(req, "GET ", 4) == 0 && parse_answer(req, a) == 0 && a->state != NULL &&
	    strcmp(a->state, state) == 0)
		rc = 0;
	else
		answer_free(a);
	(void)io_write_all(fd, rc == 0 ? ok : nope, rc == 0 ? sizeof(ok) - 1 : sizeof(nope) - 1);
	explicit_bzero(req, sizeof(req));
	close(fd);
	return rc;
}

/* One pasted line on stdin. 0 with the answer, -1 not one, -2 end of input. */
static int take_paste(const char *state, struct answer *a)
{
	char line[REQUEST_MAX];
	int rc;

	if (fgets(line, sizeof(line), stdin) == NULL)
		return -2;
	if (parse_answer(line, a) != 0) {
		printf("That does not look like the address the browser ended on (it holds "
		    "\"?code=...\"). Paste the whole address, then press Enter.\n");
		rc = -1;
	} else if (a->state == NULL || strcmp(a->state, state) != 0) {
		printf("That address belongs to another sign-in (its state does not match). "
		    "Paste the address of the sign-in started now.\n");
		answer_free(a);
		rc = -1;
	} else {
		rc = 0;
	}
	fflush(stdout);
	explicit_bzero(line, sizeof(line));
	return rc;
}

static int wait_answer(int lfd, const char *state, struct answer *a)
{
	time_t until = time(NULL) + WAIT_SECONDS;
	bool use_stdin = true;

	/* Unbuffered: poll() on fd 0 must see every pasted line, none may
	 * wait unseen in stdio's buffer. */
	setvbuf(stdin, NULL, _IONBF, 0);
	for (;;) {
		struct pollfd p[2] = { { .fd = lfd, .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN } };
		time_t left = until - time(NULL);
		int n;

		if (left <= 0)
			return -1;
		n = poll(p, use_stdin ? 2 : 1, (int)left * 1000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if ((p[0].revents & POLLIN) && take_request(lfd, state, a) == 0)
			return 0;
		if (use_stdin && (p[1].revents & (POLLIN | POLLHUP))) {
			int r = take_paste(state, a);

			if (r == 0)
				return 0;
			if (r == -2)
				use_stdin = false;	/* no terminal: the listener only */
		}
	}
}

static char *auth_address(const struct o2 *o, const char *redirect, const char *state,
    const char *challenge)
{
	const struct conf *c = o->c;
	char *q = NULL, *url;

	o2_form_add(&q, "response_type", "code");
	o2_form_add(&q, "client_id", c->oauth2_client_id);
	o2_form_add(&q, "redirect_uri", redirect);
	if (c->oauth2_scope != NULL)
		o2_form_add(&q, "scope", c->oauth2_scope);
	o2_form_add(&q, "state", state);
	o2_form_add(&q, "code_challenge", challenge);
	o2_form_add(&q, "code_challenge_method", "S256");
	o2_form_add(&q, "login_hint", c->auth_user);
	if (c->oauth2 == OAUTH2_GOOGLE) {
		/* Without these Google gives no refresh token. */
		o2_form_add(&q, "access_type", "offline");
		o2_form_add(&q, "prompt", "consent");
	}
	url = xasprintf("%s%c%s", c->oauth2_auth_url, strchr(c->oauth2_auth_url, '?') ? '&' : '?',
	    q);
	free(q);
	return url;
}

int o2_authcode_login(struct o2 *o, struct o2_tokens *t)
{
	const struct conf *c = o->c;
	unsigned char raw[32], sraw[16];
	char *verifier, *challenge, *state, *redirect, *url, *form, err[O2_ERR_MAX], why[400];
	struct answer a;
	enum o2_result res;
	unsigned port = 0;
	int lfd, rc = O2_EXIT_LOGIN_FAILED;

	if ((lfd = listen_loopback(&port)) == -1) {
		fprintf(stderr, "relayd: OAuth2 sign-in failed: cannot listen on 127.0.0.1: %s\n",
		    strerror(errno));
		return rc;
	}
	random_bytes(raw, sizeof(raw));
	random_bytes(sraw, sizeof(sraw));
	verifier = b64url(raw, sizeof(raw));
	explicit_bzero(raw, sizeof(raw));
	challenge = pkce_challenge(verifier);
	state = b64url(sraw, sizeof(sraw));
	redirect = xasprintf("http://127.0.0.1:%u/", port);
	url = auth_address(o, redirect, state, challenge);
	printf("To let relayd send mail as %s, open this address in a browser and sign in "
	    "as %s:\n\n  %s\n\nIf the browser runs on this machine, relayd receives the "
	    "answer by itself.\nIf it runs elsewhere, the browser ends on a page at %s that "
	    "does not load:\ncopy that whole address from the address bar, paste it here and "
	    "press Enter.\nWaiting (at most %d minutes)...\n", c->auth_user, c->auth_user, url,
	    redirect, WAIT_SECONDS / 60);
	fflush(stdout);
	free(url);
	if (wait_answer(lfd, state, &a) != 0) {
		fprintf(stderr, "relayd: OAuth2 sign-in failed: no answer from the browser "
		    "within %d minutes; run relayd --oauth2-login again\n", WAIT_SECONDS / 60);
		goto out;
	}
	if (a.error != NULL) {
		struct o2_tokens e = { .error = a.error, .error_description = a.error_description };

		o2_oauth_error(&e, why, sizeof(why));
		fprintf(stderr, "relayd: OAuth2 sign-in failed: the provider said: %s\n", why);
		answer_free(&a);
		goto out;
	}
	printf("Got the answer; asking %s for the tokens...\n", c->oauth2_token_url);
	fflush(stdout);
	form = o2_form_client(o);
	o2_form_add(&form, "grant_type", "authorization_code");
	o2_form_add(&form, "code", a.code);
	o2_form_add(&form, "redirect_uri", redirect);
	o2_form_add(&form, "code_verifier", verifier);
	answer_free(&a);
	res = o2_grant(o, form, t, err, sizeof(err));
	o2_wipe(form);
	if (res == O2_FAILED) {
		fprintf(stderr, "relayd: OAuth2 sign-in failed: %s\n", err);
	} else if (res == O2_OAUTH_ERROR) {
		o2_oauth_error(t, why, sizeof(why));
		fprintf(stderr, "relayd: OAuth2 sign-in failed: the provider said: %s\n", why);
	} else {
		rc = O2_EXIT_OK;
	}
out:
	close(lfd);
	o2_wipe(verifier);
	free(challenge);
	free(state);
	free(redirect);
	return rc;
}
