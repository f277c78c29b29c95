/*
 * admind - the daemon that keeps the operator's view of the server.
 *
 * It has no network. aggd tells it what happens to sites and rounds with
 * notices, and answers its SERVER_STATUS requests; admind writes what it
 * learns to WORKSPACE/state/status.json. netd brings it the admin
 * requests (the console and the AdminCommunicating channel), which this
 * version refuses with UNIMPLEMENTED.
 *
 * Modules, one file each:
 *   status	the view: run, round, state, live sites; its JSON file
 *   query	asking aggd for the whole view, again after aggd restarts
 *   request	the answers to netd's admin requests
 */
#ifndef ADMIND_H
#define ADMIND_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ipc.h"

/* The largest admin request netd may pass on (an MMAR upload). */
#define ADMIND_MAX_PAYLOAD	(64 * 1024 * 1024)
/* aggd's replies are small JSON documents. */
#define ADMIND_AGGD_MAX_PAYLOAD	(1024 * 1024)
/* status.json is written at most once per this many seconds. */
#define ADMIND_WRITE_INTERVAL	0.25
/* After a failed write, the next attempt waits this long. */
#define ADMIND_WRITE_RETRY	1.0

/* Monotonic seconds: timers must not jump with the wall clock. */
static inline double
admind_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* status.c */

#define STATUS_NAME_MAX		64	/* a site's name, as in its CN */
#define STATUS_SITES_MAX	4096
#define STATUS_ERR_MAX		256

enum status_state {
	STATUS_IDLE,
	STATUS_TRAINING,
	STATUS_FINISHED
};

struct status_site {
	char	 ss_name[STATUS_NAME_MAX + 1];
	time_t	 ss_last_contact;
};

struct status_name {
	char	 sn_name[STATUS_NAME_MAX + 1];
};

struct status {
	int			 known;		/* heard from aggd */
	int			 dirty;		/* changed since written */
	int64_t			 run;
	int64_t			 round;
	int64_t			 num_rounds;
	enum status_state	 state;
	struct status_site	*sites;		/* sorted by name */
	size_t			 nsites;
	struct status_name	*round_sites;	/* in aggd's order */
	size_t			 nround_sites;
	time_t			 updated;	/* wall clock, last change */
};

void	status_init(struct status *);
void	status_free(struct status *);
/*
 * Apply a NOTICE_SITE or NOTICE_ROUND payload, or a SERVER_STATUS reply.
 * now is the wall clock, recorded as the time of the change. Returns 1
 * when the view changed, 0 when it did not, -1 when the payload was
 * refused (logged once, nothing changed).
 */
int	status_site_notice(struct status *, const void *, size_t, time_t now);
int	status_round_notice(struct status *, const void *, size_t, time_t now);
int	status_server_status(struct status *, const void *, size_t,
	    time_t now);
/* The view as status.json's text, newline-terminated; free() it. */
char	*status_json(const struct status *);
/* Write the view to path atomically: temporary file, fsync, rename. */
int	status_write(const struct status *, const char *path);

/* query.c */

struct query {
	void		*monitor;	/* PAIR: events of the link to aggd */
	uint64_t	 next_id;
	uint64_t	 sent_id;	/* latest request sent, 0: none */
	uint64_t	 answered_id;
	int		 wanted;	/* the view needs aggd's full status */
	int		 connected;
	double		 next_try;	/* monotonic */
	char		 refusal[STATUS_ERR_MAX]; /* the last one logged */
};

int	query_init(struct query *, void *ctx, struct ipc_link *aggd);
void	query_close(struct query *);
/* Read the link's connection events: a new connection asks again. */
void	query_monitor(struct query *, double now);
/* Send SERVER_STATUS when it is wanted, due, and aggd is connected. */
void	query_tick(struct query *, struct ipc_link *aggd, double now);
/* Seconds until query_tick has something to do, or -1: nothing. */
double	query_wait(const struct query *, double now);
/* A REPLY that arrived on the link to aggd. */
void	query_reply(struct query *, struct status *, struct ipc_msg *,
	    double now, time_t wall);

/* request.c */

/* Answer one request from netd that admind does not serve. */
void	request_refuse(struct ipc_link *, struct ipc_msg *);

#endif
