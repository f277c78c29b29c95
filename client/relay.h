/*
 * relay - the site's end of the admin channel (AdminCommunicating, on
 * the training port): a thread that asks Retrieve about every half
 * second, with the site's token, for the requests admins sent it, has
 * topic.c answer each, and sends the answers with SendReply, one line
 * logged per request. A shutdown or a restart is passed on to the
 * training loop through the control once its reply is sent.
 *
 * A token the server refuses is marked in the session for the training
 * loop to register again; the relay waits for the new one. A server
 * without the channel (UNIMPLEMENTED) is logged once and asked again
 * every RELAY_IDLE_MS; a server that is away is logged once and asked
 * every RELAY_RETRY_MS. Stop signals must be blocked in the caller.
 */
#ifndef FL_RELAY_H
#define FL_RELAY_H

#include <pthread.h>
#include <stdint.h>

#include "control.h"
#include "session.h"
#include "topic.h"

#define RELAY_POLL_MS		500
#define RELAY_IDLE_MS		10000
#define RELAY_RETRY_MS		5000

struct relay {
	struct session		*session;
	struct topic_site	 site;

	pthread_t		 thread;
	pthread_mutex_t		 lock;		/* stop, cond */
	pthread_cond_t		 cond;
	int			 running;
	int			 stop;

	/* The thread's own. */
	int			 condition;	/* of the last poll, logged */
	uint64_t		 refused_gen;	/* token the server refused */
	int			 done;		/* shutdown passed on */
};

/* Start polling; the session and the site's control outlive the relay. */
int	relay_start(struct relay *, struct session *,
	    const struct topic_site *);
/* Stop the thread and wait for it; a call in flight ends first. */
void	relay_stop(struct relay *);

#endif
