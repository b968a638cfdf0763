/* CO-RE relocation against a small copy of the kernel's BTF.
 *
 * libbpf looks for each of an object's types by name in the whole kernel
 * BTF (~150k types), once per type and object: about 0.6 ms each, 5 ms for
 * daxtop and 25 ms for daxleak's two objects. Here one pass finds every type
 * whose name an object uses, and a BTF holding just those (and what they
 * embed) is given to libbpf as btf_custom_path. What CO-RE compares is kept
 * whole: every type of a wanted name, their members, the members' types and
 * arrays, through typedefs and qualifiers; behind a pointer only the name
 * and size of a struct or union are kept, since a relocation never follows
 * a pointer. Attaching (tp_btf, fentry) still uses the kernel's own BTF.
 * DAXTRACE_CORE_BTF=full lets libbpf search the whole BTF as before. */
#ifndef DAXTRACE_CORE_BTF_H
#define DAXTRACE_CORE_BTF_H

#include <bpf/libbpf.h>

/* For bpf_object_open_opts.btf_custom_path: a path that core_btf_cover
 * fills before each load; NULL where libbpf should use the kernel's BTF
 * itself (no kernel BTF, DAXTRACE_CORE_BTF=full, no memfd). */
const char *core_btf_path(void);
/* Make that BTF cover the types of an object opened with it (before its
 * load). If the small copy cannot be made, the whole kernel BTF is written
 * there instead: slower, never different. 0, or -1 if even that failed. */
int core_btf_cover(struct bpf_object *obj);

/* Open skeleton `skel` (e.g. daxtop_bpf) for CO-RE against that BTF, or as
 * before if it cannot be had. */
#define CORE_BTF_OPEN(skel)                                                            \
	({                                                                             \
		LIBBPF_OPTS(bpf_object_open_opts, core_opts_,                          \
			    .btf_custom_path = core_btf_path());                       \
		struct skel *core_s_ = skel##__open_opts(&core_opts_);                 \
		if (core_s_ && core_opts_.btf_custom_path && core_btf_cover(core_s_->obj)) { \
			skel##__destroy(core_s_);                                      \
			core_s_ = skel##__open();                                      \
		}                                                                      \
		core_s_;                                                               \
	})

#endif
