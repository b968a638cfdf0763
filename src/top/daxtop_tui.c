/* daxtop's interactive screen (ncurses): rates per second, sort and
 * grouping keys, pause; restores the terminal on every exit path. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ncurses.h>
#include "daxtop_print.h"
#include "hist_user.h"

static const char *group_name(enum group_by g)
{
	return g == GROUP_PID ? "pid" : g == GROUP_FILE ? "file" : "pid+file";
}

/* Counts of one interval -> per-second rates. */
static void to_rates(struct view_row *v, int n, double secs)
{
	if (secs <= 0)
		return;
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < DT_NR_COUNTERS; k++)
			v[i].r.cnt[k] = (uint64_t)(v[i].r.cnt[k] / secs + 0.5);
		v[i].r.bl_wait_ns = (uint64_t)(v[i].r.bl_wait_ns / secs);
	}
}

static void draw(const struct daxtop_ctx *c, const struct snapshot *base, bool paused, bool hist,
		 bool totals)
{
	struct view_row *v;
	char line[1024];
	double secs = base ? (c->cur.t_ns - base->t_ns) / 1e9 : 0;
	uint64_t timed, faults;
	int n, rows = LINES, y = 0;

	erase();
	mvprintw(y++, 0, "daxtop - %s  kernel %s  era %s (idle=%d)%s", c->host, c->kernel,
		 era_name(c->era.era), c->era.idle, paused ? "  [PAUSED]" : "");
	mvprintw(y++, 0, "DAX mounts: %.*s", COLS - 12, c->mounts);
	mvprintw(y++, 0, "pmem: %s   hooks: %s", c->pmem, c->hooksum);
	lat_timed(&c->cur, NULL, &timed, &faults);
	mvprintw(y++, 0, "totals: events %llu lost %llu  latency of %llu/%llu faults%s   interval "
		 "%.1fs  sort %s%s  group %s", (unsigned long long)c->cur.events,
		 (unsigned long long)total_drops(&c->cur, NULL), (unsigned long long)timed,
		 (unsigned long long)faults, c->lat_all ? "" : " (sampled at high rates)",
		 c->interval_s, col_name(c->vo.sort), c->vo.ascending ? " (asc)" : "",
		 group_name(c->vo.group));
	mvprintw(y++, 0, "%s; q quit, space pause, <> sort, r reverse, g group, h hist, "
		 "t totals/rates", totals ? "TOTALS since start" : "RATES per second");
	attron(A_REVERSE);
	mvprintw(y++, 0, "%-*.*s", COLS, COLS, daxtop_columns());
	attroff(A_REVERSE);
	n = view_build(&c->vo, &c->cur, totals ? NULL : base, &v);
	if (!totals)
		to_rates(v, n, secs);
	for (int i = 0; i < n && y < rows - (hist ? 8 : 0); i++) {
		daxtop_format_row(c, &v[i], line, sizeof(line));
		mvprintw(y++, 0, "%.*s", COLS, line);
	}
	free(v);
	if (hist && y < rows - 2) {
		struct hist h;

		snapshot_hist_diff(&h, &c->cur, base, H_PTE_LAT);
		mvprintw(y++, 0, "PTE latency p50 %llu us p99 %llu us (n=%llu)",
			 (unsigned long long)hist_percentile(&h, 50) / 1000,
			 (unsigned long long)hist_percentile(&h, 99) / 1000,
			 (unsigned long long)hist_total(&h));
		snapshot_hist_diff(&h, &c->cur, base, H_PMD_LAT);
		mvprintw(y++, 0, "PMD latency p50 %llu us p99 %llu us (n=%llu)",
			 (unsigned long long)hist_percentile(&h, 50) / 1000,
			 (unsigned long long)hist_percentile(&h, 99) / 1000,
			 (unsigned long long)hist_total(&h));
	}
	refresh();
}

int daxtop_tui(struct daxtop_ctx *c, double duration_s)
{
	SCREEN *scr;
	uint64_t start = mono_ns(), next;
	bool paused = false, hist = false, have_snapshot = false, totals = false;
	int rc = EXIT_OK;

	/* At EOF (</dev/null) getch returns at once: the loop would spin. */
	if (!isatty(STDIN_FILENO)) {
		warn_msg("the interactive screen needs a terminal on standard input; use -b");
		return EXIT_ERR;
	}
	scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		warn_msg("cannot start the interactive screen (TERM=%s unknown?); use -b",
			 getenv("TERM") ? getenv("TERM") : "unset");
		return EXIT_ERR;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout(100);
	next = mono_ns();
	while (!exiting) {
		int ch = getch();
		bool redraw = false;

		if (duration_s && (mono_ns() - start) / 1e9 >= duration_s)
			break;
		switch (ch) {
		case 'q': case 'Q': exiting = 1; continue;
		case ' ': paused = !paused; redraw = true; break;
		case '<': case KEY_LEFT:
			c->vo.sort = col_step(c->vo.sort, -1);
			redraw = true; break;
		case '>': case KEY_RIGHT:
			c->vo.sort = col_step(c->vo.sort, 1);
			redraw = true; break;
		case 'r': c->vo.ascending = !c->vo.ascending; redraw = true; break;
		case 'g': c->vo.group = (c->vo.group + 1) % 3; redraw = true; break;
		case 'h': hist = !hist; redraw = true; break;
		case 't': totals = !totals; redraw = true; break;
		case KEY_RESIZE: redraw = true; break;
		default: break;
		}
		if (!paused && mono_ns() >= next) {
			if (daxtop_advance(c)) {
				rc = EXIT_ERR;
				break;
			}
			have_snapshot = true;
			next = mono_ns() + (uint64_t)(c->interval_s * 1e9);
			redraw = true;
		}
		if (redraw && have_snapshot)
			draw(c, daxtop_base(c), paused, hist, totals);
	}
	endwin();
	delscreen(scr);
	return rc;
}
