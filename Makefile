# Makefile - front door.  Checks Debian packages (scripts/deps.sh, a quick
# no-op when all are present), then runs the real build in mk/build.mk.
#   make            build build/release/embedlab
#   make test       unit + end-to-end + TUI tests, then `N passed, N failed`
#   make demo       build and start embedlab on the bundled demo data
#   make check-layers  the layer rule of docs/ARCHITECTURE.md (part of make test)
#   make asan       tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make check-isa-qemu  the binary on an emulated baseline x86-64 CPU
#   make bench      benchmarks (no PyTorch needed);  make bench-compare: vs gensim/FAISS/...
#   make install    PREFIX=/usr/local DESTDIR=
#   make builtin-model   the builtin text encoder's English word vectors
#                   (from WordNet and GCIDE; `make demo` and `make install` build it)
GOALS := $(or $(MAKECMDGOALS),all)

.PHONY: $(GOALS)
$(GOALS):
	@scripts/deps.sh $(DEPSET)
	@$(MAKE) --no-print-directory -f mk/build.mk $@

DEPSET = $(strip $(if $(filter test asan tsan check% demo,$(GOALS)),test) \
                 $(if $(filter check-isa-qemu,$(GOALS)),isa) \
                 $(if $(filter bench-compare bench-scale,$(GOALS)),bench) \
                 $(if $(filter bench,$(GOALS)),load) \
                 $(if $(filter fuzz%,$(GOALS)),fuzz) \
                 $(if $(filter model,$(GOALS)),model) \
                 $(if $(filter builtin-model demo install,$(GOALS)),words) build)
