# opskit — one non-recursive Makefile (after git's).
#   make                 build bin/ops-*
#   make check           install missing test dependencies, lint, run every test
#   make check SANITIZE=1  the same under ASan + UBSan (objects in build/san)
#   make check-threads   the threaded tests (THREADED_TESTS) under ThreadSanitizer (build/tsan)
#   make test SANITIZE=thread T=...  any test under ThreadSanitizer
#   make demo            throwaway local servers, every tool against them
#   make bench           benchmarks side by side with the peer tools
#   make install PREFIX=/usr/local DESTDIR=
#   make fuzz FUZZ_S=N   libFuzzer targets (clang), each run N s (tests/fuzz/fuzz.mk)
#   make dist            opskit-$(VERSION).tar.gz of the tracked files (DIST_TARBALL=path)
#   V=1                  show the commands

VERSION := 0.1.0
PREFIX ?= /usr/local
BINDIR_INSTALL = $(DESTDIR)$(PREFIX)/bin
MANDIR_INSTALL = $(DESTDIR)$(PREFIX)/share/man
BASHCOMPDIR_INSTALL = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR_INSTALL = $(DESTDIR)$(PREFIX)/share/zsh/site-functions

CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config

# BUILD (objects) and BIN (binaries) may be set on the command line to keep separate trees.
ifeq ($(SANITIZE),1)
BUILD ?= build/san
BIN ?= build/san/bin
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else ifeq ($(SANITIZE),thread)
# ThreadSanitizer for the threaded paths (promote --jobs, redisaudit --jobs, the exporter).
# -O1 comes after CFLAGS' -O2, so it wins: TSan's usual trade of speed for whole stacks.
# clang unless CC is given: gcc 12's libtsan kills a process that starts a thread after a
# fork from a threaded one (the exporter's probes do), LLVM's forgets the parent's threads.
ifeq ($(origin CC),default)
CC := clang
endif
BUILD ?= build/tsan
BIN ?= build/tsan/bin
SAN_FLAGS := -fsanitize=thread -g
CFLAGS += -O1
else
BUILD ?= build/default
BIN ?= bin
SAN_FLAGS :=
endif

ifneq ($(V),1)
QUIET_CC = @echo '   CC      $@';
QUIET_LINK = @echo '   LINK    $@';
QUIET_AR = @echo '   AR      $@';
QUIET_GEN = @echo '   GEN     $@';
endif

TOOLS := ops-promote ops-pgprobe ops-redisaudit ops-envcheck
LIB_PKGS := yaml-0.1 jansson libmicrohttpd

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

# Shell completions, generated from each tool's option table (ci/gen-completion.sh).
COMPLETIONS := $(TOOLS:%=$(BUILD)/completions/%.bash) $(TOOLS:%=$(BUILD)/completions/_%)

all: $(PROGRAMS) $(HELPER)

completions: $(COMPLETIONS)

$(BUILD)/completions/%.bash: $(BIN)/% ci/gen-completion.sh
	@mkdir -p $(dir $@)
	$(QUIET_GEN)ci/gen-completion.sh bash $< >$@
$(BUILD)/completions/_%: $(BIN)/% ci/gen-completion.sh
	@mkdir -p $(dir $@)
	$(QUIET_GEN)ci/gen-completion.sh zsh $< >$@

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
TEST_ENV = OPSKIT_BIN=$(abspath $(BIN)) OPSKIT_BUILD=$(abspath $(BUILD)) OPSKIT_ROOT=$(CURDIR) SANITIZE=$(SANITIZE)
# die_after_fork=0: the exporter forks each probe from a connection thread and a probe may
# start threads of its own (ops-pgprobe's, one per target), which glibc allows and TSan
# does not follow (it would kill every probe); races in the child are still reported.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:die_after_fork=0
PROVE ?= prove
PROVE_FLAGS ?= -j2 --timer

# The README's first commands (make demo, make check, make bench) must work on a machine
# with none of the packages: each runs $(INSTALL_DEPS) first, in its own recipe, and only
# then builds through a recursive make, so no compile can start before the headers are
# installed, whatever -j says (prerequisites of one target run in parallel under -j).
# INSTALL_DEPS may name a stand-in (tests/t0041-bare.sh records the order with one).
INSTALL_DEPS ?= ci/install-deps.sh

deps:
	@$(INSTALL_DEPS) test

lint-man:
	@echo '   MANDOC  man/*'
	@$(if $(MANPAGES),mandoc -T lint -W warning $(MANPAGES),true)

check:
	@$(INSTALL_DEPS) test
	@$(MAKE) --no-print-directory all lint-man
	@$(TEST_ENV) $(SAN_ENV) $(PROVE) $(PROVE_FLAGS) tests/t[0-9][0-9][0-9][0-9]-*.sh

# One test file, verbose: make test T=tests/t0010-report.sh (without T: every test, verbose)
T ?= tests/t[0-9][0-9][0-9][0-9]-*.sh
test: all
	@$(TEST_ENV) $(SAN_ENV) $(PROVE) -v $(T)

# The tests that run threads of ours: promote's parallel blob copies, redisaudit's --jobs
# over cluster nodes, the exporters' connection threads. CI runs them under TSan.
THREADED_TESTS = tests/t2004-*.sh tests/t2008-*.sh tests/t2012-*.sh tests/t2018-*.sh tests/t2019-*.sh \
	tests/t2020-*.sh tests/t2023-*.sh tests/t2024-*.sh tests/t2027-*.sh tests/t2028-*.sh tests/t2031-*.sh \
	tests/t3[0-9][0-9][0-9]-*.sh tests/t4020-*.sh

check-threads:
	@$(INSTALL_DEPS) threads
	@$(MAKE) --no-print-directory SANITIZE=thread check-threads-run

check-threads-run: all
	@$(TEST_ENV) $(SAN_ENV) $(PROVE) $(PROVE_FLAGS) $(THREADED_TESTS)

demo:
	@$(INSTALL_DEPS) test
	@$(MAKE) --no-print-directory all
	@$(TEST_ENV) ci/demo.sh

bench:
	@$(INSTALL_DEPS) bench
	@$(MAKE) --no-print-directory all
	@$(TEST_ENV) bench/run.sh $(BENCH)

install: $(PROGRAMS) $(COMPLETIONS)
	install -d $(BINDIR_INSTALL) $(MANDIR_INSTALL)/man1 $(MANDIR_INSTALL)/man5 $(MANDIR_INSTALL)/man7 \
		$(BASHCOMPDIR_INSTALL) $(ZSHCOMPDIR_INSTALL)
	install -m 755 $(PROGRAMS) $(BINDIR_INSTALL)/
	for t in $(TOOLS); do install -m 644 $(BUILD)/completions/$$t.bash $(BASHCOMPDIR_INSTALL)/$$t; done
	install -m 644 $(TOOLS:%=$(BUILD)/completions/_%) $(ZSHCOMPDIR_INSTALL)/
	$(if $(wildcard man/*.1),install -m 644 $(wildcard man/*.1) $(MANDIR_INSTALL)/man1/)
	$(if $(wildcard man/*.5),install -m 644 $(wildcard man/*.5) $(MANDIR_INSTALL)/man5/)
	$(if $(wildcard man/*.7),install -m 644 $(wildcard man/*.7) $(MANDIR_INSTALL)/man7/)

# The tracked files as they are in the work tree, under opskit-$(VERSION)/, reproducibly.
DIST_NAME = opskit-$(VERSION)
DIST_TARBALL ?= $(DIST_NAME).tar.gz
dist:
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 || { echo 'make dist: needs the git work tree (it packs the tracked files)' >&2; exit 3; }
	$(QUIET_GEN)rm -f $(DIST_TARBALL).tmp* && git ls-files -z | LC_ALL=C tar --null -T - --sort=name \
		--owner=0 --group=0 --numeric-owner --mtime=@$$(git log -1 --format=%ct 2>/dev/null || echo 0) \
		--transform='s,^,$(DIST_NAME)/,' -cf $(DIST_TARBALL).tmp && gzip -n -9 $(DIST_TARBALL).tmp && \
		mv $(DIST_TARBALL).tmp.gz $(DIST_TARBALL)

# Mutation testing (slow, not part of check): tests/mutants.txt, see tests/MUTANTS.md.
mutants: deps
	@$(TEST_ENV) tests/mutants.sh $(if $(MUTANTS_ONLY),-o '$(MUTANTS_ONLY)')
.PHONY: mutants

clean:
	rm -rf build bin tests/trash.* $(DIST_NAME).tar.gz

include tests/fuzz/fuzz.mk

.PHONY: all completions check check-threads check-threads-run test demo bench install clean deps lint-man dist
.DELETE_ON_ERROR:
