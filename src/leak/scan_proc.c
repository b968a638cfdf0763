/* daxleak --now without BPF iterators: waiters from /proc (state, wchan,
 * stack), no page and no holder. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include "scan_int.h"
#include "util.h"

/* "PID (COMM) S ...": the comm between the first '(' and the last ')'. */
static void comm_of_stat(const char *stat, char *comm, size_t len)
{
	const char *o = strchr(stat, '('), *c = strrchr(stat, ')');

	if (o && c > o)
		snprintf(comm, len, "%.*s", (int)(c - o - 1), o + 1);
}

static void scan_proc_task(struct daxnow_report *r, uint32_t pid, uint32_t tid)
{
	const struct blw_frames *fr = blw_frames_here();
	char path[96], stat[512], wchan[64] = "", stack[4096] = "", frame[96] = "";
	struct blw_syscall sc;
	enum blw_op op;
	struct daxnow_waiter *w;
	struct dn_task_rec t = { .type = DN_REC_TASK, .pid = pid, .tid = tid, .cls = DN_CLS_WAIT };
	char *p, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%u/task/%u/stat", pid, tid);
	if (read_line(path, stat, sizeof(stat)) || !(p = strrchr(stat, ')')) || strlen(p) < 3)
		return;
	r->tasks_seen++;
	st = p[2];
	if (st != 'S' && st != 'D')
		return;
	r->tasks_asleep++;
	snprintf(path, sizeof(path), "/proc/%u/task/%u/wchan", pid, tid);
	read_line(path, wchan, sizeof(wchan));
	snprintf(path, sizeof(path), "/proc/%u/task/%u/stack", pid, tid);
	if ((f = fopen(path, "r"))) {
		n = fread(stack, 1, sizeof(stack) - 1, f);
		stack[n] = '\0';
		fclose(f);
	}
	if (!blw_text_has_wait(fr, wchan, frame, sizeof(frame)) &&
	    !blw_text_has_wait(fr, stack, frame, sizeof(frame)))
		return;
	t.state = st == 'D' ? 2 : 1;
	comm_of_stat(stat, t.comm, sizeof(t.comm));
	n = r->nw;
	scan_add_waiter(r, &t);
	if (r->nw == n)
		return;
	w = &r->w[r->nw - 1];
	snprintf(w->proc_wchan, sizeof(w->proc_wchan), "%.63s", wchan);
	snprintf(w->wait_frame, sizeof(w->wait_frame), "%s", frame);
	/* op from /proc's symbolized stack, named as everywhere (blwait.c) */
	blw_read_syscall(pid, tid, &sc);
	op = blw_op_from_stack_text(stack, &w->final);
	w->op = blw_op_decide(op, w->final, &sc);
}

void scan_proc(struct daxnow_report *r)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[300];
		DIR *td;
		struct dirent *te;
		uint64_t pid;

		if (parse_u64(e->d_name, &pid))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", e->d_name);
		if (!(td = opendir(path)))
			continue;
		while ((te = readdir(td))) {
			uint64_t tid;

			if (!parse_u64(te->d_name, &tid))
				scan_proc_task(r, pid, tid);
		}
		closedir(td);
	}
	closedir(d);
	scan_lost(r, "%s", "the page each task waits for, its refcount and every holder (needs BPF iterators)");
	scan_lost(r, "%s", "how long each task has been asleep");
}

