# daxtrace: one static binary with every BPF object embedded as a skeleton.
# See README.md; `make check` runs every test, `make demo` boots the VM test bed.

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
STRIP    ?= strip
LLVM_STRIP ?= llvm-strip
PREFIX   ?= /usr/local
ARCH     := x86

BUILD    := build
OBJDIR   := $(BUILD)/obj
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

CFLAGS   ?= -O2 -g
CFLAGS   += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE \
	    -Iinclude -Isrc -I$(BUILD)
# One parse of the kernel's BTF per process, shared with libbpf (src/probe.c).
BTF_WRAP := -Wl,--wrap=btf__load_vmlinux_btf,--wrap=btf__free
LDLIBS   := $(BTF_WRAP) -lbpf -lelf -lz -lzstd -lncursesw -ltinfo -lpthread
BPFFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Iinclude -Ibpf -Wall \
	    -Wno-unused-function -Wno-compare-distinct-pointer-types

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
SRCS      := $(wildcard src/*.c)
OBJS      := $(patsubst src/%.c,$(OBJDIR)/%.o,$(SRCS)) $(OBJDIR)/version.o
LIB_OBJS  := $(filter-out $(OBJDIR)/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
DAXLOAD_SRCS := $(wildcard tools/daxload/*.c)
LINKS     := daxtop daxleak

.SECONDARY: $(BPF_OBJS) $(SKELS)
.PHONY: all clean FORCE install check unit-test host-test vm-test demo bench deps
all: $(BUILD)/daxtrace $(BUILD)/daxload

deps:
	./tools/install-deps.sh

$(BUILD) $(OBJDIR) $(BUILD)/tests:
	mkdir -p $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h include/*.h) | $(BUILD)
	$(CLANG) $(BPFFLAGS) -c $< -o $@
	$(LLVM_STRIP) -g $@ 2>/dev/null || true

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# The version lives in one generated object, rewritten only when it changes,
# so every part of one binary reports the same version.
$(BUILD)/version.c: FORCE | $(BUILD)
	@echo 'const char daxtrace_version[] = "$(VERSION)";' > $@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@

$(OBJDIR)/version.o: $(BUILD)/version.c | $(OBJDIR)
	$(CC) $(CFLAGS) -c $< -o $@

FORCE:

# Every user-space object may include any skeleton.
$(OBJDIR)/%.o: src/%.c $(wildcard src/*.h include/*.h) $(SKELS) | $(OBJDIR)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/daxtrace: $(OBJS)
	$(CC) -static $(LDFLAGS) -o $@ $^ $(LDLIBS)
	for l in $(LINKS); do ln -sf daxtrace $(BUILD)/$$l; done

$(BUILD)/daxload: $(DAXLOAD_SRCS) $(wildcard tools/daxload/*.h) | $(BUILD)
	$(CC) -static -O2 -g -Wall -Wextra -D_GNU_SOURCE -o $@ $(DAXLOAD_SRCS) -lpthread

# Unit tests link the core objects dynamically against cmocka (no static cmocka in Debian).
$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -o $@ $< $(LIB_OBJS) -lcmocka $(LDLIBS)

unit-test: $(UNIT_BINS)
	./tests/run-unit.sh $(UNIT_BINS)

host-test: all
	./tests/host/run.sh

vm-test: all
	./tools/vm/matrix

# On a fresh machine these two install what they need first.
check:
	./tools/install-deps.sh
	$(MAKE) all
	./tests/check.sh

# make demo ERA=5.10|6.1|6.12|7 picks the kernel (default 7).
demo:
	./tools/install-deps.sh
	$(MAKE) all
	./tools/vm/demo $(if $(ERA),--era $(ERA))

bench: all
	./tools/bench/run

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BUILD)/daxtrace $(DESTDIR)$(PREFIX)/sbin/daxtrace
	for l in $(LINKS); do ln -sf daxtrace $(DESTDIR)$(PREFIX)/sbin/$$l; done
	install -m 0644 docs/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf $(BUILD)
