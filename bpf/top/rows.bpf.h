/* daxtop rows: what a fault event says (struct fault_args), the
 * device filter, a file's names learned once, and the per (process, file)
 * row made or found for an event.
 *
 * Included once by daxtop.bpf.c, after its maps and the parts before it:
 * a BPF object is one compilation unit, so this is no standalone header. */
#ifndef DAXTRACE_TOP_ROWS_BPF_H
#define DAXTRACE_TOP_ROWS_BPF_H

/* What a fault event says, whichever kind of program saw it. */
struct fault_args {
	__u32 dev;
	__u32 flags;		/* enum fault_flag */
	__u64 ino;
	__u64 address, pgoff, max_pgoff;
	__u64 vm_start, vm_end, vm_flags;
	struct vm_fault *vmf;	/* BTF tracepoints only: names a new file */
};

static __always_inline bool wanted(__u32 dev)
{
	if (targ_tgid && current_tgid() != targ_tgid)
		return false;
	if (targ_cgroup && bpf_get_current_cgroup_id() != targ_cgroup)
		return false;
	if (targ_dev && dev != targ_dev)
		return false;
	return true;
}

/* Fill a file's names from its dentry once: basename first, up to the
 * filesystem root. Writes straight into the map value. */
static __noinline void learn_names(struct daxtop_file *f, struct dentry *d)
{
	if (!f || f->depth || f->reached_root)
		return;
	for (int i = 0; i < DAXTOP_PATH_DEPTH && d; i++) {
		struct dentry *parent = BPF_CORE_READ(d, d_parent);

		if (parent == d)
			break;
		bpf_probe_read_kernel_str(f->name[i], DAXTOP_NAME_LEN, BPF_CORE_READ(d, d_name.name));
		if (BPF_CORE_READ(d, d_name.len) >= DAXTOP_NAME_LEN)
			f->cut |= 1u << i;	/* user space marks it, never prints it as whole */
		f->depth = i + 1;
		d = parent;
	}
	if (d && BPF_CORE_READ(d, d_parent) == d)
		f->reached_root = 1;
}

/* A new row's file gets an entry in `files` (for unmaps and names) once,
 * here, rather than a lookup on every fault. A global function: the
 * verifier checks it once per program, not at every call site. dentry:
 * the file's, read by the caller (0 if unknown). */
__noinline int file_seen(__u32 dev, __u64 ino, __u64 dentry)
{
	/* from .rodata, not the stack: this can sit four calls deep */
	static const struct daxtop_file blank = {};
	struct daxtop_key fk = { .dev = dev, .ino = ino };
	struct daxtop_file *f;

	if (bpf_map_update_elem(&files, &fk, &blank, BPF_NOEXIST))
		return 0;	/* known already (or the map failed: no name then) */
	f = bpf_map_lookup_elem(&files, &fk);
	if (!f)
		return 0;
	f->dev = dev;
	f->ino = ino;
	if (dentry)
		learn_names(f, (struct dentry *)dentry);
	return 0;
}

/* The row of k, made if new. comm: its process name if not the current
 * task's (a row cache flush on behalf of another process); n: events lost
 * if the map is full. */
static struct daxtop_row *row_make(const struct daxtop_key *k, struct vm_fault *vmf,
				   const char *comm, __u64 n)
{
	static const struct daxtop_row zero = {};
	struct daxtop_row *r;

	r = bpf_map_lookup_elem(&rows, k);
	if (r)
		return r;
	/* EEXIST from a racing CPU is fine: look up again either way. */
	bpf_map_update_elem(&rows, k, &zero, BPF_NOEXIST);
	r = bpf_map_lookup_elem(&rows, k);
	if (!r) {
		__sync_fetch_and_add(&drops[DROP_ROW_FULL], n);
		return NULL;
	}
	if (comm)
		__builtin_memcpy(r->comm, comm, sizeof(r->comm));
	else
		bpf_get_current_comm(r->comm, sizeof(r->comm));
	r->first_ns = bpf_ktime_get_ns();	/* once per row */
	file_seen(k->dev, k->ino,
		  vmf ? (__u64)BPF_CORE_READ(vmf, vma, vm_file, f_path.dentry) : 0);
	return r;
}

static __always_inline struct daxtop_row *row_get(const struct daxtop_key *k,
						  struct vm_fault *vmf)
{
	return row_make(k, vmf, NULL, 1);
}

static __always_inline struct daxtop_row *row_for(__u32 tgid, __u32 dev, __u64 ino,
						  struct vm_fault *vmf)
{
	struct daxtop_key k = { .pid = tgid, .dev = dev, .ino = ino };
	struct daxtop_row *r = row_get(&k, vmf);

	if (r)
		r->last_ns = clock_ns;
	return r;
}

#endif
