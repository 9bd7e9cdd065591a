/*
 * link.c - what `ferryctl link test` measured between the two gateways,
 * as the link rules (FY-LINK-*) read it.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include <jansson.h>
#include "netmap/netmap-int.h"

#define RTT_MAX_MS	1e6		/* a quarter of an hour: anything above is a broken measurement */
#define GOODPUT_MAX	1e13		/* 10 Tbit/s */
#define MSS_BYTES	1448		/* for the loss estimated from retransmits */

void
netmap_link_init(struct netmap_link *l)
{
	l->rtt_ms = -1;
	l->goodput_bps = -1;
	l->loss_pct = -1;
	l->retransmits = -1;
}

/* A number member in [0, max]; absent or null leaves *out. */
static int
num(const json_t *j, const char *key, double max, double *out, char *err, size_t errcap)
{
	const json_t *v = json_object_get(j, key);
	double d;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return netmap_fail(err, errcap, FY_ERR_INVAL, "link.%s: not a number", key);
	d = json_number_value(v);
	if (!(d >= 0 && d <= max))	/* NaN too */
		return netmap_fail(err, errcap, FY_ERR_INVAL, "link.%s: %g is out of range (0 to %g)", key, d, max);
	*out = d;
	return 0;
}

double
netmap_loss_pct(double retransmits, double bytes)
{
	double p;

	if (!(bytes > 0) || retransmits < 0)
		return -1;
	p = retransmits * MSS_BYTES / bytes * 100;
	return p > 100 ? 100 : p;
}

int
netmap_link_from_json(const json_t *j, struct netmap_link *l, char *err, size_t errcap)
{
	double mbit = -1, bytes = -1, retr = -1;
	struct netmap_link n;
	int r;

	netmap_link_init(&n);
	if (err != NULL && errcap > 0)
		err[0] = '\0';
	if (j == NULL || !json_is_object(j))
		return netmap_fail(err, errcap, FY_ERR_INVAL, "link: not a JSON object");
	if ((r = num(j, "rtt_ms", RTT_MAX_MS, &n.rtt_ms, err, errcap)) != 0 ||
	    (r = num(j, "goodput_bps", GOODPUT_MAX, &n.goodput_bps, err, errcap)) != 0 ||
	    (r = num(j, "goodput_mbit", GOODPUT_MAX / 1e6, &mbit, err, errcap)) != 0 ||
	    (r = num(j, "loss_pct", 100, &n.loss_pct, err, errcap)) != 0 ||
	    (r = num(j, "retransmits", 1e15, &retr, err, errcap)) != 0 ||
	    (r = num(j, "bytes", 1e18, &bytes, err, errcap)) != 0)
		return r;
	if (retr >= 0 && (double)(int64_t)retr != retr)
		return netmap_fail(err, errcap, FY_ERR_INVAL, "link.retransmits: not an integer");
	if (n.goodput_bps < 0 && mbit >= 0)
		n.goodput_bps = mbit * 1e6;
	if (retr >= 0)
		n.retransmits = (int64_t)retr;
	/*
	 * Without loss_pct, estimated from the whole test; but not when the
	 * test says its loss probe failed (loss_error): the bulk flow's
	 * retransmits include its own overflow of the bottleneck's queue.
	 */
	if (n.loss_pct < 0 && retr >= 0 && bytes > 0 && json_object_get(j, "loss_error") == NULL)
		n.loss_pct = netmap_loss_pct(retr, bytes);
	*l = n;
	return 0;
}
