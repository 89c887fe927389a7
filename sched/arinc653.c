// SPDX-License-Identifier: MIT
/*
 * DOC: arinc653 - static time partitioning
 *
 * For certified and mixed-criticality systems (avionics, automotive) that
 * need time isolation more than utilization: a fixed major frame of
 * windows, repeated forever, each window owned by one domain or idle, as in
 * ARINC 653 and Xen's arinc653 scheduler.
 *
 * Window i of the frame begins at frame_start + the lengths of windows
 * 0..i-1.  In its window the vcoproc of the named domain on this
 * coprocessor runs if it has work; otherwise the device idles - time is
 * never given to another domain, that is the point.  A vcoproc whose domain
 * no window names never runs; a window naming a domain that has no vcoproc
 * here is an idle window.  The same domain may own several windows.
 *
 * Refusals: when the device refuses to stop the previous window's occupant,
 * the windows keep their nominal times (the frame is never shifted) and the
 * late window is shortened.  The occupant's late start is recorded with
 * vc_sched_note_jitter(): the time from the later of the window's nominal
 * start and the occupant's wake-up to the moment switch_result() reports it
 * running - so the context-switch latency itself counts as jitter too.
 *
 * Overruns: device time an occupant is charged past the end of its window
 * (a refused stop, or a command finishing during a stop) is owed, and its
 * next window ends that much early (by at most half of the window; the rest
 * waits for the one after).  So every domain gets exactly its windows'
 * worth in the long run, and the next window's owner usually finds the
 * device already free at its nominal start.
 *
 * Expected share (expected_share): the time of the windows of a vcoproc's
 * domain over the major frame; idle windows and windows of absent domains
 * are nobody's, so the shares may sum to less than the device.
 *
 * Parameters (instance):
 *   frame  "NAME:DURATION,NAME:DURATION,..." where NAME is a domain name or
 *          id (all digits: an id, vc_domain_match()) or `idle`, made of
 *          letters, digits, '_', '-' and '.' (name a domain with other
 *          characters by its id), and DURATION is 1us..10s (decimals; bare
 *          numbers in ms); spaces around tokens are ignored; at most 256
 *          windows.
 *          "auto" (the default): one 10ms window per vcoproc, in creation
 *          order, following vcoprocs as they come and go.
 *          A new frame starts at the next decision.
 * No per-vcoproc parameters.
 *
 * Locking: every hook runs under the coproc lock; none takes a lock.
 * Cost: do_schedule is O(1) when called at each window boundary (a cursor)
 * and O(log w) otherwise (binary search of window starts); wake, sleep,
 * charge and switch_result are O(1).  Admitting or removing a vcoproc is
 * O(w n).
 */
#include <vcoproc/errno.h>
#include <vcoproc/sched.h>

#include "common.h"

#define A653_AUTO_WINDOW VC_MSEC(10)
#define A653_WINDOW_MIN  VC_USEC(1)
#define A653_WINDOW_MAX  VC_SEC(10)
#define A653_MAX_WINDOWS 256

struct a653_vdata {
	struct vc_vcoproc *v;
	struct vc_list node;   /* in a653_priv.all, creation order */
	vc_time_t ready_at;    /* when it last woke */
	vc_time_t slot_start;  /* nominal start of the window it last ran in */
	vc_time_t slot_end;    /* when that window ends for it (less its debt) */
	vc_time_t debt;        /* charged outside its windows, not yet paid back */
	bool runnable;
};

struct a653_window {
	char name[VC_NAME_MAX]; /* as written in the frame */
	vc_time_t start;        /* offset in the major frame */
	vc_time_t len;
	struct a653_vdata *vd;  /* its occupant, NULL: idle */
};

struct a653_priv {
	struct a653_window *win;
	unsigned int nr_win;
	vc_time_t major;        /* length of the major frame */
	bool explicit_frame;    /* set by `frame`, else "auto" */
	bool restart;           /* begin a new frame at the next decision */
	vc_time_t frame_start;
	unsigned int cur;       /* window of the last decision */
	vc_time_t cur_start;    /* its nominal start */
	struct vc_list all;
	unsigned int nr_vdata;
};

static inline struct a653_priv *a653_priv(const struct vc_sched *s)
{
	return s->priv;
}

static inline struct a653_vdata *a653_vdata(const struct vc_vcoproc *v)
{
	return vc_sched_vdata(v);
}

/* ---- frames ----------------------------------------------------------------- */

/* Replace the frame with @win[0..@nr) (owned from now on); occupants set. */
static void a653_install(struct a653_priv *ap, struct a653_window *win, unsigned int nr)
{
	struct a653_vdata *vd;
	vc_time_t t = 0;

	for (unsigned int i = 0; i < nr; i++) {
		win[i].start = t;
		t += win[i].len;
	}
	vc_list_for_each_entry(vd, &ap->all, struct a653_vdata, node)
		vd->slot_start = VC_TIME_INF; /* windows of the old frame are gone */
	if (win != ap->win)
		vc_os_free(ap->win);
	ap->win = win;
	ap->nr_win = nr;
	ap->major = t;
	ap->cur = 0;
	ap->restart = true;
}

/* The vcoproc of the domain @name refers to (vc_domain_match()), NULL: idle. */
static struct a653_vdata *a653_lookup(struct a653_priv *ap, const char *name)
{
	struct a653_vdata *vd;

	if (!vc_strcmp(name, "idle"))
		return NULL;
	vc_list_for_each_entry(vd, &ap->all, struct a653_vdata, node)
		if (vc_domain_match(vc_vcoproc_domain(vd->v), name))
			return vd;
	return NULL;
}

static void a653_resolve(struct a653_priv *ap)
{
	for (unsigned int i = 0; i < ap->nr_win; i++)
		ap->win[i].vd = a653_lookup(ap, ap->win[i].name);
}

/* The default frame: one window per vcoproc, in creation order. */
static int a653_build_auto(struct a653_priv *ap)
{
	struct a653_window *win = NULL;
	struct a653_vdata *vd;
	unsigned int i = 0;

	if (ap->nr_vdata) {
		win = vc_os_zalloc(sizeof(*win) * ap->nr_vdata);
		if (!win)
			return -VC_ENOMEM;
	}
	vc_list_for_each_entry(vd, &ap->all, struct a653_vdata, node) {
		vc_strlcpy(win[i].name, vc_domain_name(vc_vcoproc_domain(vd->v)),
			   sizeof(win[i].name));
		win[i].len = A653_AUTO_WINDOW;
		win[i].vd = vd;
		i++;
	}
	a653_install(ap, win, i);
	return 0;
}

static void trim(const char **b, const char **e)
{
	while (*b < *e && (**b == ' ' || **b == '\t'))
		(*b)++;
	while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* Copy [@b, @e) into @dst of @size; false if empty or too long. */
static bool copy_token(char *dst, size_t size, const char *b, const char *e)
{
	size_t n = (size_t)(e - b);

	if (!n || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		dst[i] = b[i];
	dst[n] = '\0';
	return true;
}

/* Names are made of letters, digits, '_', '-' and '.'. */
static bool valid_name(const char *b, const char *e)
{
	for (; b < e; b++) {
		char ch = *b;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.'))
			return false;
	}
	return true;
}

/*
 * Parse "NAME:DURATION,..." into a new array (*@out, freed by the caller).
 * Returns the number of windows, -VC_EINVAL or -VC_ENOMEM.
 */
static int a653_parse(const char *str, struct a653_window **out)
{
	struct a653_window *win;
	unsigned int n = 1, i = 0;
	const char *tok, *end, *p;

	for (p = str; *p; p++)
		n += *p == ',';
	if (n > A653_MAX_WINDOWS)
		return -VC_EINVAL;
	win = vc_os_zalloc(sizeof(*win) * n);
	if (!win)
		return -VC_ENOMEM;
	for (tok = str;; tok = end + 1) {
		const char *colon = NULL, *nb = tok, *ne, *db, *de;
		char dur[VC_SCHED_TIME_STR];

		for (end = tok; *end && *end != ','; end++)
			if (*end == ':' && !colon)
				colon = end;
		if (!colon)
			goto out_inval;
		ne = colon;
		db = colon + 1;
		de = end;
		trim(&nb, &ne);
		trim(&db, &de);
		if (!valid_name(nb, ne) ||
		    !copy_token(win[i].name, sizeof(win[i].name), nb, ne) ||
		    !copy_token(dur, sizeof(dur), db, de) ||
		    vc_sched_parse_time(dur, VC_MSEC(1), A653_WINDOW_MIN, A653_WINDOW_MAX,
					&win[i].len))
			goto out_inval;
		i++;
		if (!*end)
			break;
	}
	*out = win;
	return (int)n;

out_inval:
	vc_os_free(win);
	return -VC_EINVAL;
}

/* Write the frame as `frame` reads it; "..." ends one that does not fit. */
static void a653_format(const struct a653_priv *ap, char *buf, size_t size)
{
	char t[VC_SCHED_TIME_STR], item[VC_NAME_MAX + VC_SCHED_TIME_STR + 2];
	size_t len = 0;

	vc_strlcpy(buf, ap->explicit_frame ? "" : "auto", size);
	for (unsigned int i = 0; ap->explicit_frame && i < ap->nr_win; i++) {
		size_t n = (size_t)vc_snprintf(item, sizeof(item), "%s%s:%s", i ? "," : "",
					       ap->win[i].name,
					       vc_sched_fmt_time(t, ap->win[i].len));

		if (len + n >= size) {
			vc_strlcpy(buf + VC_MIN(len, size - 4), "...", 4);
			return;
		}
		vc_strlcpy(buf + len, item, size - len);
		len += n;
	}
}

/* Index of the window holding offset @pos of the frame. */
static unsigned int a653_find(const struct a653_priv *ap, vc_time_t pos)
{
	unsigned int lo = 0, hi = ap->nr_win - 1, next = ap->cur + 1;

	/* Called at each window boundary, the answer is the next window. */
	if (next < ap->nr_win && ap->win[next].start <= pos &&
	    pos - ap->win[next].start < ap->win[next].len)
		return next;
	while (lo < hi) { /* the last window starting at or before pos */
		unsigned int mid = lo + (hi - lo + 1) / 2;

		if (ap->win[mid].start <= pos)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* ---- hooks ------------------------------------------------------------------- */

static int a653_init(struct vc_sched *s)
{
	struct a653_priv *ap = vc_os_zalloc(sizeof(*ap));

	VC_SCHED_ASSERT_LOCKED(s);
	if (!ap)
		return -VC_ENOMEM;
	vc_list_init(&ap->all);
	ap->restart = true;
	s->priv = ap;
	return 0;
}

static void a653_deinit(struct vc_sched *s)
{
	struct a653_priv *ap = a653_priv(s);

	VC_SCHED_ASSERT_LOCKED(s);
	vc_os_free(ap->win);
	vc_os_free(ap);
	s->priv = NULL;
}

static int a653_alloc_vdata(struct vc_sched *s, struct vc_vcoproc *v, void **vdata)
{
	struct a653_priv *ap = a653_priv(s);
	struct a653_vdata *vd = vc_os_zalloc(sizeof(*vd));
	int err;

	VC_SCHED_ASSERT_LOCKED(s);
	if (!vd)
		return -VC_ENOMEM;
	vd->v = v;
	vd->slot_start = VC_TIME_INF; /* no window yet */
	vc_list_add_tail(&vd->node, &ap->all);
	ap->nr_vdata++;
	if (ap->explicit_frame) {
		a653_resolve(ap);
	} else {
		err = a653_build_auto(ap);
		if (err) {
			vc_list_del(&vd->node);
			ap->nr_vdata--;
			vc_os_free(vd);
			return err;
		}
	}
	*vdata = vd;
	return 0;
}

static void a653_free_vdata(struct vc_sched *s, struct vc_vcoproc *v, void *vdata)
{
	struct a653_priv *ap = a653_priv(s);
	struct a653_vdata *vd = vdata;
	unsigned int i, j;

	VC_SCHED_ASSERT_LOCKED(s);
	if (!vd)
		return;
	vc_list_del(&vd->node);
	ap->nr_vdata--;
	if (ap->explicit_frame) {
		a653_resolve(ap);
	} else {
		/* Drop its window in place: freeing must not allocate. */
		for (i = j = 0; i < ap->nr_win; i++)
			if (ap->win[i].vd != vd)
				ap->win[j++] = ap->win[i];
		a653_install(ap, j ? ap->win : NULL, j);
	}
	vc_os_free(vd);
}

static bool a653_wake(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now)
{
	struct a653_priv *ap = a653_priv(s);
	struct a653_vdata *vd = a653_vdata(v);

	VC_SCHED_ASSERT_LOCKED(s);
	vd->runnable = true;
	vd->ready_at = now;
	/* Revisit at once only when it owns the current window. */
	return ap->nr_win && ap->win[ap->cur].vd == vd;
}

static void a653_sleep(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t now)
{
	VC_SCHED_ASSERT_LOCKED(s);
	a653_vdata(v)->runnable = false;
}

static void a653_charge(struct vc_sched *s, struct vc_vcoproc *v, vc_time_t ran,
			vc_time_t now)
{
	struct a653_vdata *vd = a653_vdata(v);

	VC_SCHED_ASSERT_LOCKED(s);
	/* Whatever ran past the end of its window is owed. */
	if (now > vd->slot_end)
		vd->debt += VC_MIN(ran, now - vd->slot_end);
}

/*
 * @vd owns the current window: the first time it is chosen in this window,
 * pay back what it owes from the window's end.  Returns when its part of
 * the window ends.
 */
static vc_time_t a653_slot_end(struct a653_priv *ap, struct a653_vdata *vd,
			       vc_time_t now, vc_time_t end)
{
	vc_time_t cut;

	if (vd->slot_start != ap->cur_start) {
		cut = VC_MIN(vd->debt, (end - now) / 2);
		vd->debt -= cut;
		vd->slot_start = ap->cur_start;
		vd->slot_end = end - cut;
	}
	return vd->slot_end;
}

static struct vc_sched_decision a653_do_schedule(struct vc_sched *s, vc_time_t now,
						 struct vc_vcoproc *curr)
{
	struct a653_priv *ap = a653_priv(s);
	const struct a653_window *w;
	vc_time_t pos, end, until;

	VC_SCHED_ASSERT_LOCKED(s);
	if (!ap->nr_win)
		return (struct vc_sched_decision){ NULL, VC_TIME_INF };
	if (ap->restart) {
		ap->restart = false;
		ap->frame_start = now;
		ap->cur = 0;
	}
	if (now - ap->frame_start >= ap->major)
		ap->frame_start += (now - ap->frame_start) / ap->major * ap->major;
	pos = now - ap->frame_start;
	w = &ap->win[ap->cur];
	if (pos < w->start || pos - w->start >= w->len) {
		ap->cur = a653_find(ap, pos);
		w = &ap->win[ap->cur];
	}
	ap->cur_start = ap->frame_start + w->start;
	end = ap->cur_start + w->len;
	if (!w->vd || !w->vd->runnable)
		return (struct vc_sched_decision){ NULL, end - now };
	until = a653_slot_end(ap, w->vd, now, end);
	if (now >= until) /* its debt is paid by idling the rest */
		return (struct vc_sched_decision){ NULL, end - now };
	return (struct vc_sched_decision){ w->vd->v, until - now };
}

static void a653_switch_result(struct vc_sched *s, struct vc_vcoproc *prev,
			       struct vc_vcoproc *next, int result,
			       vc_time_t retry_after, vc_time_t now)
{
	struct a653_priv *ap = a653_priv(s);
	struct a653_vdata *vd;
	vc_time_t due;

	VC_SCHED_ASSERT_LOCKED(s);
	/* Refused: the windows stay where they are; the retry decides again. */
	if (result == -VC_EAGAIN || !next || !ap->nr_win)
		return;
	vd = a653_vdata(next);
	if (ap->win[ap->cur].vd != vd)
		return;
	due = VC_MAX(ap->cur_start, vd->ready_at);
	vc_sched_note_jitter(next, now > due ? now - due : 0);
}

static int a653_set_param(struct vc_sched *s, struct vc_vcoproc *v, const char *key,
			  const char *val)
{
	struct a653_priv *ap = a653_priv(s);
	struct a653_window *win;
	int n;

	VC_SCHED_ASSERT_LOCKED(s);
	if (v || vc_strcmp(key, "frame"))
		return -VC_ENOENT;
	if (!vc_strcmp(val, "auto")) {
		int err = a653_build_auto(ap);

		if (!err)
			ap->explicit_frame = false;
		return err;
	}
	n = a653_parse(val, &win);
	if (n < 0)
		return n;
	a653_install(ap, win, (unsigned int)n);
	a653_resolve(ap);
	ap->explicit_frame = true;
	return 0;
}

static unsigned int a653_get_params(struct vc_sched *s, struct vc_vcoproc *v,
				    struct vc_param *out, unsigned int max)
{
	char buf[VC_PARAM_VAL_MAX];

	VC_SCHED_ASSERT_LOCKED(s);
	if (v)
		return 0;
	a653_format(a653_priv(s), buf, sizeof(buf));
	return vc_param_put(out, max, 0, "frame", "%s", buf);
}

static void a653_dump(struct vc_sched *s, struct vc_printer *p)
{
	struct a653_priv *ap = a653_priv(s);
	char t1[VC_SCHED_TIME_STR], t2[VC_SCHED_TIME_STR];

	VC_SCHED_ASSERT_LOCKED(s);
	vc_pr(p, "arinc653: %s frame, major %s, %u windows, frame start %llu, "
	      "window %u\n", ap->explicit_frame ? "explicit" : "auto",
	      vc_sched_fmt_time(t1, ap->major), ap->nr_win,
	      (unsigned long long)ap->frame_start, ap->cur);
	for (unsigned int i = 0; i < ap->nr_win; i++) {
		const struct a653_window *w = &ap->win[i];

		if (w->vd)
			vc_pr(p, "  %c[%u] +%s %s %s: vcoproc %u %s, owes %lluns\n",
			      i == ap->cur ? '*' : ' ', i, vc_sched_fmt_time(t1, w->start),
			      vc_sched_fmt_time(t2, w->len), w->name,
			      vc_vcoproc_id(w->vd->v), w->vd->runnable ? "runnable" : "asleep",
			      (unsigned long long)w->vd->debt);
		else
			vc_pr(p, "  %c[%u] +%s %s %s: idle\n", i == ap->cur ? '*' : ' ', i,
			      vc_sched_fmt_time(t1, w->start), vc_sched_fmt_time(t2, w->len),
			      w->name);
	}
}

/* The time of @v's windows over the major frame (0 without a frame). */
static int a653_expected_share(struct vc_sched *s, struct vc_vcoproc *v, uint32_t *ppb)
{
	struct a653_priv *ap = a653_priv(s);
	struct a653_vdata *vd = a653_vdata(v);
	vc_time_t mine = 0;

	VC_SCHED_ASSERT_LOCKED(s);
	for (unsigned int i = 0; i < ap->nr_win; i++)
		if (ap->win[i].vd == vd)
			mine += ap->win[i].len;
	*ppb = vc_sched_share(mine, ap->major);
	return 0;
}

const struct vc_sched_ops vc_sched_arinc653_ops = {
	.name = "arinc653",
	.init = a653_init,
	.deinit = a653_deinit,
	.alloc_vdata = a653_alloc_vdata,
	.free_vdata = a653_free_vdata,
	.wake = a653_wake,
	.sleep = a653_sleep,
	.charge = a653_charge,
	.do_schedule = a653_do_schedule,
	.switch_result = a653_switch_result,
	.set_param = a653_set_param,
	.get_params = a653_get_params,
	.dump = a653_dump,
	.expected_share = a653_expected_share,
};
