/* The kernel's BTF, parsed once per process and shared with libbpf (see
 * below), and what hook selection asks of it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpf/btf.h>
#include "probe.h"
#include "util.h"

/* The kernel's BTF (5+ MiB, ~8 ms to parse) is parsed once per process and
 * shared: env and era detection, hook selection and every libbpf object
 * load (CO-RE relocations, attach targets, typed ksyms) use one copy.
 * libbpf has no option to take a parsed BTF, so the link wraps its
 * btf__load_vmlinux_btf and btf__free (-Wl,--wrap, see Makefile): libbpf's
 * own calls get the shared copy and its free after each load does nothing;
 * probe_release_btf frees it once the loads are done. Against a shared
 * libbpf (whose internal calls the wrap does not reach) libbpf parses its
 * own copy, as it would without this. */
struct btf *__real_btf__load_vmlinux_btf(void);
void __real_btf__free(struct btf *btf);
static struct btf *vmlinux_btf;
/* Why the kernel's BTF, present, could not be parsed ("" if it could). */
static char btf_problem[128];

/* From 6.15 /sys/kernel/btf/vmlinux can be mapped: parsing it from the
 * mapping skips reading it 4 KiB at a time into a buffer that libbpf then
 * copies (~2.5 of ~6 ms here). Elsewhere libbpf reads it as before. */
static struct btf *load_vmlinux_btf(void)
{
	int fd = open(VMLINUX_BTF, O_RDONLY | O_CLOEXEC);
	struct btf *b = NULL;
	struct stat st;
	int err = fd < 0 ? errno : 0;
	void *p;

	if (fd >= 0 && !fstat(fd, &st) && st.st_size > 0) {
		p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED) {
			b = btf__new(p, st.st_size);	/* a copy */
			munmap(p, st.st_size);
			err = libbpf_get_error(b) ? -libbpf_get_error(b) : 0;
			if (err)
				b = NULL;
		}
	}
	if (fd >= 0)
		close(fd);
	if (b)
		return b;
	b = __real_btf__load_vmlinux_btf();
	/* libbpf says ESRCH ("No such process") for a BTF it cannot parse: keep
	 * the parse's own error, or say what ESRCH means here. */
	if (libbpf_get_error(b) && err != ENOENT)
		snprintf(btf_problem, sizeof(btf_problem), "%s%s%s",
			 fd >= 0 ? "not valid BTF" : strerror(err), fd >= 0 && err ? ": " : "",
			 fd >= 0 && err ? strerror(err) : "");
	return b;
}

int probe_btf_check(void)
{
	if (probe_vmlinux_btf())
		return 0;
	warn_msg("the kernel's BTF (%s) is unreadable (%s): corrupt, or newer than this "
		 "libbpf knows; no BPF program can load without it", VMLINUX_BTF,
		 btf_problem[0] ? btf_problem : "libbpf could not parse it");
	return -1;
}

const char *probe_btf_problem(void)
{
	return btf_problem[0] ? btf_problem : NULL;
}

struct btf *__wrap_btf__load_vmlinux_btf(void)
{
	if (!vmlinux_btf) {
		struct btf *b = load_vmlinux_btf();

		if (libbpf_get_error(b))
			return b;	/* not kept: the next caller tries again */
		vmlinux_btf = b;
	}
	return vmlinux_btf;
}

void __wrap_btf__free(struct btf *btf)
{
	if (btf && btf != vmlinux_btf)
		__real_btf__free(btf);
}

struct btf *probe_vmlinux_btf(void)
{
	struct btf *b = btf__load_vmlinux_btf();

	return libbpf_get_error(b) ? NULL : b;
}

void probe_release_btf(void)
{
	__real_btf__free(vmlinux_btf);
	vmlinux_btf = NULL;
}

/* Parameter count of a BTF function, -1 if absent. */
int probe_btf_func_params(struct btf *btf, const char *name)
{
	const struct btf_type *t;
	int id = btf ? btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) : -1;

	if (id <= 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	return t && btf_is_func_proto(t) ? btf_vlen(t) : -1;
}

/* The type of member `name` of struct/union t, looking into anonymous
 * members too; NULL if none. */
static const struct btf_type *member_type(const struct btf *btf, const struct btf_type *t,
					  const char *name, int depth)
{
	const struct btf_member *m;

	if (!t || !btf_is_composite(t) || depth > 4)
		return NULL;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const struct btf_type *mt = btf__type_by_id(btf, m->type);
		const char *mn = btf__name_by_offset(btf, m->name_off);

		while (mt && (btf_is_mod(mt) || btf_is_typedef(mt)))
			mt = btf__type_by_id(btf, mt->type);
		if (mn && !strcmp(mn, name))
			return mt;
		if ((!mn || !mn[0]) && (mt = member_type(btf, mt, name, depth + 1)))
			return mt;
	}
	return NULL;
}

static const struct btf_type *struct_path(const struct btf *btf, const char *type,
					  const char *const *path)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;

	for (; t && *path; path++)
		t = member_type(btf, t, *path, 0);
	return t;
}

const struct probe_misses *probe_misses_counted(void)
{
	static const char *const prog_info[] = { "recursion_misses", NULL };
	static const char *const kprobe_info[] = { "perf_event", "kprobe", "missed", NULL };
	static struct probe_misses m;
	struct btf *btf;

	if (m.known)
		return &m;
	btf = probe_vmlinux_btf();
	if (!btf)
		return &m;
	m.known = true;
	/* the counter a skipped run increments, read by bpf_obj_get_info */
	m.trampoline = struct_path(btf, "bpf_prog_info", prog_info) != NULL;
	/* trace_call_bpf (classic tracepoints, kprobes) counts its skips in
	 * the same counter since the kernel that also reports a kprobe
	 * link's missed runs (one change) */
	m.classic = m.trampoline && struct_path(btf, "bpf_link_info", kprobe_info) != NULL;
	return &m;
}
