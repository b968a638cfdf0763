/* The exporter's daxleak source, reached by including export_leak.c (its
 * state is private): a state whose every gauge family is written. */
#include "../../src/export/export_leak.c"
#include "render.h"

void *render_leak_state(void)
{
	static struct leak_source s;
	static struct waiter_rec w = { .state = 'D', .op = BLW_PUNCH, .waited_s = 3,
				       .w = { .pid = 42, .tid = 42, .comm = "fallocate" } };

	s.c.caps.leaks = true;
	s.min_age_s = 5;
	s.sum.pages = 2;
	s.sum.folios = 1;
	s.c.waiters = &w;	/* one waiter: its own series */
	s.c.nwaiters = 1;
	return &s;
}
