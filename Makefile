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
	    -Iinclude -I$(BUILD)
# Each object's make dependencies (headers, skeletons) come from the compiler.
DEPFLAGS := -MMD -MP
# One parse of the kernel's BTF per process, shared with libbpf (src/core/probe_btf.c).
BTF_WRAP := -Wl,--wrap=btf__load_vmlinux_btf,--wrap=btf__free
LDLIBS   := $(BTF_WRAP) -lbpf -lelf -lz -lzstd -lncursesw -ltinfo -lpthread
BPFFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Iinclude -Ibpf/core -Wall \
	    -Wno-unused-function -Wno-compare-distinct-pointer-types

# `make V=1` shows each command; by default one line per file made.
ifeq ($(V),1)
say :=
Q   :=
else
say = @printf '  %-6s %s\n' '$(1)' '$(2)';
Q   := @
endif

# User space by folder (docs/design.md): core is used by every tool and
# sees only itself; a tool sees core and src/ (commands.h); export reads
# daxtop's and daxleak's collections; main.c and features.c see all.
SRC_DIRS  := src src/core src/top src/leak src/export src/bench
INC_ALL   := $(addprefix -I,$(SRC_DIRS))
INC       := $(INC_ALL)
$(OBJDIR)/core/%.o:   INC := -Isrc/core
$(OBJDIR)/top/%.o:    INC := -Isrc -Isrc/core -Isrc/top
$(OBJDIR)/leak/%.o:   INC := -Isrc -Isrc/core -Isrc/leak
$(OBJDIR)/export/%.o: INC := -Isrc -Isrc/core -Isrc/top -Isrc/leak -Isrc/export
$(OBJDIR)/bench/%.o:  INC := -Isrc -Isrc/core

# BPF programs in bpf/<folder>/, objects and skeletons flat in build/.
# A skeleton is named after its program, except the scan's
# (bpf/leak/scan.bpf.c), which keeps daxnow.skel.h and struct daxnow_bpf.
BPF_SRCS  := $(wildcard bpf/*/*.bpf.c)
BPF_NAMES := $(notdir $(BPF_SRCS:.bpf.c=))
BPF_OBJS  := $(BPF_NAMES:%=$(BUILD)/%.bpf.o)
skel_name  = $(if $(filter scan,$(1)),daxnow,$(1))
SKELS     := $(foreach n,$(BPF_NAMES),$(BUILD)/$(call skel_name,$(n)).skel.h)
vpath %.bpf.c $(sort $(dir $(BPF_SRCS)))

SRCS      := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c))
OBJS      := $(patsubst src/%.c,$(OBJDIR)/%.o,$(SRCS)) $(OBJDIR)/version.o
LIB_OBJS  := $(filter-out $(OBJDIR)/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
DAXLOAD_SRCS := $(wildcard tools/daxload/*.c)
LINKS     := daxtop daxleak

.SECONDARY: $(BPF_OBJS) $(SKELS)
.PHONY: all clean FORCE install check unit-test host-test fields-test vm-test demo bench deps
all: $(BUILD)/daxtrace $(BUILD)/daxload

deps:
	./tools/install-deps.sh

$(BUILD) $(OBJDIR) $(BUILD)/tests:
	$(Q)mkdir -p $@

$(BUILD)/%.bpf.o: %.bpf.c | $(BUILD)
	$(call say,CLANG,$<)$(CLANG) $(BPFFLAGS) $(DEPFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@ 2>/dev/null || true

define gen_skel
	$(call say,GEN,$@)$(BPFTOOL) gen skeleton $< name $(1)_bpf > $@.tmp && mv $@.tmp $@
endef
$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call gen_skel,$*)
$(BUILD)/daxnow.skel.h: $(BUILD)/scan.bpf.o
	$(call gen_skel,daxnow)

# The version lives in one generated object, rewritten only when it changes,
# so every part of one binary reports the same version.
$(BUILD)/version.c: FORCE | $(BUILD)
	@echo 'const char daxtrace_version[] = "$(VERSION)";' > $@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@

$(OBJDIR)/version.o: $(BUILD)/version.c | $(OBJDIR)
	$(call say,CC,$<)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

FORCE:

# Skeletons are made before any object is compiled (order-only); after the
# first build each object depends on exactly the skeletons and headers it
# includes (its .d file), so a BPF edit rebuilds only that skeleton's users.
$(OBJDIR)/%.o: src/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CFLAGS) $(INC) $(DEPFLAGS) -c $< -o $@

$(BUILD)/daxtrace: $(OBJS)
	$(call say,LD,$@)$(CC) -static $(LDFLAGS) -o $@ $^ $(LDLIBS)
	$(Q)for l in $(LINKS); do ln -sf daxtrace $(BUILD)/$$l; done

# daxload shares the number parser with daxtrace (src/core/parse_num.c, libc only).
DAXLOAD_SHARED := src/core/parse_num.c
$(BUILD)/daxload: $(DAXLOAD_SRCS) $(DAXLOAD_SHARED) $(wildcard tools/daxload/*.h) src/core/parse_num.h | $(BUILD)
	$(call say,LD,$@)$(CC) -static -O2 -g -Wall -Wextra -D_GNU_SOURCE -Isrc/core -o $@ \
		$(DAXLOAD_SRCS) $(DAXLOAD_SHARED) -lpthread

# Unit tests link the core objects dynamically against cmocka (no static cmocka in Debian).
$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)/tests $(SKELS)
	$(call say,CC,$<)$(CC) $(CFLAGS) $(INC_ALL) $(DEPFLAGS) -MF $@.d -MT $@ -o $@ $< \
		$(LIB_OBJS) -lcmocka $(LDLIBS)

# The field-list test renders every writer on made-up data; it includes
# export.c, export_top.c and export_leak.c (their writers are static)
# instead of linking them.
FIELDS_SRCS := $(wildcard tests/fields/*.c)
FIELDS_OBJS := $(patsubst tests/fields/%.c,$(OBJDIR)/fields/%.o,$(FIELDS_SRCS))
FIELDS_LIBS := $(filter-out $(OBJDIR)/export/export.o $(OBJDIR)/export/export_top.o \
		$(OBJDIR)/export/export_leak.o,$(LIB_OBJS))
FIELDS_BIN  := $(BUILD)/tests/fields_render

$(OBJDIR)/fields/%.o: tests/fields/%.c | $(SKELS)
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CFLAGS) $(INC_ALL) $(DEPFLAGS) -c $< -o $@

$(FIELDS_BIN): $(FIELDS_OBJS) $(FIELDS_LIBS) | $(BUILD)/tests
	$(call say,LD,$@)$(CC) -o $@ $^ -Wl,--wrap=mounts_read $(LDLIBS)

fields-test: all $(FIELDS_BIN)
	./tests/fields/fields.sh

-include $(OBJS:.o=.d) $(BPF_OBJS:.o=.d) $(UNIT_BINS:=.d) $(FIELDS_OBJS:.o=.d)

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
