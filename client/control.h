/*
 * control - what an admin's requests change in a site, shared by the
 * relay thread that receives them and the training loop that obeys
 * them: stopped or not, a restart or a shutdown asked for, and the round
 * the site is at, for check_status.
 *
 * One mutex guards it all. The cancel flag is also an atomic, so that
 * training can look at it between two batches without taking the lock.
 * Nothing here makes a call to the server: the relay answers, the loop
 * acts.
 */
#ifndef FL_CONTROL_H
#define FL_CONTROL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* What the training loop does next. */
enum control_next {
	CONTROL_GO,		/* fetch the model, train, submit */
	CONTROL_PAUSE,		/* stopped: wait for train.start */
	CONTROL_RESTART,	/* register again, then go on */
	CONTROL_SHUTDOWN	/* Quit and exit 0 */
};

struct control {
	pthread_mutex_t	 lock;
	int		 stopped;	/* train.abort, until train.start */
	int		 training;	/* the loop holds a round's model */
	int		 restart;
	int		 shutdown;
	int64_t		 run;		/* of the last model, -1 before */
	int64_t		 round;
	atomic_int	 cancel;	/* stop training at the next batch */
};

void	control_init(struct control *);
void	control_destroy(struct control *);

/* The relay's side; each returns the status after it, as check_status. */
const char *control_status(struct control *, int64_t *run, int64_t *round);
const char *control_abort(struct control *);
const char *control_start(struct control *);
void	control_shutdown(struct control *);
void	control_restart(struct control *);

/* The loop's side. CONTROL_RESTART is handed out once. */
enum control_next control_next(struct control *);
/* 0 if training for this round may begin; -1 if it was cancelled. */
int	control_begin(struct control *, int64_t run, int64_t round);
void	control_end(struct control *);
/* 1 if the training that just ended was cut short on purpose. */
int	control_cancelled(struct control *);

#endif
