/*
 * session - a site's session with the training service: registration
 * and its token, the heartbeat thread, the calls a site makes each round
 * (GetModel, SubmitUpdate), those of cross-site validation once training
 * is over (SubmitBestLocalModel, GetValidationModels,
 * SubmitCrossSiteValidationResults), and Quit at the end.
 *
 * Calls return the gRPC status code the server answered, after waiting
 * out an unavailable server (every SESSION_RETRY_S seconds for up to
 * SESSION_RETRY_MAX_S, as Clara's client did), or -1 when the call could
 * not be made or its reply was unusable; the status message is kept in
 * the session. What a code means for the site's loop is the caller's
 * business. Stop signals (SIGINT, SIGTERM) must be blocked in every
 * thread; the session waits for them while it sleeps.
 */
#ifndef FL_SESSION_H
#define FL_SESSION_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "kit.h"
#include "tensor.h"

#define SESSION_TOKEN_MAX	256
#define SESSION_MESSAGE_MAX	512
#define SESSION_RETRY_S		5
#define SESSION_RETRY_MAX_S	30
#define SESSION_OWNER_MAX	256
#define SESSION_METRICS_MAX	8

struct grpc_client;

/* Where a global model came from: the round the update is for. */
struct session_round {
	int64_t	 round;
	int64_t	 num_rounds;
	int64_t	 run;
};

/* A metric of cross-site validation: "accuracy", 0.93. */
struct session_metric {
	const char	*name;
	double		 value;
};

struct session {
	struct grpc_client	*grpc;
	const struct kit	*kit;
	sigset_t		 stop_signals;
	int			 stopping;	/* a stop signal arrived */
	char			 message[SESSION_MESSAGE_MAX];
	int			 last_status;	/* of the last attempt */

	/*
	 * The token is written by the main thread, read by the heartbeat
	 * and the relay. Each registration is a new generation; the relay
	 * marks the one the server refused, and the main loop registers
	 * again.
	 */
	pthread_mutex_t		 lock;
	char			 token[SESSION_TOKEN_MAX + 1];
	uint64_t		 token_gen;
	uint64_t		 refused_gen;

	pthread_t		 beat_thread;
	pthread_cond_t		 beat_cond;
	int			 beat_seconds;
	int			 beat_running;
	int			 beat_stop;
};

int	session_open(struct session *, const struct kit *,
	    const sigset_t *stop_signals);
void	session_close(struct session *);

int	session_register(struct session *);
/* OK: global holds every tensor the server sent, and where it is from. */
int	session_get_model(struct session *, struct model *global,
	    struct session_round *);
/* Send local - global as a "delta_w" contribution of n_iter steps. */
int	session_submit(struct session *, const struct session_round *,
	    const struct model *global, const struct model *local,
	    int64_t n_iter);
int	session_quit(struct session *);

/* SubmitBestLocalModel: the whole model, and the site's metrics on it. */
int	session_submit_best(struct session *, const struct model *,
	    const struct session_metric *, size_t nmetrics);
/*
 * GetValidationModels. OK: owner is the model's owner ("server" or a
 * site) and m its tensors, or owner is empty and m has none when the
 * server has no model for us; *more is the server's more_available.
 */
int	session_validation_model(struct session *, struct model *m,
	    char owner[SESSION_OWNER_MAX + 1], int *more);
/* SubmitCrossSiteValidationResults: our metrics on owner's model. */
int	session_submit_results(struct session *, const char *owner,
	    const struct session_metric *, size_t nmetrics);

/* For another thread: a copy of the token and its generation; -1 if none. */
int	session_token_copy(struct session *, char token[SESSION_TOKEN_MAX + 1],
	    uint64_t *gen);
/* The server refused the token of generation gen. */
void	session_token_refused(struct session *, uint64_t gen);
/* 1 if the current token was refused: time to register again. */
int	session_token_dead(struct session *);

int	session_heartbeat_start(struct session *, int seconds);
void	session_heartbeat_stop(struct session *);

/* Wait seconds; -1 at once if a stop signal arrives (then stopping). */
int	session_sleep(struct session *, int seconds);
int	session_sleep_ms(struct session *, int milliseconds);
/* Take a stop signal that is pending, without waiting. */
int	session_stop_pending(struct session *);
/* "UNAVAILABLE" for 14, ... */
const char *session_code_name(int code);

#endif
