# genreid — build, test, bench. Sources are found by wildcard: a new module's .c files under
# src/<module>/ join libgenreid, a new tests/<module>/test_*.c becomes a test binary.
#   make            build/genreid, build/libgenreid.a, build/libgenreid.so
#   make run        install deps, build, run the main job on the shipped examples
#   make test       install deps, build, run the unit tests (no ../shared needed)
#   make test-shared  suites that compare with ../shared (seed clips, seed PNGs)
#   make asan       the same build with AddressSanitizer + UBSan in build-asan/
#   make test-asan  unit tests under the sanitizers
#   make bench      benchmarks against the Python anchors
#   make fuzz       every libFuzzer harness in tests/fuzz for FUZZ_S seconds (clang, build-fuzz/)
# BUILD=dir picks another build folder (several builds can live side by side).

BUILD ?= build
V ?=
Q = $(if $(V),,@)
PREFIX ?= /usr/local
SHARED ?= ../shared
CC ?= cc
WERROR ?=
SANITIZE ?=
SOVERSION = 0
VERSION = 0.1.0

PKGS = sndfile soxr fftw3f fftw3 libpng libjpeg libmicrohttpd libcurl zlib libdeflate nettle libzip
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ifeq ($(PKG_LIBS),)
PKG_LIBS = -lsndfile -lsoxr -lfftw3f -lfftw3 -lpng16 -ljpeg -lmicrohttpd -lcurl -lz -ldeflate -lnettle -lzip
endif

# OPT is the optimisation level; CFLAGS/LDFLAGS given on the command line are added last, never
# replacing the flags the build needs (-std, -fPIC, sanitizers).
OPT ?= -O2 -g
SAN_LIST = address,undefined
SAN_FLAGS = $(if $(SANITIZE),-fsanitize=$(SAN_LIST) -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
GR_CFLAGS = $(OPT) -fno-math-errno -std=c11 -Wall -Wextra -Wshadow -Wno-unused-parameter -fPIC -pthread $(WERROR) $(SAN_FLAGS) $(CFLAGS)
GR_CPPFLAGS = -Iinclude -Isrc -D_GNU_SOURCE $(PKG_CFLAGS) -MMD -MP $(CPPFLAGS)
GR_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)
GR_LDLIBS = $(PKG_LIBS) -ldnnl -lgomp -lfftw3f_threads -lpthread -lmvec -lm $(LDLIBS)

LIB_MODULES = core audio dsp image nn model pipeline data plot serve
LIB_SRC := $(sort $(foreach m,$(LIB_MODULES),$(wildcard src/$(m)/*.c)) $(wildcard src/*.c))
CLI_SRC := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(filter-out tests/shared/%,$(wildcard tests/*/test_*.c)))
SHARED_TEST_SRC := $(sort $(wildcard tests/shared/test_*.c))
TEST_UTIL_SRC := $(wildcard tests/util/*.c)

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_UTIL_OBJ := $(TEST_UTIL_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:%.c=$(BUILD)/%)
SHARED_TEST_BIN := $(SHARED_TEST_SRC:%.c=$(BUILD)/%)
TOOL_BIN := $(BUILD)/tools/dump-features

.SECONDARY:
.PHONY: all deps run test test-shared test-browser asan test-asan bench clean install default-model
all: $(BUILD)/genreid $(BUILD)/libgenreid.a $(BUILD)/libgenreid.so

deps:
	@scripts/install-deps

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(GR_CPPFLAGS) -Itests $(GR_CFLAGS) -c $< -o $@

# nn's own parallel loops are OpenMP, on the libgomp pool that Debian's oneDNN already runs on
$(BUILD)/obj/src/nn/par.o: GR_CFLAGS += -fopenmp

$(BUILD)/libgenreid.a: $(LIB_OBJ)
	@rm -f $@
	@$(if $(V),,echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(BUILD)/libgenreid.so: $(LIB_OBJ)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libgenreid.so.$(SOVERSION) $(GR_LDFLAGS) -o $@ $^ $(GR_LDLIBS)

$(BUILD)/genreid: $(CLI_OBJ) $(BUILD)/libgenreid.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(GR_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libgenreid.a $(GR_LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_UTIL_OBJ) $(BUILD)/libgenreid.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  TEST    $@")
	$(Q)$(CC) $(GR_CPPFLAGS) -Itests $(GR_CFLAGS) $(GR_LDFLAGS) -o $@ $< $(TEST_UTIL_OBJ) $(BUILD)/libgenreid.a $(GR_LDLIBS)

# experiment tools on the library's internals (tools/dump-features.c); built with the tests so they keep compiling
$(BUILD)/tools/%: tools/%.c $(BUILD)/libgenreid.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo "  TOOL    $@")
	$(Q)$(CC) $(GR_CPPFLAGS) $(GR_CFLAGS) $(GR_LDFLAGS) -o $@ $< $(BUILD)/libgenreid.a $(GR_LDLIBS)

tests-build: $(BUILD)/genreid $(TEST_BIN) $(TOOL_BIN)

# the default model is linked into the library (src/default_model.c)
$(BUILD)/obj/src/default_model.o: $(wildcard models/default.gmod models/default-audio.gmod)
$(BUILD)/obj/src/serve/engine.o: $(wildcard examples/audio/*/*.ogg examples/images/*.png)

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-examples $(BUILD)

test: deps
	@scripts/check-layering src
	@$(MAKE) --no-print-directory $(BUILD)/genreid $(TEST_BIN) $(TOOL_BIN)
	@tests/run-tests $(BUILD) $(TEST_BIN)

test-shared: deps
	@$(MAKE) --no-print-directory $(BUILD)/genreid $(SHARED_TEST_BIN)
	@GENREID_SHARED=$(SHARED) tests/run-tests $(BUILD) $(SHARED_TEST_BIN)

# the web page end to end in headless Chromium against `genreid serve` (screenshots in BUILD/serve-browser)
test-browser: deps
	@scripts/install-deps --browser
	@$(MAKE) --no-print-directory $(BUILD)/genreid
	@tests/serve/run-browser-test --out $(BUILD)/serve-browser $(BUILD)/genreid serve

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 OPT="-O1 -g" all

test-asan: deps
	@ISA_SKIP_SLOW=1 $(MAKE) --no-print-directory BUILD=build-asan SANITIZE=1 OPT="-O1 -g" test

bench: deps
	@scripts/install-deps --bench
	@$(MAKE) --no-print-directory all
	@BENCH_CFLAGS="$(GR_CPPFLAGS) $(GR_CFLAGS)" BENCH_LIBS="$(GR_LDLIBS)" bench/run $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/genreid $(DESTDIR)$(PREFIX)/bin/genreid
	install -m 644 $(BUILD)/libgenreid.a $(DESTDIR)$(PREFIX)/lib/libgenreid.a
	install -m 755 $(BUILD)/libgenreid.so $(DESTDIR)$(PREFIX)/lib/libgenreid.so.$(VERSION)
	ln -sf libgenreid.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libgenreid.so.$(SOVERSION)
	ln -sf libgenreid.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libgenreid.so
	install -m 644 include/genreid.h include/genreid_error.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS@|$(GR_LDLIBS)|' genreid.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/genreid.pc
	install -m 644 doc/genreid.1 $(DESTDIR)$(PREFIX)/share/man/man1/genreid.1

default-model: deps
	@$(MAKE) --no-print-directory $(BUILD)/genreid
	scripts/make-default-model $(BUILD) $(SHARED)
	@$(MAKE) --no-print-directory all

clean:
	rm -rf build build-asan build-fuzz

# the fuzz harnesses build with clang into their own folder (tests/fuzz/fuzz.mk)
-include tests/fuzz/fuzz.mk

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_UTIL_OBJ:.o=.d)
