/* What relayd -n verifies of the listener's files (listen.h), run in the
 * listener program so that relayd never loads the TLS library. */
#include "listen.h"
#include "listen_auth.h"
#include "tls.h"

int listen_check(const struct conf *c, char *err, size_t errlen)
{
	if (c->listen_auth_file != NULL) {
		struct listen_users *u = listen_users_load(c->listen_auth_file, err, errlen);

		if (u == NULL)
			return -1;
		listen_users_free(u);
	}
	if (c->listen_tls_cert != NULL) {
		struct tls_server *t = tls_server_new(c->listen_tls_cert, c->listen_tls_key, err,
		    errlen);

		if (t == NULL)
			return -1;
		tls_server_free(t);
	}
	return 0;
}

