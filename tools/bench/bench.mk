# tools/bench build rules (make bench). Included by the top Makefile
# (-include tools/bench/bench.mk) or used alone: make -f tools/bench/bench.mk.
BUILD ?= build
CC ?= gcc

$(BUILD)/bench/readytime: tools/bench/readytime.c
	@mkdir -p $(BUILD)/bench
	$(CC) -O2 -Wall -Wextra -std=gnu11 -o $@ $<

.PHONY: bench-tools
bench-tools: $(BUILD)/bench/readytime
