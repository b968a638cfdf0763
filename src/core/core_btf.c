/* A small copy of the kernel's BTF for CO-RE relocation (see core_btf.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/btf.h>
#include "core_btf.h"
#include "core_btf_int.h"
#include "probe.h"
#include "util.h"

/* --- names: an open-addressing set of essential names --------------------- */

/* libbpf matches "task_struct___old" with "task_struct": the name up to a
 * "___" flavour suffix. Its length and hash, in one pass over the name (this
 * runs for every named type of the kernel's BTF). */
static size_t essential(const char *name, uint64_t *hash)
{
	uint64_t h = FNV1A_INIT;
	size_t n = 0;

	for (; name[n]; n++) {
		if (name[n] == '_' && name[n + 1] == '_' && name[n + 2] == '_')
			break;
		h = fnv1a(h, name[n]);
	}
	*hash = h;
	return n;
}

void core_names_free(struct core_names *ns)
{
	for (size_t i = 0; i < ns->cap; i++)
		free(ns->slot[i]);
	free(ns->slot);
	memset(ns, 0, sizeof(*ns));
}

static int names_grow(struct core_names *ns)
{
	struct core_names bigger = { .cap = ns->cap ? ns->cap * 2 : 256 };

	bigger.slot = calloc(bigger.cap, sizeof(*bigger.slot));
	if (!bigger.slot)
		return -1;
	for (size_t i = 0; i < ns->cap; i++) {
		char *s = ns->slot[i];
		size_t j;

		if (!s)
			continue;
		uint64_t h;

		essential(s, &h);
		for (j = h & (bigger.cap - 1); bigger.slot[j];
		     j = (j + 1) & (bigger.cap - 1))
			;
		bigger.slot[j] = s;
		bigger.n++;
	}
	free(ns->slot);
	*ns = bigger;
	return 0;
}

/* Index of name[0..n) (of hash h) in the set, or of the empty slot where
 * it belongs. */
static size_t names_find(const struct core_names *ns, const char *name, size_t n, uint64_t h,
			 bool *found)
{
	size_t j = h & (ns->cap - 1);

	for (; ns->slot[j]; j = (j + 1) & (ns->cap - 1))
		if (!strncmp(ns->slot[j], name, n) && !ns->slot[j][n]) {
			*found = true;
			return j;
		}
	*found = false;
	return j;
}

/* Kinds whose named types CO-RE looks for by name. */
static bool named_kind(const struct btf_type *t)
{
	switch (btf_kind(t)) {
	case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
	case BTF_KIND_FWD: case BTF_KIND_TYPEDEF: case BTF_KIND_INT: case BTF_KIND_FLOAT:
		return true;
	default:
		return false;
	}
}

int core_names_add(struct core_names *ns, const struct btf *local)
{
	int added = 0;

	for (uint32_t id = 1; id < btf__type_cnt(local); id++) {
		const struct btf_type *t = btf__type_by_id(local, id);
		const char *name = btf__name_by_offset(local, t->name_off);
		uint64_t h;
		size_t n, j;
		bool found;

		if (!named_kind(t) || !name || !*name)
			continue;
		if ((ns->n + 1) * 2 > ns->cap && names_grow(ns))
			return -1;
		n = essential(name, &h);
		j = names_find(ns, name, n, h, &found);
		if (found)
			continue;
		if (!(ns->slot[j] = strndup(name, n)))
			return -1;
		ns->n++;
		added++;
	}
	return added;
}

/* --- the subset: which kernel types, and how much of each -------------------- */

enum { M_NONE, M_SHALLOW, M_FULL };

struct walk {
	const struct btf *k;
	uint8_t *mark;
	uint32_t *stack;
	size_t top, cap;
};

static int push(struct walk *w, uint32_t id, uint8_t mode)
{
	if (!id || w->mark[id] >= mode)
		return 0;
	w->mark[id] = mode;
	if (w->top == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 1024;
		uint32_t *p = realloc(w->stack, nc * sizeof(*p));

		if (!p)
			return -1;
		w->stack = p;
		w->cap = nc;
	}
	w->stack[w->top++] = id;
	return 0;
}

/* What a type needs: in full, what it embeds in full; behind a pointer,
 * only name and size of a struct or union. */
static int visit(struct walk *w, uint32_t id)
{
	const struct btf_type *t = btf__type_by_id(w->k, id);
	uint8_t mode = w->mark[id];
	int err = 0;

	switch (btf_kind(t)) {
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		if (mode == M_FULL)
			for (int i = 0; i < btf_vlen(t) && !err; i++)
				err = push(w, btf_members(t)[i].type, M_FULL);
		break;
	case BTF_KIND_ARRAY:
		err = push(w, btf_array(t)->type, mode) ?: push(w, btf_array(t)->index_type, mode);
		break;
	case BTF_KIND_TYPEDEF: case BTF_KIND_CONST: case BTF_KIND_VOLATILE:
	case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG:
		err = push(w, t->type, mode);
		break;
	case BTF_KIND_PTR:
		err = push(w, t->type, M_SHALLOW);
		break;
	case BTF_KIND_FUNC_PROTO:
		err = push(w, t->type, M_SHALLOW);
		for (int i = 0; i < btf_vlen(t) && !err; i++)
			err = push(w, btf_params(t)[i].type, M_SHALLOW);
		break;
	default:	/* int, enum, float, fwd: nothing further */
		break;
	}
	return err;
}

static int add_one(struct btf *b, const struct btf *k, const struct btf_type *t,
		   uint8_t mode, const uint32_t *nid)
{
	const char *name = btf__name_by_offset(k, t->name_off);
	int err = 0, id;

	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		return btf__add_int(b, name, t->size, btf_int_encoding(t));
	case BTF_KIND_FLOAT:
		return btf__add_float(b, name, t->size);
	case BTF_KIND_PTR:
		return btf__add_ptr(b, nid[t->type]);
	case BTF_KIND_TYPEDEF:
		return btf__add_typedef(b, name, nid[t->type]);
	case BTF_KIND_CONST:
		return btf__add_const(b, nid[t->type]);
	case BTF_KIND_VOLATILE:
		return btf__add_volatile(b, nid[t->type]);
	case BTF_KIND_RESTRICT:
		return btf__add_restrict(b, nid[t->type]);
	case BTF_KIND_TYPE_TAG:
		return btf__add_type_tag(b, name, nid[t->type]);
	case BTF_KIND_FWD:
		return btf__add_fwd(b, name, btf_kflag(t) ? BTF_FWD_UNION : BTF_FWD_STRUCT);
	case BTF_KIND_ARRAY:
		return btf__add_array(b, nid[btf_array(t)->index_type], nid[btf_array(t)->type],
				      btf_array(t)->nelems);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		id = btf_is_struct(t) ? btf__add_struct(b, name, t->size)
				      : btf__add_union(b, name, t->size);
		for (int i = 0; mode == M_FULL && id > 0 && i < btf_vlen(t) && !err; i++) {
			const struct btf_member *m = btf_members(t) + i;

			err = btf__add_field(b, btf__name_by_offset(k, m->name_off), nid[m->type],
					     btf_member_bit_offset(t, i),
					     btf_member_bitfield_size(t, i));
		}
		return err ?: id;
	case BTF_KIND_ENUM:
		id = btf__add_enum(b, name, t->size);
		for (int i = 0; id > 0 && i < btf_vlen(t) && !err; i++) {
			const struct btf_enum *e = btf_enum(t) + i;
			int64_t v = btf_kflag(t) ? (int64_t)(int32_t)e->val : (int64_t)(uint32_t)e->val;

			err = btf__add_enum_value(b, btf__name_by_offset(k, e->name_off), v);
		}
		return err ?: id;
	case BTF_KIND_ENUM64:
		id = btf__add_enum64(b, name, t->size, btf_kflag(t));
		for (int i = 0; id > 0 && i < btf_vlen(t) && !err; i++) {
			const struct btf_enum64 *e = btf_enum64(t) + i;

			err = btf__add_enum64_value(b, btf__name_by_offset(k, e->name_off),
						    btf_enum64_value(e));
		}
		return err ?: id;
	case BTF_KIND_FUNC_PROTO:
		id = btf__add_func_proto(b, nid[t->type]);
		for (int i = 0; id > 0 && i < btf_vlen(t) && !err; i++) {
			const struct btf_param *p = btf_params(t) + i;

			err = btf__add_func_param(b, btf__name_by_offset(k, p->name_off), nid[p->type]);
		}
		return err ?: id;
	default:
		return -EINVAL;	/* never marked: func, var, datasec, decl tag */
	}
}

struct btf *core_btf_subset(const struct btf *k, const struct core_names *ns)
{
	uint32_t n = btf__type_cnt(k), next = 1;
	struct walk w = { .k = k };
	uint32_t *nid = NULL;
	struct btf *b = NULL;
	int err = 0;

	w.mark = calloc(n, 1);
	nid = calloc(n, sizeof(*nid));
	if (!w.mark || !nid || !ns->cap)
		goto out;
	/* Every type of a wanted name, in full: CO-RE's candidates. */
	for (uint32_t id = 1; id < n && !err; id++) {
		const struct btf_type *t = btf__type_by_id(k, id);
		const char *name;
		uint64_t h;
		size_t len;
		bool found;

		if (!t->name_off || !named_kind(t))
			continue;
		name = btf__name_by_offset(k, t->name_off);
		len = essential(name, &h);
		names_find(ns, name, len, h, &found);
		if (found)
			err = push(&w, id, M_FULL);
	}
	while (!err && w.top)
		err = visit(&w, w.stack[--w.top]);
	if (err)
		goto out;
	for (uint32_t id = 1; id < n; id++)
		if (w.mark[id])
			nid[id] = next++;
	b = btf__new_empty();
	if (libbpf_get_error(b)) {
		b = NULL;
		goto out;
	}
	for (uint32_t id = 1; id < n; id++) {
		if (!w.mark[id])
			continue;
		if (add_one(b, k, btf__type_by_id(k, id), w.mark[id], nid) != (int)nid[id]) {
			btf__free(b);
			b = NULL;
			break;
		}
	}
out:
	free(w.mark);
	free(w.stack);
	free(nid);
	return b;
}

/* --- the file libbpf reads --------------------------------------------------- */

static struct core_names names;
static int memfd = -1;
static char path[64];

const char *core_btf_path(void)
{
	const char *mode = getenv("DAXTRACE_CORE_BTF");

	if (mode && !strcmp(mode, "full"))
		return NULL;
	if (memfd < 0) {
		if (!probe_vmlinux_btf())
			return NULL;
		memfd = memfd_create("daxtrace-core-btf", MFD_CLOEXEC);
		if (memfd < 0)
			return NULL;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	return path;
}

static int write_btf(const struct btf *b)
{
	uint32_t size;
	const void *data = btf__raw_data(b, &size);

	if (!data || ftruncate(memfd, 0) || pwrite(memfd, data, size, 0) != (ssize_t)size)
		return -1;
	return 0;
}

int core_btf_cover(struct bpf_object *obj)
{
	struct btf *k = probe_vmlinux_btf(), *sub;
	const struct btf *local = bpf_object__btf(obj);
	int added;

	if (memfd < 0 || !k)
		return memfd < 0 ? 0 : -1;
	added = local ? core_names_add(&names, local) : 0;
	if (added == 0)
		return 0;	/* the file already covers these */
	sub = added > 0 ? core_btf_subset(k, &names) : NULL;
	if (sub && !write_btf(sub)) {
		btf__free(sub);
		return 0;
	}
	btf__free(sub);
	core_names_free(&names);	/* names unknown from here: every load rewrites */
	return write_btf(k);
}
