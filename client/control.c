/*
 * control - a site's state as admins' requests set it.
 *
 * "stopped" wins over "training": a site that was told to abort says so
 * at once, even while its last batch finishes.
 */
#include <string.h>

#include "control.h"

void
control_init(struct control *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->run = c->round = -1;
	atomic_init(&c->cancel, 0);
}

void
control_destroy(struct control *c)
{
	pthread_mutex_destroy(&c->lock);
}

/* control_state - the status word; the lock is held */
static const char *
control_state(const struct control *c)
{
	if (c->stopped || c->shutdown)
		return "stopped";
	return c->training ? "training" : "waiting";
}

const char *
control_status(struct control *c, int64_t *run, int64_t *round)
{
	const char	*status;

	pthread_mutex_lock(&c->lock);
	status = control_state(c);
	*run = c->run;
	*round = c->round;
	pthread_mutex_unlock(&c->lock);
	return status;
}

const char *
control_abort(struct control *c)
{
	pthread_mutex_lock(&c->lock);
	c->stopped = 1;
	atomic_store(&c->cancel, 1);
	pthread_mutex_unlock(&c->lock);
	return "stopped";
}

const char *
control_start(struct control *c)
{
	const char	*status;

	pthread_mutex_lock(&c->lock);
	if (c->stopped && !c->shutdown) {
		c->stopped = 0;
		atomic_store(&c->cancel, 0);
	}
	status = control_state(c);
	pthread_mutex_unlock(&c->lock);
	return status;
}

void
control_shutdown(struct control *c)
{
	pthread_mutex_lock(&c->lock);
	c->shutdown = 1;
	atomic_store(&c->cancel, 1);
	pthread_mutex_unlock(&c->lock);
}

void
control_restart(struct control *c)
{
	pthread_mutex_lock(&c->lock);
	c->restart = 1;
	atomic_store(&c->cancel, 1);
	pthread_mutex_unlock(&c->lock);
}

enum control_next
control_next(struct control *c)
{
	enum control_next	 next = CONTROL_GO;

	pthread_mutex_lock(&c->lock);
	if (c->shutdown)
		next = CONTROL_SHUTDOWN;
	else if (c->restart) {
		/* A restart ends a stop too: the site starts afresh. */
		c->restart = c->stopped = 0;
		atomic_store(&c->cancel, 0);
		next = CONTROL_RESTART;
	} else if (c->stopped)
		next = CONTROL_PAUSE;
	pthread_mutex_unlock(&c->lock);
	return next;
}

int
control_begin(struct control *c, int64_t run, int64_t round)
{
	int	 rc = -1;

	pthread_mutex_lock(&c->lock);
	c->run = run;
	c->round = round;
	if (!atomic_load(&c->cancel)) {
		c->training = 1;
		rc = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void
control_end(struct control *c)
{
	pthread_mutex_lock(&c->lock);
	c->training = 0;
	pthread_mutex_unlock(&c->lock);
}

int
control_cancelled(struct control *c)
{
	return atomic_load(&c->cancel) != 0;
}
