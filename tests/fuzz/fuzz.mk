# tests/fuzz/fuzz.mk — the libFuzzer harnesses, included by the top Makefile (which defines LIB_SRC,
# GR_CPPFLAGS, GR_LDLIBS). Everything builds with clang into $(FUZZ_BUILD) (build-fuzz/): its own
# objects of every library source (-fsanitize=fuzzer-no-link,address,undefined), harnesses linked
# with -fsanitize=fuzzer,address,undefined. Nothing here is a prerequisite of all/test.
#   make fuzz-build                  build-fuzz/fuzz_NAME for every tests/fuzz/fuzz_NAME.c
#   make fuzz [FUZZ_S=60]            each harness FUZZ_S seconds on a scratch copy of its corpus
#   make fuzz FUZZ_RUNS=1000000      ... or N executions each
#   make fuzz FUZZ_ONLY="json pth"   only these harnesses
#   make fuzz-regress                every committed corpus and regression input once (cheap; CI)
# The runner is tests/fuzz/run-fuzz (per-harness -max_len, dictionaries, summary line).

FUZZ_BUILD ?= build-fuzz
FUZZ_CC ?= clang
FUZZ_S ?= 60
FUZZ_RUNS ?=
FUZZ_ONLY ?=
FUZZ_OPT ?= -O1 -g
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = $(FUZZ_OPT) -fno-math-errno -std=c11 -Wall -Wextra -Wshadow -Wno-unused-parameter -pthread \
  $(FUZZ_SAN) $(WERROR)

FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
# the cli parsers are not in libgenreid: their own archive (never main.c or the commands)
FUZZ_CLI_OBJ := $(FUZZ_BUILD)/obj/src/cli/fetch_manifest.o $(FUZZ_BUILD)/obj/src/cli/fetch_ytdlp.o

.PHONY: fuzz-build fuzz fuzz-regress

fuzz-build: $(FUZZ_BIN)

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(GR_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/obj/src/default_model.o: $(wildcard models/default.gmod models/default-audio.gmod)
$(FUZZ_BUILD)/obj/src/serve/engine.o: $(wildcard examples/audio/*/*.ogg examples/images/*.png)

$(FUZZ_BUILD)/libgenreid.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	@$(if $(V),,echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(FUZZ_BUILD)/libgenreid-cli.a: $(FUZZ_CLI_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_BUILD)/libgenreid-cli.a $(FUZZ_BUILD)/libgenreid.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(GR_CPPFLAGS) -Itests/fuzz $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	  $(FUZZ_BUILD)/libgenreid-cli.a $(FUZZ_BUILD)/libgenreid.a $(GR_LDLIBS)

fuzz: fuzz-build
	@tests/fuzz/run-fuzz --build $(FUZZ_BUILD) $(if $(FUZZ_RUNS),--runs $(FUZZ_RUNS),--seconds $(FUZZ_S)) $(FUZZ_ONLY)

fuzz-regress: fuzz-build
	@tests/fuzz/run-fuzz --build $(FUZZ_BUILD) --regress $(FUZZ_ONLY)

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_CLI_OBJ:.o=.d) $(FUZZ_BIN:=.d)
