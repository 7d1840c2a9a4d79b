# opskit — one non-recursive Makefile (after git's).
#   make                 build bin/ops-*
#   make check           install missing test dependencies, lint, run every test
#   make check SANITIZE=1  the same under ASan + UBSan (objects in build/san)
#   make demo            throwaway local servers, every tool against them
#   make bench           benchmarks side by side with the peer tools
#   make install PREFIX=/usr/local DESTDIR=
#   V=1                  show the commands

VERSION := 0.1.0
PREFIX ?= /usr/local
BINDIR_INSTALL = $(DESTDIR)$(PREFIX)/bin
MANDIR_INSTALL = $(DESTDIR)$(PREFIX)/share/man

CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config

# BUILD (objects) and BIN (binaries) may be set on the command line to keep separate trees.
ifeq ($(SANITIZE),1)
BUILD ?= build/san
BIN ?= build/san/bin
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD ?= build/default
BIN ?= bin
SAN_FLAGS :=
endif

ifneq ($(V),1)
QUIET_CC = @echo '   CC      $@';
QUIET_LINK = @echo '   LINK    $@';
QUIET_AR = @echo '   AR      $@';
endif

TOOLS := ops-promote ops-pgprobe ops-redisaudit ops-envcheck
LIB_PKGS := yaml-0.1 jansson

# Each tool's tools/<name>/tool.mk sets <name>_PKGS (pkg-config modules it links).
# A tool.mk may add targets of its own: they must not become the default goal.
.DEFAULT_GOAL := all
include $(wildcard tools/*/tool.mk)

pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pkg_libs = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

BASE_CFLAGS = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
	-MMD -MP -Ilib -DOPSKIT_VERSION='"$(VERSION)"' $(SAN_FLAGS) $(CFLAGS)
BASE_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIBOPSKIT := $(BUILD)/libopskit.a

HELPER_SRCS := $(wildcard tests/helper/*.c)
HELPER_OBJS := $(HELPER_SRCS:%.c=$(BUILD)/%.o)
HELPER := $(BIN)/opskit-test-helper

PROGRAMS := $(TOOLS:%=$(BIN)/%)

all: $(PROGRAMS) $(HELPER)

$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(BASE_CFLAGS) $(call pkg_cflags,$(LIB_PKGS)) -c -o $@ $<

$(LIBOPSKIT): $(LIB_OBJS)
	$(QUIET_AR)rm -f $@ && $(AR) rcs $@ $^

# One rule set per tool: objects under $(BUILD)/tools/<name>/, linked with its packages.
define tool_rules
$(1)_SRCS := $$(wildcard tools/$(1)/*.c)
$(1)_OBJS := $$($(1)_SRCS:%.c=$(BUILD)/%.o)
$(BUILD)/tools/$(1)/%.o: tools/$(1)/%.c
	@mkdir -p $$(dir $$@)
	$$(QUIET_CC)$$(CC) $$(BASE_CFLAGS) -Itools/$(1) $$(call pkg_cflags,$$(LIB_PKGS) $$($(1)_PKGS)) -c -o $$@ $$<
$(BIN)/$(1): $$($(1)_OBJS) $$(LIBOPSKIT)
	@mkdir -p $$(dir $$@)
	$$(QUIET_LINK)$$(CC) $$(BASE_LDFLAGS) -o $$@ $$($(1)_OBJS) $$(LIBOPSKIT) $$(call pkg_libs,$$(LIB_PKGS) $$($(1)_PKGS)) -lm -lpthread
ALL_OBJS += $$($(1)_OBJS)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rules,$(t))))

# The test helper exercises lib code and the tools' own modules where a test needs them.
HELPER_PKGS := $(sort $(foreach t,$(TOOLS),$($(t)_PKGS)))
$(BUILD)/tests/helper/%.o: tests/helper/%.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(BASE_CFLAGS) $(call pkg_cflags,$(LIB_PKGS)) -c -o $@ $<
$(HELPER): $(HELPER_OBJS) $(LIBOPSKIT)
	@mkdir -p $(dir $@)
	$(QUIET_LINK)$(CC) $(BASE_LDFLAGS) -o $@ $(HELPER_OBJS) $(LIBOPSKIT) $(call pkg_libs,$(LIB_PKGS)) -lm

-include $(LIB_OBJS:.o=.d) $(ALL_OBJS:.o=.d) $(HELPER_OBJS:.o=.d)

MANPAGES := $(wildcard man/*.[157])

# Tests read these: which binaries, and where the project is.
TEST_ENV = OPSKIT_BIN=$(abspath $(BIN)) OPSKIT_ROOT=$(CURDIR) SANITIZE=$(SANITIZE)
ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1
PROVE ?= prove
PROVE_FLAGS ?= -j2 --timer

deps:
	@ci/install-deps.sh test

lint-man:
	@echo '   MANDOC  man/*'
	@$(if $(MANPAGES),mandoc -T lint -W warning $(MANPAGES),true)

check: deps all lint-man
	@$(TEST_ENV) $(ASAN_ENV) $(PROVE) $(PROVE_FLAGS) tests/t[0-9][0-9][0-9][0-9]-*.sh

# One test file, verbose: make test T=tests/t0010-report.sh (without T: every test, verbose)
T ?= tests/t[0-9][0-9][0-9][0-9]-*.sh
test: all
	@$(TEST_ENV) $(ASAN_ENV) $(PROVE) -v $(T)

demo: all
	@ci/install-deps.sh test
	@$(TEST_ENV) ci/demo.sh

bench:
	@ci/install-deps.sh bench
	@$(MAKE) --no-print-directory all
	@$(TEST_ENV) bench/run.sh $(BENCH)

install: $(PROGRAMS)
	install -d $(BINDIR_INSTALL) $(MANDIR_INSTALL)/man1 $(MANDIR_INSTALL)/man5 $(MANDIR_INSTALL)/man7
	install -m 755 $(PROGRAMS) $(BINDIR_INSTALL)/
	$(if $(wildcard man/*.1),install -m 644 $(wildcard man/*.1) $(MANDIR_INSTALL)/man1/)
	$(if $(wildcard man/*.5),install -m 644 $(wildcard man/*.5) $(MANDIR_INSTALL)/man5/)
	$(if $(wildcard man/*.7),install -m 644 $(wildcard man/*.7) $(MANDIR_INSTALL)/man7/)

# Mutation testing (slow, not part of check): tests/mutants.txt, see tests/MUTANTS.md.
mutants: deps
	@$(TEST_ENV) tests/mutants.sh $(if $(MUTANTS_ONLY),-o '$(MUTANTS_ONLY)')
.PHONY: mutants

clean:
	rm -rf build bin tests/trash.*

.PHONY: all check test demo bench install clean deps lint-man
.DELETE_ON_ERROR:
