/* Checks every BPF subcommand makes before loading anything, each failing
 * with one line that says what is missing and what to do. */
#ifndef DAXTRACE_PREFLIGHT_H
#define DAXTRACE_PREFLIGHT_H

/* 0 when BPF tracing can work here; else prints why and returns -1. */
int preflight_check(void);
/* Route libbpf's messages: warnings only, or everything with LIBBPF_LOG=debug. */
void libbpf_setup_logging(void);

#endif
