ops-envcheck_PKGS := libgit2 libcrypto

# libFuzzer target for lib/dotenv (clang only): make fuzz-envcheck, then run
#   build/fuzz/fuzz-dotenv -max_total_time=300 build/fuzz/corpus tests/envcheck-corpus
FUZZ_CC ?= clang
FUZZ_DIR ?= build/fuzz
fuzz-envcheck: $(FUZZ_DIR)/fuzz-dotenv
$(FUZZ_DIR)/fuzz-dotenv: tests/fuzz/fuzz-dotenv.c $(wildcard lib/dotenv*.c lib/dotenv*.h) lib/util.c lib/redact.c
	@mkdir -p $(FUZZ_DIR)/corpus
	$(FUZZ_CC) -g -O1 -std=c11 -Ilib -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ tests/fuzz/fuzz-dotenv.c $(wildcard lib/dotenv*.c) lib/util.c lib/redact.c
.PHONY: fuzz-envcheck
