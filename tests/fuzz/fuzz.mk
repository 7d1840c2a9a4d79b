# libFuzzer targets, one per parser of outside input (tests/fuzz/fuzz-*.c; tests/README).
#   make fuzz              build them all under build/fuzz/ (clang, ASan + UBSan)
#   make fuzz FUZZ_S=60    ... and run each 60 s on a copy of its seed corpus
#                          (tests/fuzz/X/ -> build/fuzz/corpus/fuzz-X/); fails
#                          on the first crash, leaving crash-* in build/fuzz/
#   make fuzz-envcheck     the dotenv target only (its old name)
# A target fuzz-X.c may declare the tool whose objects (all but main.c) it links on a line
# "FUZZ_TOOL: ops-name"; a tool's .c it #includes itself (to reach static parsers) is
# left out of the link.
FUZZ_CC ?= clang
FUZZ_DIR ?= build/fuzz
FUZZ_S ?=
FUZZ_FLAGS := -g -O1 -std=c11 -Wall -Wextra -Werror -Wno-unused-function -Ilib -DOPSKIT_VERSION='"$(VERSION)"' \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_TARGETS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_DIR)/%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_ALL_PKGS := $(LIB_PKGS) $(sort $(foreach t,$(TOOLS),$($(t)_PKGS)))

$(FUZZ_DIR)/obj/lib/%.o: lib/%.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP $(call pkg_cflags,$(LIB_PKGS)) -c -o $@ $<
$(FUZZ_DIR)/obj/tools/%.o: tools/%.c
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -I$(dir $<) $(call pkg_cflags,$(FUZZ_ALL_PKGS)) -c -o $@ $<

fuzz_tool = $(shell sed -n 's/.*FUZZ_TOOL: *\(ops-[a-z]*\).*/\1/p' $(1))
fuzz_incl = $(shell sed -n 's,^\#include "\.\./\.\./\(tools/.*\.c\)",\1,p' $(1))
fuzz_objs = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(filter-out tools/$(1)/main.c $(2),$(wildcard tools/$(1)/*.c)))
# FT_<target>: the tool it links; FI_<target>: the tool sources it includes.
$(foreach s,$(FUZZ_SRCS),$(eval FT_$(notdir $(s:.c=)) := $(call fuzz_tool,$(s)))$(eval FI_$(notdir $(s:.c=)) := $(call fuzz_incl,$(s))))
define fuzz_rules
$(FUZZ_DIR)/$(1): tests/fuzz/$(1).c $(FUZZ_LIB_OBJS) $(call fuzz_objs,$(FT_$(1)),$(FI_$(1))) $(FI_$(1))
	@mkdir -p $$(dir $$@)
	$$(QUIET_LINK)$$(FUZZ_CC) $$(FUZZ_FLAGS) -fsanitize=fuzzer -MMD -MP -MF $$@.d $(if $(FT_$(1)),-Itools/$(FT_$(1))) \
		$$(call pkg_cflags,$$(FUZZ_ALL_PKGS)) -o $$@ $$< $$(filter %.o,$$^) $$(call pkg_libs,$$(FUZZ_ALL_PKGS)) -lm -lpthread
endef
$(foreach s,$(FUZZ_SRCS),$(eval $(call fuzz_rules,$(notdir $(s:.c=)))))
-include $(FUZZ_LIB_OBJS:.o=.d) $(wildcard $(FUZZ_DIR)/obj/tools/*/*.d $(FUZZ_DIR)/*.d)

fuzz: $(FUZZ_TARGETS)
ifneq ($(FUZZ_S),)
	@for t in $(notdir $(FUZZ_TARGETS)); do c=$${t#fuzz-}; \
		rm -rf $(FUZZ_DIR)/corpus/$$t && mkdir -p $(FUZZ_DIR)/corpus/$$t && \
		{ [ ! -d tests/fuzz/$$c ] || cp tests/fuzz/$$c/* $(FUZZ_DIR)/corpus/$$t/; } && \
		echo "   FUZZ    $$t $(FUZZ_S)s" && \
		(cd $(FUZZ_DIR) && ./$$t -max_total_time=$(FUZZ_S) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 corpus/$$t >$$t.log 2>&1) || \
		{ tail -n 40 $(FUZZ_DIR)/$$t.log; echo "make fuzz: $$t crashed (input: $(FUZZ_DIR)/crash-*, log: $(FUZZ_DIR)/$$t.log)" >&2; exit 1; }; \
		grep -h '^stat::number_of_executed_units' $(FUZZ_DIR)/$$t.log | sed "s/^/   $$t /"; \
	done
endif
fuzz-envcheck: $(FUZZ_DIR)/fuzz-dotenv
.PHONY: fuzz fuzz-envcheck
