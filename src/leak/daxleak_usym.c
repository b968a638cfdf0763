/* daxleak: user stack frames through the ELF symbols (.symtab, else
 * .dynsym) of the files the holding process maps, with their build-id.
 * Unknown frames stay as addresses, with the file and offset when known. */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "daxleak_int.h"

struct usym {
	uint64_t addr, size;
	char *name;
};

struct elf_cache {
	char path[512];
	char build_id[48];
	struct usym *syms;
	size_t n;
	struct { uint64_t off, vaddr, filesz; } seg[16];
	int nseg;
	bool ok;
};

struct map_ent {
	uint64_t start, end, off;
	char path[512];
};

struct pid_maps {
	uint32_t pid;
	struct map_ent *m;
	size_t n;
};

#define ELF_CACHE 64
#define PID_CACHE 16

static struct elf_cache *elfs[ELF_CACHE];
static int nelfs;
static struct pid_maps pids[PID_CACHE];
static int npids, next_pid;

static int cmp_usym(const void *a, const void *b)
{
	const struct usym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void read_build_id(Elf *e, struct elf_cache *ec)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn))) {
		Elf_Data *d;
		size_t off = 0, noff, doff;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		d = elf_getdata(scn, NULL);
		while (d && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)d->d_buf + noff, "GNU", 4)) {
				const unsigned char *p = (unsigned char *)d->d_buf + doff;

				for (size_t i = 0; i < nh.n_descsz && i < 20; i++)
					sprintf(ec->build_id + 2 * i, "%02x", p[i]);
				return;
			}
		}
	}
}

static void load_syms(Elf *e, struct elf_cache *ec, int want)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn))) {
		Elf_Data *d;
		size_t cnt;

		if (!gelf_getshdr(scn, &sh) || (int)sh.sh_type != want || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		cnt = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < cnt; i++) {
			GElf_Sym s;
			const char *nm;
			void *p;

			if (!gelf_getsym(d, i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC || !s.st_value)
				continue;
			nm = elf_strptr(e, sh.sh_link, s.st_name);
			if (!nm || !*nm)
				continue;
			p = realloc(ec->syms, (ec->n + 1) * sizeof(*ec->syms));
			if (!p)
				return;
			ec->syms = p;
			ec->syms[ec->n++] = (struct usym){ s.st_value, s.st_size, strdup(nm) };
		}
	}
}

static struct elf_cache *elf_get(const char *path, const char *open_path)
{
	struct elf_cache *ec;
	Elf *e;
	int fd;
	size_t nph;

	for (int i = 0; i < nelfs; i++)
		if (!strcmp(elfs[i]->path, path))
			return elfs[i];
	ec = calloc(1, sizeof(*ec));
	if (!ec)
		return NULL;
	snprintf(ec->path, sizeof(ec->path), "%s", path);
	elf_version(EV_CURRENT);
	fd = open(open_path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && (e = elf_begin(fd, ELF_C_READ, NULL))) {
		load_syms(e, ec, SHT_SYMTAB);
		if (!ec->n)
			load_syms(e, ec, SHT_DYNSYM);
		qsort(ec->syms, ec->n, sizeof(*ec->syms), cmp_usym);
		read_build_id(e, ec);
		if (!elf_getphdrnum(e, &nph))
			for (size_t i = 0; i < nph && ec->nseg < 16; i++) {
				GElf_Phdr ph;

				if (gelf_getphdr(e, i, &ph) && ph.p_type == PT_LOAD) {
					ec->seg[ec->nseg].off = ph.p_offset;
					ec->seg[ec->nseg].vaddr = ph.p_vaddr;
					ec->seg[ec->nseg].filesz = ph.p_filesz;
					ec->nseg++;
				}
			}
		ec->ok = true;
		elf_end(e);
	}
	if (fd >= 0)
		close(fd);
	if (nelfs == ELF_CACHE) {
		/* bounded: drop the oldest */
		for (size_t k = 0; k < elfs[0]->n; k++)
			free(elfs[0]->syms[k].name);
		free(elfs[0]->syms);
		free(elfs[0]);
		memmove(elfs, elfs + 1, (ELF_CACHE - 1) * sizeof(*elfs));
		nelfs--;
	}
	elfs[nelfs++] = ec;
	return ec;
}

static struct pid_maps *maps_get(uint32_t pid)
{
	char fn[64], line[1024];
	struct pid_maps *pm;
	FILE *f;

	for (int i = 0; i < npids; i++)
		if (pids[i].pid == pid)
			return &pids[i];
	snprintf(fn, sizeof(fn), "/proc/%u/maps", pid);
	f = fopen(fn, "r");
	if (!f)
		return NULL;
	pm = &pids[next_pid];
	free(pm->m);
	*pm = (struct pid_maps){ .pid = pid };
	next_pid = (next_pid + 1) % PID_CACHE;
	if (npids < PID_CACHE)
		npids++;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, off;
		char perm[8];
		int pos = 0;
		void *p;

		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &s, &e, perm, &off, &pos) < 4 || !pos)
			continue;
		if (line[pos] != '/')
			continue;
		line[strcspn(line, "\n")] = 0;
		p = realloc(pm->m, (pm->n + 1) * sizeof(*pm->m));
		if (!p)
			break;
		pm->m = p;
		pm->m[pm->n] = (struct map_ent){ s, e, off, "" };
		snprintf(pm->m[pm->n].path, sizeof(pm->m[pm->n].path), "%s", line + pos);
		pm->n++;
	}
	fclose(f);
	return pm;
}

void usym_format(uint32_t pid, uint64_t addr, char *buf, size_t len)
{
	struct pid_maps *pm = maps_get(pid);
	char open_path[600];

	for (size_t i = 0; pm && i < pm->n; i++) {
		struct map_ent *m = &pm->m[i];
		struct elf_cache *ec;
		uint64_t foff, vaddr = 0;
		const char *base;
		bool have = false;

		if (addr < m->start || addr >= m->end)
			continue;
		base = strrchr(m->path, '/');
		base = base ? base + 1 : m->path;
		foff = addr - m->start + m->off;
		/* the file as the process sees it, even across a mount namespace */
		snprintf(open_path, sizeof(open_path), "/proc/%u/map_files/%llx-%llx", pid,
			 (unsigned long long)m->start, (unsigned long long)m->end);
		if (access(open_path, R_OK))
			snprintf(open_path, sizeof(open_path), "/proc/%u/root%s", pid, m->path);
		ec = elf_get(m->path, open_path);
		for (int s = 0; ec && s < ec->nseg; s++)
			if (foff >= ec->seg[s].off && foff < ec->seg[s].off + ec->seg[s].filesz) {
				vaddr = foff - ec->seg[s].off + ec->seg[s].vaddr;
				have = true;
				break;
			}
		if (have && ec->n) {
			size_t lo = 0, hi = ec->n;

			while (hi - lo > 1) {
				size_t mid = (lo + hi) / 2;

				if (ec->syms[mid].addr <= vaddr)
					lo = mid;
				else
					hi = mid;
			}
			if (ec->syms[lo].addr <= vaddr &&
			    (!ec->syms[lo].size || vaddr < ec->syms[lo].addr + ec->syms[lo].size ||
			     lo + 1 == ec->n)) {
				snprintf(buf, len, "%s+0x%llx (%s%s%s)", ec->syms[lo].name,
					 (unsigned long long)(vaddr - ec->syms[lo].addr), base,
					 ec->build_id[0] ? " build-id " : "", ec->build_id);
				return;
			}
		}
		snprintf(buf, len, "0x%llx (%s+0x%llx%s%s)", (unsigned long long)addr, base,
			 (unsigned long long)foff, ec && ec->build_id[0] ? " build-id " : "",
			 ec ? ec->build_id : "");
		return;
	}
	snprintf(buf, len, "0x%llx", (unsigned long long)addr);
}

void usym_forget_pids(void)
{
	for (int i = 0; i < npids; i++)
		free(pids[i].m);
	memset(pids, 0, sizeof(pids));
	npids = next_pid = 0;
}

void usym_reset(void)
{
	for (int i = 0; i < nelfs; i++) {
		for (size_t k = 0; k < elfs[i]->n; k++)
			free(elfs[i]->syms[k].name);
		free(elfs[i]->syms);
		free(elfs[i]);
	}
	nelfs = 0;
	for (int i = 0; i < npids; i++)
		free(pids[i].m);
	memset(pids, 0, sizeof(pids));
	npids = next_pid = 0;
}
