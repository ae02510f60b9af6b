/*
 * Unit tests for spool/util_nss_parse.c: the getent lines the static
 * build's user and group look-ups fall back on (util_nss.h).
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "util_nss.h"

static void test_passwd(void)
{
	struct passwd pw;
	char buf[256], small[16];

	CHECK_INT(nss_passwd_parse("nobody:!*:65534:65534:Kernel Overflow User:/:/usr/sbin/nologin",
	    &pw, buf, sizeof buf), 0);
	CHECK_STR(pw.pw_name, "nobody");
	CHECK_STR(pw.pw_passwd, "!*");
	CHECK_INT(pw.pw_uid, 65534);
	CHECK_INT(pw.pw_gid, 65534);
	CHECK_STR(pw.pw_gecos, "Kernel Overflow User");
	CHECK_STR(pw.pw_dir, "/");
	CHECK_STR(pw.pw_shell, "/usr/sbin/nologin");
	/* Empty fields are fields. */
	CHECK_INT(nss_passwd_parse("u::1000:100:::", &pw, buf, sizeof buf), 0);
	CHECK_STR(pw.pw_gecos, "");
	CHECK_STR(pw.pw_shell, "");
	CHECK_INT(nss_passwd_parse("nobody:!*:65534:65534:Kernel Overflow User:/:/bin/sh",
	    &pw, small, sizeof small), ERANGE);
	CHECK_INT(nss_passwd_parse("u:x:1000:100:g:/h", &pw, buf, sizeof buf), EINVAL);
	CHECK_INT(nss_passwd_parse("u:x:1000:100:g:/h:/bin/sh:extra", &pw, buf, sizeof buf), EINVAL);
	CHECK_INT(nss_passwd_parse(":x:1000:100:g:/h:/bin/sh", &pw, buf, sizeof buf), EINVAL);
	CHECK_INT(nss_passwd_parse("u:x:-1:100:g:/h:/bin/sh", &pw, buf, sizeof buf), EINVAL);
	CHECK_INT(nss_passwd_parse("u:x:4294967295:100:g:/h:/bin/sh", &pw, buf, sizeof buf), EINVAL);
	CHECK_INT(nss_passwd_parse("u:x:12a:100:g:/h:/bin/sh", &pw, buf, sizeof buf), EINVAL);
	CHECK_INT(nss_passwd_parse("u:x:1000::g:/h:/bin/sh", &pw, buf, sizeof buf), EINVAL);
	CHECK_INT(nss_passwd_parse("", &pw, buf, sizeof buf), EINVAL);
}

static void test_group(void)
{
	struct group gr;
	char buf[128];

	CHECK_INT(nss_group_parse("mail:x:8:alice,bob", &gr, buf, sizeof buf), 0);
	CHECK_STR(gr.gr_name, "mail");
	CHECK_INT(gr.gr_gid, 8);
	CHECK(gr.gr_mem != NULL && gr.gr_mem[0] == NULL);
	CHECK_INT(nss_group_parse("mail:x:8:", &gr, buf, sizeof buf), 0);
	CHECK_INT(nss_group_parse("mail:x:8", &gr, buf, sizeof buf), EINVAL);
	CHECK_INT(nss_group_parse("mail:x:eight:", &gr, buf, sizeof buf), EINVAL);
}

int main(void)
{
	test_passwd();
	test_group();
	return check_summary("test_nss");
}
