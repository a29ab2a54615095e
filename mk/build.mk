# mk/build.mk - the build proper (called by Makefile after deps.sh).
# Objects go to build/$(CONFIG)/ so `make asan` after `make` needs no clean.
CONFIG  ?= release
BUILD   := build/$(CONFIG)
CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=

ENGINE_PKGS := sqlite3 openblas libcjson libutf8proc libcurl
UI_PKGS     := ncursesw readline libmicrohttpd
STD   := -std=gnu11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN  := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
         -Wno-unused-parameter
OPT   ?= -O2 -g
# Everything but the kernel sources is built for baseline x86-64, so the
# binary runs on any x86-64 CPU; ARCH=native builds the rest for this CPU
# only (opt-in, the binary may then die on an older CPU).
BASE_ARCH := -march=x86-64 -mtune=generic
ARCH  ?= $(BASE_ARCH)
ifeq ($(ARCH),native)
  override ARCH := -march=native
endif
SAN   :=
ifeq ($(CONFIG),asan)
  OPT := -O1 -g -fno-omit-frame-pointer
  SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
endif
ifeq ($(CONFIG),tsan)
  OPT := -O1 -g
  SAN := -fsanitize=thread
endif
ifeq ($(WERROR),1)
  WARN += -Werror
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(ENGINE_PKGS) $(UI_PKGS))
ALL_CFLAGS  = $(STD) $(WARN) $(OPT) $(SAN) $(ARCH) -Iinclude $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
# Kernel sources (src/*/*_kernels.c) are compiled once per ISA level with
# that level's flags and -DCPU_KLEVEL=level (symbols get a _level suffix);
# the module picks one at run time (include/cpu.h).  KLEVELS_<file> lists
# the levels a file is built for: only those where its code differs.
KLEVEL_FLAGS_baseline   := -march=x86-64 -mtune=generic
KLEVEL_FLAGS_avx2       := -march=x86-64-v3
KLEVEL_FLAGS_avx512     := -march=x86-64-v4
KLEVEL_FLAGS_avx512vnni := -march=x86-64-v4 -mavx512vnni
KLEVEL_FLAGS_avx512bf16 := -march=x86-64-v4 -mavx512vnni -mavx512bf16
KLEVELS := baseline avx2 avx512 avx512vnni avx512bf16
KLEVELS_src/index/index_kernels.c := baseline avx2 avx512 avx512vnni
KLEVELS_src/index/hnsw_kernels.c  := baseline avx2 avx512
KLEVELS_src/model/bert_kernels.c  := baseline avx2 avx512
KLEVELS_src/model/bert_gemm_kernels.c := baseline avx2 avx512
KLEVELS_src/model/bert_dp_kernels.c := avx512bf16
KLEVELS_src/model/sgns_kernels.c  := baseline avx2 avx512
KERN_CFLAGS = $(STD) $(WARN) $(OPT) $(SAN) -Iinclude $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
ENGINE_LIBS := $(shell pkg-config --libs $(ENGINE_PKGS)) -lcsv -lm -pthread
UI_LIBS     := $(shell pkg-config --libs $(UI_PKGS))
ALL_LDFLAGS  = $(SAN) $(LDFLAGS)

ifneq ($(V),1)
  Q  := @
  QCC = @printf '  CC    %s\n' $<;
  QLD = @printf '  LD    %s\n' $@;
endif

KERNEL_SRC := $(sort $(wildcard src/*/*_kernels.c))
ENGINE_SRC := $(filter-out $(KERNEL_SRC),$(sort $(wildcard src/base/*.c src/data/*.c src/model/*.c src/index/*.c src/app/*.c)))
KERNEL_OBJ := $(foreach f,$(KERNEL_SRC),$(foreach l,$(KLEVELS_$(f)),$(BUILD)/$(f:.c=).$(l).o))
UI_SRC     := $(sort $(wildcard src/ui/*.c))
TEST_SRC   := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC  := $(sort $(wildcard bench/bench_*.c))
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/%.o) $(KERNEL_OBJ)
UI_OBJ     := $(UI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN   := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
LIB        := $(BUILD)/libengine.a
# EMBEDLAB_ISA for the test and bench programs (tests/unit/isa_env.c)
ISA_ENV    := $(BUILD)/tests/isa_env.o
APP        := $(BUILD)/embedlab

.PHONY: all test unit check-isa check-isa-qemu demo asan tsan bench bench-compare bench-scale install clean check-layers model fuzz \
        builtin-model
all: $(APP)

$(BUILD)/%.o: %.c $(BUILD)/.cflags
	@mkdir -p $(dir $@)
	$(QCC)$(CC) $(ALL_CFLAGS) -c $< -o $@

define klevel_rule
$$(BUILD)/%.$(1).o: %.c $$(BUILD)/.cflags
	@mkdir -p $$(dir $$@)
	$$(if $$(Q),@printf '  CC    %s [%s]\n' $$< $(1);)$$(CC) $$(KERN_CFLAGS) $$(KLEVEL_FLAGS_$(1)) \
	    -DCPU_KLEVEL=$(1) -c $$< -o $$@
endef
$(foreach l,$(KLEVELS),$(eval $(call klevel_rule,$(l))))

$(LIB): $(ENGINE_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(ISA_ENV): tests/unit/isa_env.c $(BUILD)/.cflags
	@mkdir -p $(dir $@)
	$(QCC)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(APP): $(UI_OBJ) $(LIB)
	$(QLD)$(CC) $(ALL_LDFLAGS) -o $@ $(UI_OBJ) $(LIB) $(UI_LIBS) $(ENGINE_LIBS)
	$(Q)ln -sf $(CONFIG)/embedlab build/embedlab-$(CONFIG)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(ISA_ENV)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(ISA_ENV) $(LIB) -lcmocka $(ENGINE_LIBS)

$(BUILD)/bench/%: bench/%.c $(LIB) $(ISA_ENV)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(ISA_ENV) $(LIB) $(ENGINE_LIBS)

# the TUI's response time: the front end's objects (not main.o) and curses
TUI_BENCH_OBJ := $(filter-out $(BUILD)/src/ui/main.o,$(UI_OBJ))
$(BUILD)/bench/bench_tui: bench/bench_tui.c $(TUI_BENCH_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(TUI_BENCH_OBJ) $(LIB) $(UI_LIBS) $(ENGINE_LIBS)

# The native peer of bench/compare_hnsw.py: hnswlib's headers (Debian's
# libhnswlib-dev, scripts/deps.sh load/bench) built for this CPU, as a user
# who compiles hnswlib would (make bench runs it, through bench/compare_hnsw.py).
$(BUILD)/bench/hnswlib_native: bench/hnswlib_native.cpp
	@mkdir -p $(dir $@)
	$(QLD)$(CXX) -std=c++17 -O3 -march=native -Wall -Wextra -o $@ $< -pthread

# test_isa_soft: test_isa.c over the AVX-512 and VNNI branches of the kernel
# sources compiled for a baseline CPU against tests/softsimd/immintrin.h
# (plain C), so that code runs here whatever the CPU has.
SOFT_FLAGS := -march=x86-64 -Itests/softsimd -D__AVX512F__ -D__AVX512BW__ -D__AVX512VL__ \
              -D__AVX512VNNI__ -D__AVX512BF16__ -DCPU_KLEVEL=soft512
# under the sanitizers the stand-in's lane loops, inlined and instrumented,
# take GCC minutes at -O1: build them unoptimised there
SOFT_FLAGS += $(if $(SAN),-O0)
SOFT_OBJ   := $(BUILD)/tests/soft/index_kernels.o $(BUILD)/tests/soft/bert_kernels.o \
              $(BUILD)/tests/soft/bert_gemm_kernels.o $(BUILD)/tests/soft/bert_dp_kernels.o \
              $(BUILD)/tests/soft/hnsw_kernels.o
TEST_BIN   += $(BUILD)/tests/test_isa_soft

$(BUILD)/tests/soft/%.o: src/index/%.c tests/softsimd/immintrin.h $(BUILD)/.cflags
	@mkdir -p $(dir $@)
	$(QCC)$(CC) $(KERN_CFLAGS) $(SOFT_FLAGS) -c $< -o $@

$(BUILD)/tests/soft/%.o: src/model/%.c tests/softsimd/immintrin.h $(BUILD)/.cflags
	@mkdir -p $(dir $@)
	$(QCC)$(CC) $(KERN_CFLAGS) $(SOFT_FLAGS) -c $< -o $@

$(BUILD)/tests/test_isa_soft: tests/unit/test_isa.c $(SOFT_OBJ) $(LIB) $(ISA_ENV)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(ALL_CFLAGS) -DISA_SOFT $(ALL_LDFLAGS) -o $@ $< $(SOFT_OBJ) $(ISA_ENV) $(LIB) \
	    -lcmocka $(ENGINE_LIBS)

# bench_bert on the same stand-in kernels (kern=soft): the accuracy of the
# AVX-512/BF16 products, bf16 x bf16 included, at full model size on any CPU
$(BUILD)/bench/bench_bert_soft: bench/bench_bert.c $(SOFT_OBJ) $(LIB) $(ISA_ENV)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(ALL_CFLAGS) -DBENCH_SOFT $(ALL_LDFLAGS) -o $@ $< $(SOFT_OBJ) $(ISA_ENV) $(LIB) \
	    $(ENGINE_LIBS)
BENCH_BIN += $(BUILD)/bench/bench_bert_soft

unit: $(TEST_BIN)

test: check-layers $(APP) $(TEST_BIN)
ifeq ($(ARCH),$(BASE_ARCH))
	@scripts/check_isa.sh $(BUILD) $(ENGINE_OBJ) $(UI_OBJ)
endif
	@tests/run.sh $(BUILD)

# No instruction above baseline x86-64 outside the per-level kernel copies
# (scripts/check_isa.sh); meaningful for the default ARCH only.
check-isa: $(APP)
	@scripts/check_isa.sh $(BUILD) $(ENGINE_OBJ) $(UI_OBJ)

# The default binary on an emulated baseline CPU (qemu-user; about 1-2 min).
check-isa-qemu: $(APP) $(BUILD)/tests/test_isa
	@scripts/check_isa.sh --qemu $(BUILD)

asan:
	@$(MAKE) --no-print-directory -f mk/build.mk CONFIG=asan test

tsan:
	@$(MAKE) --no-print-directory -f mk/build.mk CONFIG=tsan test

demo: $(APP) $(WORDS)
	@scripts/demo.sh $(APP)

bench: $(APP) $(BENCH_BIN) $(BUILD)/bench/hnswlib_native
	@bench/run.sh $(BUILD)

bench-compare: $(APP) $(BENCH_BIN)
	@bench/run.sh --compare $(BUILD)

bench-scale: $(BENCH_BIN)
	@bench/run.sh --scale $(BUILD)

model:
	@scripts/model.sh

# The builtin text encoder's English word vectors (`pretrain text`), from
# the dictionaries of Debian's wordnet-base and dict-gcide.  Built once
# (about 2-5 minutes on 2 cores) where the installed program finds it:
# share/embedlab/models/ beside bin/, here build/share/...  Rebuilt only when
# the dictionaries or the code that reads them change; one thread, so the
# same file on every run of the same build.
WORDNET   ?= /usr/share/wordnet
GCIDE_DZ  ?= /usr/share/dictd/gcide.dict.dz
GCIDE_IDX ?= /usr/share/dictd/gcide.index
WORDS_DIR := build/share/embedlab/models
WORDS     := $(WORDS_DIR)/words-en.ewv
builtin-model: $(WORDS)
# one line: a backslash-newline inside the quotes would reach the command
PRETRAIN_CMD = pretrain text $@ wordnet=$(WORDNET) gcide=build/words/gcide.dict gcide_index=$(GCIDE_IDX)

$(WORDS): src/model/textenc_pretrain.c src/model/textenc_words.c $(WORDNET)/data.noun \
          $(GCIDE_DZ) $(GCIDE_IDX) | $(APP)
	@mkdir -p $(WORDS_DIR) build/words
	@echo "building $@ from WordNet and GCIDE (once; a few minutes) ..."
	$(Q)gzip -dc $(GCIDE_DZ) > build/words/gcide.dict
	$(Q)$(APP) --db :memory: --strict -c '$(PRETRAIN_CMD)'
	$(Q)rm -f build/words/gcide.dict

install: $(APP) $(WORDS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/embedlab/demo \
	    $(DESTDIR)$(PREFIX)/share/embedlab/models $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(APP) $(DESTDIR)$(PREFIX)/bin/embedlab
	install -m 644 $(WORDS) $(DESTDIR)$(PREFIX)/share/embedlab/models/
	cp -R data/demo data/examples $(DESTDIR)$(PREFIX)/share/embedlab/
	install -m 644 man/embedlab.1 $(DESTDIR)$(PREFIX)/share/man/man1/embedlab.1

# The header rules of STYLE.md 2.1: third-party headers in their one file each.
# The layer rule (docs/ARCHITECTURE.md): no include from a higher layer, no
# reach into another layer's internal headers, third-party headers only in
# their one file.
check-layers:
	@scripts/check_layers.sh

clean:
	rm -rf build

-include $(ENGINE_OBJ:.o=.d) $(UI_OBJ:.o=.d) $(TEST_BIN:%=%.d) $(ISA_ENV:.o=.d) $(SOFT_OBJ:.o=.d)

# ==== reliability: fuzz harnesses, corpus replay, valgrind ===================
#   fuzz-replay      build/<cfg>/fuzz/replay_<t>: each harness + replay_main.c with
#                    the normal compiler (what `make test` runs over the corpus)
#   fuzz             clang libFuzzer + ASan + UBSan into build/fuzz/, each target run
#                    FUZZ_SECONDS (60) on tests/fuzz/corpus/<t>; FUZZ_TARGETS picks some
#   check-valgrind   the e2e .cmd tests under valgrind memcheck
FUZZ_SRC         := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES       := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_REPLAY_BIN  := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
FUZZ_SECONDS     ?= 60
FUZZ_TARGETS     ?= $(FUZZ_NAMES)
FUZZ_FLAGS       ?=
ifeq ($(CONFIG),fuzz)
  OPT := -O1 -g -fno-omit-frame-pointer
  SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
  ALL_CFLAGS += -fsanitize=fuzzer-no-link
endif

.PHONY: fuzz-replay fuzz-build check-valgrind valgrind-run
fuzz-replay: $(FUZZ_REPLAY_BIN)
test: $(FUZZ_REPLAY_BIN)

# A harness of front-end code links that code's objects too: fuzz_serve the
# server's request handling (everything of `embedlab serve` but the HTTP).
SERVE_API_OBJ := $(BUILD)/src/ui/serve_api.o
$(BUILD)/fuzz/replay_serve $(BUILD)/fuzz/fuzz_serve: $(SERVE_API_OBJ)
FUZZ_INC := -Itests/fuzz -Isrc/ui

$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c tests/fuzz/fuzz_util.h $(LIB)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(ALL_CFLAGS) $(FUZZ_INC) $(ALL_LDFLAGS) -o $@ $< tests/fuzz/replay_main.c \
	    $(filter %.o,$^) $(LIB) $(ENGINE_LIBS)

# libFuzzer binaries (CONFIG=fuzz, CC=clang): build/fuzz/fuzz_<t>
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(LIB)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(ALL_CFLAGS) $(FUZZ_INC) $(SAN) -fsanitize=fuzzer -o $@ $< $(filter %.o,$^) \
	    $(LIB) $(ENGINE_LIBS)

fuzz-build: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)

# Runs each target for FUZZ_SECONDS with its corpus dir (new inputs land in
# build/fuzz/corpus/<t>, crashes in build/fuzz/artifacts/); fails on a crash.
fuzz:
	@$(MAKE) --no-print-directory -f mk/build.mk CONFIG=fuzz CC=clang fuzz-build
	@mkdir -p build/fuzz/artifacts; fail=0; \
	for t in $(FUZZ_TARGETS); do \
	    mkdir -p build/fuzz/corpus/$$t build/fuzz/tmp; \
	    echo "== fuzz_$$t ($(FUZZ_SECONDS) s)"; \
	    FUZZ_TMPDIR=$(CURDIR)/build/fuzz/tmp ASAN_OPTIONS=detect_leaks=1 OPENBLAS_NUM_THREADS=1 \
	    build/fuzz/fuzz/fuzz_$$t \
	        -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
	        -artifact_prefix=$(CURDIR)/build/fuzz/artifacts/$$t- $(FUZZ_FLAGS) \
	        build/fuzz/corpus/$$t tests/fuzz/corpus/$$t 2>build/fuzz/fuzz_$$t.log \
	        || { fail=1; tail -40 build/fuzz/fuzz_$$t.log; }; \
	    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' build/fuzz/fuzz_$$t.log; \
	    rm -rf build/fuzz/tmp; \
	done; exit $$fail

# Memcheck over the e2e command scripts (each as tests/run.sh runs it), on a
# CONFIG=valgrind build: valgrind cannot decode AVX-512, so the kernels are
# capped at AVX2 (EMBEDLAB_ISA=avx2) and OpenBLAS pinned to its Haswell
# kernels (EMBEDLAB_BLAS_REEXEC skips main.c's re-exec).
ifeq ($(CONFIG),valgrind)
  OPT  := -O1 -g
endif
check-valgrind:
	@$(MAKE) --no-print-directory -f mk/build.mk CONFIG=valgrind valgrind-run

# A script's own errors make embedlab exit 1, so memcheck reports through exit
# code 99 and its log file (-q: empty when clean); the output must still match
# the script's .out.
valgrind-run: $(APP)
	@fail=0; n=0; for c in tests/e2e/*.cmd; do \
	    [ -f "$$c" ] || continue; n=$$((n+1)); name=$$(basename $$c .cmd); \
	    log=$(CURDIR)/$(BUILD)/valgrind-$$name.log; \
	    (cd tests/e2e && OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=Haswell EMBEDLAB_ISA=avx2 \
	        EMBEDLAB_BLAS_REEXEC=1 valgrind -q --error-exitcode=99 --leak-check=full \
	        --errors-for-leak-kinds=definite,indirect --log-file=$$log \
	        $(CURDIR)/$(APP) --batch --db :memory: --no-timing < $$name.cmd >$$log.out 2>&1); \
	    rc=$$?; \
	    if [ $$rc -ne 99 ] && [ $$rc -lt 128 ] && [ ! -s $$log ] && \
	        diff -q $$log.out tests/e2e/$$name.out >/dev/null; \
	    then echo "valgrind $$name: ok"; \
	    else echo "valgrind $$name: FAILED (exit $$rc, $$log)"; tail -40 $$log; \
	        diff $$log.out tests/e2e/$$name.out | head -10; fail=1; fi; \
	done; echo "valgrind: $$n scripts"; [ $$n -gt 0 ] && exit $$fail

# ==== end reliability =========================================================

# Objects depend on the compiler flags: BUILD/.cflags is rewritten when they
# change (another ARCH, CC, CFLAGS; a build from before the baseline default),
# so nothing compiled with other flags survives into a link.
CFLAGS_NOW := $(CC) $(ALL_CFLAGS) | $(KERN_CFLAGS) | $(SOFT_FLAGS)
$(shell mkdir -p $(BUILD) && { [ -f $(BUILD)/.cflags ] && [ "$$(cat $(BUILD)/.cflags)" = "$(CFLAGS_NOW)" ] || echo "$(CFLAGS_NOW)" > $(BUILD)/.cflags; })
$(BUILD)/.cflags: ;
