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

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags openssl libbsd-overlay 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs openssl libbsd-overlay 2>/dev/null)

CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN) -iquote spool -iquote relayd $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN)
LIBS = $(PKG_LIBS)

LIB_SRCS := $(sort $(wildcard spool/*.c))
RELAYD_SRCS := $(sort $(filter-out relayd/main.c,$(wildcard relayd/*.c)))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))

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

.PHONY: all check units sanitize install clean deps bench fuzz fuzz-long
all: $(SENDMAIL_BIN) $(RELAYD_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBNR): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBRELAYD): $(RELAYD_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(SENDMAIL_BIN): $(BUILD)/sendmail.o $(LIBNR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(RELAYD_BIN): $(BUILD)/relayd/main.o $(LIBRELAYD) $(LIBNR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

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
	tests/run --build $(BUILD) --sendmail $(SENDMAIL_BIN) --relayd $(RELAYD_BIN)

units: $(UNIT_BINS) $(TOOL_BINS)

sanitize: deps
	$(MAKE) BUILD=build-san SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" check

bench: all units
	bench/run

fuzz:
	$(MAKE) -C tests/fuzz

# Outside CI: every target for FUZZ_SECONDS each (10 min by default).
FUZZ_SECONDS ?= 600
fuzz-long:
	$(MAKE) -C tests/fuzz run-long FUZZ_SECONDS=$(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR)
	install -m 0755 sendmail $(DESTDIR)$(SBINDIR)/sendmail
	install -m 0755 relayd/relayd $(DESTDIR)$(SBINDIR)/relayd
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
	rm -rf build build-san sendmail relayd/relayd

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
