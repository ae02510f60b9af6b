# nullrelay: see README.md. `make`, `make check`, `make sanitize`, `make install`.

CC ?= cc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/nullrelay
SYSCONFDIR ?= /etc/nullrelay

# Objects go under $(BUILD) so `make sanitize` can build a second copy.
BUILD ?= build
SAN ?=

WARN = -Wall -Wextra -Wshadow -Wmissing-prototypes -Wmissing-declarations \
	-Wstrict-prototypes -Wpointer-arith -Wformat=2 -Wvla -Wundef \
	-Wwrite-strings -Wno-unused-parameter
# Warnings are errors in CI and whenever WERROR=1.
ifneq ($(CI)$(WERROR),)
WARN += -Werror
endif

# The libraries, found through pkg-config. When one is missing, stop at once
# with one line naming it and the command that installs it, rather than let
# the link fail later on strlcpy or SSL_new without saying why. Goals that
# compile nothing themselves (deps installs what is missing; check and
# sanitize run deps before a sub-make builds) must still run on a fresh machine.
PKG_MODULES := openssl libbsd-overlay
# libcurl and json-c are for the OAuth2 helper only (relayd/oauth2/): the
# resident relayd never maps them.
O2_PKG_MODULES := libcurl json-c
ifneq ($(filter-out deps check sanitize clean fuzz fuzz-long demo,$(or $(MAKECMDGOALS),all)),)
PKG_MISSING := $(shell if command -v $(PKG_CONFIG) >/dev/null 2>&1; then \
	for m in $(PKG_MODULES) $(O2_PKG_MODULES); do $(PKG_CONFIG) --exists $$m 2>/dev/null || echo $$m; done; \
	else echo pkg-config; fi)
ifneq ($(PKG_MISSING),)
# pkg-config module -> the Debian package that provides it.
PKG_DEBS := $(strip $(if $(filter pkg-config,$(PKG_MISSING)),pkg-config libssl-dev libbsd-dev libcurl4-openssl-dev libjson-c-dev,\
	$(patsubst openssl,libssl-dev,$(patsubst libbsd-overlay,libbsd-dev,$(patsubst libcurl,libcurl4-openssl-dev,$(patsubst json-c,libjson-c-dev,$(PKG_MISSING)))))))
PKG_WHY := $(strip $(if $(filter pkg-config,$(PKG_MISSING)),$(PKG_CONFIG) is not installed,\
	pkg-config finds no $(PKG_MISSING)))
$(error nullrelay: $(PKG_WHY); as root run scripts/install-deps (or: apt-get install $(PKG_DEBS)))
endif
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKG_MODULES))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKG_MODULES))
O2_PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(O2_PKG_MODULES))
O2_PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(O2_PKG_MODULES))
endif

CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN) -iquote spool -iquote relayd $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN)
LIBS = $(PKG_LIBS) -lcrypt

LIB_SRCS := $(sort $(wildcard spool/*.c))
RELAYD_SRCS := $(sort $(filter-out relayd/main.c relayd/helper_main.c,$(wildcard relayd/*.c)))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
O2_SRCS := $(sort $(wildcard relayd/oauth2/*.c))
O2_OBJS := $(O2_SRCS:%.c=$(BUILD)/%.o)

LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
RELAYD_OBJS := $(RELAYD_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
TOOL_BINS := $(TOOL_SRCS:%.c=$(BUILD)/%)

LIBNR := $(BUILD)/libnullrelay.a
LIBRELAYD := $(BUILD)/librelayd.a

ifeq ($(BUILD),build)
SENDMAIL_BIN = sendmail
RELAYD_BIN = relayd/relayd
else
SENDMAIL_BIN = $(BUILD)/sendmail
RELAYD_BIN = $(BUILD)/relayd/relayd
endif
# relayd finds it beside itself (oauth2_client.h), so it sits beside RELAYD_BIN.
O2_BIN = $(dir $(RELAYD_BIN))nullrelay-oauth2
# The SMTP+TLS side (workers, listener), exec'd by relayd (helper_path.h).
SMTP_BIN = $(dir $(RELAYD_BIN))nullrelay-smtp
LIBEXECDIR ?= $(PREFIX)/lib/nullrelay
# relayd also looks for its helpers in the LIBEXECDIR it was built for.
.DEFAULT_GOAL := all
# A stamp that changes with LIBEXECDIR rebuilds it (make all, then make
# install LIBEXECDIR=...).
LIBEXECDIR_STAMP := $(BUILD)/libexecdir.stamp
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(LIBEXECDIR_STAMP) 2>/dev/null)" = '$(LIBEXECDIR)' ] || echo '$(LIBEXECDIR)' > $(LIBEXECDIR_STAMP); })
$(BUILD)/relayd/helper_path.o: ALL_CFLAGS += -DNULLRELAY_LIBEXECDIR='"$(LIBEXECDIR)"' \
	-DNULLRELAY_BUILDDIR='"$(abspath $(dir $(RELAYD_BIN)))"'
$(BUILD)/relayd/helper_path.o: $(LIBEXECDIR_STAMP)

.PHONY: all check checksrc units sanitize install clean deps bench fuzz fuzz-long demo deb
all: $(SENDMAIL_BIN) $(RELAYD_BIN) $(O2_BIN) $(SMTP_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBNR): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBRELAYD): $(RELAYD_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# sendmail and the resident relayd are linked statically (static-pie, so
# ASLR is kept); STATIC=0 links them dynamically, and sanitizer builds always
# are. The price: a libc6 update takes a rebuild; the linker's warnings that
# getpwnam & co. want the shared NSS modules are answered by util_nss.c.
STATIC ?= 1
ifeq ($(STATIC)$(SAN),1)
# The user, group and host look-ups go through spool/util_nss.c, which keeps
# glibc to its built-in NSS modules and asks getent(1) for the rest: a static
# glibc that dlopens libnss_systemd crashes.
NSS_WRAP = getpwnam getpwuid getpwuid_r getgrnam getaddrinfo
STATIC_LINK = -static-pie $(foreach f,$(NSS_WRAP),-Wl,--wrap=$(f))
# Neither needs OpenSSL (workers and the listener are nullrelay-smtp).
STATIC_LIBS = $(filter-out -lssl -lcrypto,$(LIBS)) -lmd
endif
# A change of STATIC relinks them.
LINK_STAMP := $(BUILD)/link.stamp
$(shell mkdir -p $(BUILD) && { [ -f $(LINK_STAMP) ] && [ "$$(cat $(LINK_STAMP))" = '$(STATIC_LINK)' ] || echo '$(STATIC_LINK)' > $(LINK_STAMP); })

# sendmail is exec'd once per message: no ld.so, no shared libc to map and
# bind spares every submission about 30 syscalls and 30 page faults, the
# most of what it cost over the floor (bench/submit.sh: floor, floor-static).
# Dynamic, libbsd (and the libmd it needs) are still linked in statically.
DYN_SENDMAIL_LIBS = $(filter-out -lbsd,$(LIBS)) -Wl,-Bstatic -lbsd -lmd -Wl,-Bdynamic
ifneq ($(STATIC_LINK),)
SENDMAIL_LIBS = $(STATIC_LIBS)
else
SENDMAIL_LIBS = $(DYN_SENDMAIL_LIBS)
endif

$(SENDMAIL_BIN): $(BUILD)/sendmail.o $(LIBNR) $(LINK_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(STATIC_LINK) -o $@ $(filter-out $(LINK_STAMP),$^) $(SENDMAIL_LIBS)

# --as-needed: the resident relayd pulls no TLS code from the archive, so
# it does not map libssl/libcrypto (check: ldd relayd/relayd).
# Static (STATIC above): on Linux 6.x a touch of a shared libc maps most of
# its text (large page-cache folios), so any dynamic glibc process sits at
# 1.3-1.8 MB VmRSS before its own code; the resident relayd was at 2.3 MB
# after a burst, 1.2 MB static (bench/rss.sh, rss.relayd.after_load).
DYN_RELAYD_LINK = -Wl,--as-needed
ifneq ($(STATIC_LINK),)
RELAYD_LINK = $(STATIC_LINK)
RELAYD_LIBS = $(STATIC_LIBS)
else
RELAYD_LINK = $(DYN_RELAYD_LINK)
RELAYD_LIBS = $(LIBS)
endif
$(RELAYD_BIN): $(BUILD)/relayd/main.o $(LIBRELAYD) $(LIBNR) $(LINK_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(RELAYD_LINK) -o $@ $(filter-out $(LINK_STAMP),$^) $(RELAYD_LIBS)

# A static program ignores LD_PRELOAD: the tests that inject faults through
# a shim run these dynamic links of the same objects (tests/lib/common.sh,
# shim_bin). Built with the tests (make units) when STATIC is on.
ifneq ($(STATIC_LINK),)
DYN_BINS = $(BUILD)/dyn/sendmail $(BUILD)/dyn/relayd
endif
$(BUILD)/dyn/sendmail: $(BUILD)/sendmail.o $(LIBNR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(DYN_SENDMAIL_LIBS)

$(BUILD)/dyn/relayd: $(BUILD)/relayd/main.o $(LIBRELAYD) $(LIBNR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $(DYN_RELAYD_LINK) -o $@ $^ $(LIBS)

$(SMTP_BIN): $(BUILD)/relayd/helper_main.o $(LIBRELAYD) $(LIBNR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(O2_OBJS): ALL_CFLAGS += -iquote relayd/oauth2 $(O2_PKG_CFLAGS)

$(O2_BIN): $(O2_OBJS) $(LIBNR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(O2_PKG_LIBS) $(LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/unit/check.o $(LIBRELAYD) $(LIBNR)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/unit/check.o: tests/unit/check.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(LIBRELAYD) $(LIBNR)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Everything a fresh Debian machine lacks, installed from Debian's packages.
deps:
	@scripts/install-deps

check: deps
	$(MAKE) all units
	BUILD=$(BUILD) scripts/checksrc
	tests/run --build $(BUILD) --sendmail $(SENDMAIL_BIN) --relayd $(RELAYD_BIN)

units: $(UNIT_BINS) $(TOOL_BINS) $(DYN_BINS)

# The house rules: room prefixes, one name per file, function prefixes that
# match their file, no include or call cycles (scripts/checksrc).
checksrc: all
	BUILD=$(BUILD) scripts/checksrc

sanitize: deps
	$(MAKE) BUILD=build-san SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" check

bench: all units
	bench/run

fuzz:
	$(MAKE) -C tests/fuzz

# The README's first command: one message through a throwaway smarthost.
demo: deps
	@$(MAKE) -s -j$$(nproc) all
	@scripts/demo

# build/nullrelay_VERSION_ARCH.deb with dpkg-deb (scripts/mkdeb).
deb:
	@scripts/mkdeb
# Outside CI (issue 14): every target, one after the other under nice, until
# FUZZ_RUNS executions or FUZZ_SECONDS, whichever comes first (10^7 or 1 h).
FUZZ_SECONDS ?= 3600
FUZZ_RUNS ?= 10000000
fuzz-long:
	$(MAKE) -C tests/fuzz run-long FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR)
	install -m 0755 sendmail $(DESTDIR)$(SBINDIR)/sendmail
	install -m 0755 relayd/relayd $(DESTDIR)$(SBINDIR)/relayd
	install -d $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 relayd/nullrelay-oauth2 $(DESTDIR)$(LIBEXECDIR)/nullrelay-oauth2
	install -m 0755 relayd/nullrelay-smtp $(DESTDIR)$(LIBEXECDIR)/nullrelay-smtp
	ln -sf $(SBINDIR)/sendmail $(DESTDIR)$(BINDIR)/mailq
	ln -sf $(SBINDIR)/sendmail $(DESTDIR)$(BINDIR)/newaliases
	install -m 0644 man/sendmail.8 man/relayd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/relay.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 config.example $(DESTDIR)$(DOCDIR)/config.example
ifeq ($(LIBSENDMAIL),1)
	install -d $(DESTDIR)/usr/lib
	ln -sf $(SBINDIR)/sendmail $(DESTDIR)/usr/lib/sendmail
endif

clean:
	rm -rf build build-san build-deb sendmail relayd/relayd relayd/nullrelay-oauth2 relayd/nullrelay-smtp

-include $(shell find $(BUILD) -name '*.d' -type f 2>/dev/null)
