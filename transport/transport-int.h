/* transport-int.h - private to transport/.  GPL-2.0-or-later */
#ifndef FY_TRANSPORT_INT_H
#define FY_TRANSPORT_INT_H

#include <pthread.h>
#include <sys/queue.h>
#include "transport.h"

/* Big-endian stores shared by the framing and the session code. */
void tp_put32(uint8_t *, uint32_t);
void tp_put64(uint8_t *, uint64_t);

struct chunk {
	TAILQ_ENTRY(chunk) qe;		/* session send queue */
	TAILQ_ENTRY(chunk) ue;		/* channel: unacked (sender) or received (receiver) */
	struct tp_channel *ch;
	struct tp_hdr h;
	uint8_t *data;			/* sender: wire payload; receiver: raw bytes */
	size_t off;			/* receiver: bytes already consumed */
	int queued, busy, acked, fin;
	int sent_on;			/* stream index, -1 when never sent */
	int sends;
};
TAILQ_HEAD(chunkq, chunk);

struct tp_channel {
	TAILQ_ENTRY(tp_channel) e;
	struct tp_session *s;
	uint32_t id;
	char name[TP_NAME_MAX + 1];
	int announced;			/* receiver: OPEN delivered */
	int freed, reset, local;
	/* sending */
	uint64_t next_seq, peer_next, sent_bytes, peer_consumed;
	int fin_sent;
	struct chunkq unacked;
	uint64_t rate;			/* bytes/s, 0 = none */
	double tokens;
	int64_t tokens_at_us;
	/* receiving */
	uint64_t recv_next, consumed, buffered;
	int eof, ack_dirty;
	struct chunkq rq;		/* sorted by seq; in order from the head */
};
TAILQ_HEAD(chanq, tp_channel);

#endif
