/*
 * admind - the admin console and the operator's view of the server.
 *
 * It has no network. netd brings it the console's commands
 * (ADMIN_COMMAND) and the sites' polls and answers on the
 * AdminCommunicating channel; aggd tells it what happens to sites and
 * rounds with notices, and answers its operator requests. A command goes
 * through login, then authorization, then the audit trail, then runs;
 * most runs wait for aggd or for sites, without ever blocking the loop.
 *
 * Modules, one file each:
 *   frame	the console's wire: documents, items
 *   cmdline	words of a command line, the command, its arguments' shape
 *   session	logins, session tokens, failed-login delays
 *   policy	authorization.json; authz: what it allows
 *   audit	the tamper-evident trail of every command
 *   console	one command from netd to its answer: the steps and the wait
 *   commands	the table of commands; cmd_*: what each one does
 *   cmd_mmar	MMAR uploads into transfer/, deploys to server and sites
 *   relay	requests queued for sites, and the sites' replies
 *   query	requests to aggd, each with its continuation and deadline
 *   status	the view: run, round, state, live sites; its JSON file
 *   request	netd's requests by kind, and how each is answered
 */
#ifndef ADMIND_H
#define ADMIND_H

#include <sys/queue.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "audit.h"
#include "authz.h"
#include "cmdline.h"
#include "frame.h"
#include "ipc.h"
#include "session.h"

/* The largest admin request netd may pass on (an MMAR upload). */
#define ADMIND_MAX_PAYLOAD	(64 * 1024 * 1024)
/* aggd's replies are small JSON documents. */
#define ADMIND_AGGD_MAX_PAYLOAD	(1024 * 1024)
/* status.json is written at most once per this many seconds. */
#define ADMIND_WRITE_INTERVAL	0.25
/* After a failed write, the next attempt waits this long. */
#define ADMIND_WRITE_RETRY	1.0
/* Seconds a site has to answer a command, until set_timeout. */
#define ADMIND_SITE_TIMEOUT	10
#define ADMIND_PROJECT_MAX	128

/* Monotonic seconds: timers must not jump with the wall clock. */
static inline double
admind_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The wall clock with its fraction, for replies' "time". */
static inline double
admind_wall(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
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
/* 1 if site is in the view: registered and alive. */
int	status_has_site(const struct status *, const char *site);
const char	*status_state_name(enum status_state);

/* query.c */

/*
 * The answer to a request: aggd's status code and message, and the
 * payload of an OK reply. A request aggd did not answer in time, or
 * lost with the link, is answered FL_UNAVAILABLE with a message.
 */
typedef void	 query_fn(void *arg, int status, const char *message,
		    const void *payload, size_t len);

struct query_request {
	TAILQ_ENTRY(query_request) qr_entry;
	uint64_t	 qr_id;
	double		 qr_deadline;	/* monotonic */
	query_fn	*qr_fn;
	void		*qr_arg;
};

TAILQ_HEAD(query_requests, query_request);

struct query {
	void			*monitor;	/* PAIR: the link's events */
	struct ipc_link		*aggd;
	struct status		*status;
	struct query_requests	 pending;
	size_t			 npending;
	uint64_t		 next_id;
	int			 connected;
	int			 wanted;	/* the view needs a refresh */
	int			 asking;	/* a refresh is outstanding */
	double			 next_try;	/* monotonic */
	char			 refusal[STATUS_ERR_MAX]; /* last logged */
};

int	query_init(struct query *, void *ctx, struct ipc_link *aggd,
	    struct status *);
/* Forget every request, calling none back. */
void	query_close(struct query *);
/* Read the link's connection events: a new connection refreshes. */
void	query_monitor(struct query *, double now);
/*
 * Send kind with a JSON payload; fn(arg, ...) is called once with the
 * answer, never from inside query_ask. Returns -1 with why in err when
 * the request could not leave (aggd is not running).
 */
int	query_ask(struct query *, Flipc__Kind, const char *json, double timeout,
	    query_fn *, void *arg, char err[STATUS_ERR_MAX]);
/* Forget the requests made for arg; fn is not called for them. */
void	query_cancel(struct query *, void *arg);
/* Expire late requests, and refresh the view when it is wanted. */
void	query_tick(struct query *, double now);
/* Seconds until query_tick has something to do, or -1: nothing. */
double	query_wait(const struct query *, double now);
/* A REPLY that arrived on the link to aggd. */
void	query_reply(struct query *, struct ipc_msg *);

/* request.c */

/* A request of netd's being answered later: where the reply goes. */
struct netd_request {
	zmq_msg_t	 nr_routing;
	uint64_t	 nr_id;
	int		 nr_open;
};

void	request_keep(struct netd_request *, struct ipc_msg *);
/* Reply once, then forget the routing id. */
void	request_answer(struct ipc_link *, struct netd_request *, int status,
	    const char *message, const void *payload, size_t len);
void	request_drop(struct netd_request *);
struct admind;
/* One request from netd, by kind. */
void	request_dispatch(struct admind *, struct ipc_msg *);

/* console.c and commands: one command from netd to its answer. */

enum wait_state {
	WAIT_PENDING,
	WAIT_OK,		/* the site answered _ok */
	WAIT_ERROR,		/* the site answered _error */
	WAIT_NO_REPLY,		/* nothing before the deadline */
	WAIT_ABSENT,		/* not connected: nothing was sent */
	WAIT_UNSENT		/* its queue is full */
};

/* One site a command waits for. */
struct site_wait {
	char		 w_site[STATUS_NAME_MAX + 1];
	enum wait_state	 w_state;
	json_t		*w_body;	/* the site's reply body */
};

struct run_peer {
	char		 p_cn[SESSION_USER_MAX + 1];
	char		 p_fingerprint[SESSION_FP_MAX + 1];
	char		 p_address[64];
	int		 p_kind;	/* Flipc__PeerKind */
};

struct command_run;
/* What to do once aggd has answered. */
typedef void	 run_reply_fn(struct command_run *, int status,
		    const char *message, json_t *reply);

struct command_run {
	TAILQ_ENTRY(command_run) r_entry;
	struct admind		*r_ad;
	struct netd_request	 r_netd;
	struct run_peer		 r_peer;
	char			*r_line;	/* as typed; audit redacts */
	char			 r_user[SESSION_USER_MAX + 1];
	const struct command	*r_cmd;
	struct cmdline		 r_cl;
	struct cmd_args		 r_args;
	char			(*r_targets)[STATUS_NAME_MAX + 1];
	size_t			 r_ntargets;
	char			 r_event[AUDIT_EVENT_HEX + 1];
	char			 r_token[TOKEN_HEX_LEN + 1]; /* a login's */
	char			*r_file_name;	/* upload_folder's file item */
	char			*r_file_content; /* base64 of its archive */
	int			 r_recorded;	/* its outcome is still due */
	struct frame_reply	 r_reply;
	char			 r_result[AUDIT_REASON_MAX];
	int			 r_aggd;	/* aggd requests outstanding */
	run_reply_fn		*r_aggd_fn;
	struct site_wait	*r_waits;
	size_t			 r_nwaits;
	size_t			 r_waiting;	/* of r_waits, still pending */
	double			 r_deadline;	/* for the sites, monotonic */
	void			(*r_then)(struct command_run *);
};

TAILQ_HEAD(command_runs, command_run);

/* A command from netd: parse, log in, authorize, audit, run. */
void	console_command(struct admind *, struct ipc_msg *);
/* Sites that did not answer in time. */
void	console_tick(struct admind *, double now);
double	console_wait(const struct admind *, double now);
/* admind stops: each command still running is answered and recorded. */
void	console_close(struct admind *);

/* Ask aggd; fn runs with the answer (a JSON object, or NULL). */
int	run_ask(struct command_run *, Flipc__Kind, json_t *request,
	    run_reply_fn *);
/* Send topic to each site of the targets; the answers are awaited. */
void	run_to_sites(struct command_run *, const char *topic, json_t *body);
/* A site answered: ok is _ok; body is the reply's JSON (taken). */
void	run_site_answer(struct command_run *, size_t wait, int ok,
	    json_t *body);
/* An answer admind has itself, shown among the sites' (the server's). */
void	run_add_answer(struct command_run *, const char *site, json_t *body);
/* The sites' answers as a table: site, then column from each body. */
void	run_sites_table(struct command_run *, const char *const *columns);
/* Note what the command did, for the audit record of its outcome. */
void	run_result(struct command_run *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Add an error item, noted as the outcome. */
void	run_fail(struct command_run *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* 1 if the target list names the server; the sites come after it. */
int	run_has_server(const struct command_run *);

/* commands.c */
extern const struct command	commands_table[];
extern const size_t		commands_count;
/* 1 if user holds right at some site of the policy, or needs none. */
int	commands_may(const struct admind *, const char *user,
	    enum authz_right);
/* _commands: those the user holds a right for at some site. */
void	commands_list(struct command_run *);
/* taskname: the project's name. */
void	commands_taskname(struct command_run *);

/* cmd_session.c */
void	cmd_session_login(struct command_run *);
void	cmd_session_cert_login(struct command_run *);
void	cmd_session_logout(struct command_run *);
/* The login's record could not be made: its session is closed. */
void	cmd_session_undo(struct command_run *);

/* cmd_training.c */
void	cmd_training_set_run(struct command_run *);
void	cmd_training_delete_run(struct command_run *);
void	cmd_training_start(struct command_run *);
void	cmd_training_abort(struct command_run *);
void	cmd_training_status(struct command_run *);
void	cmd_training_shutdown(struct command_run *);
void	cmd_training_restart(struct command_run *);
void	cmd_training_set_timeout(struct command_run *);
void	cmd_training_remove_client(struct command_run *);

/* cmd_mmar.c */
void	cmd_mmar_upload(struct command_run *);
void	cmd_mmar_deploy(struct command_run *);

/* cmd_validate.c */
void	cmd_validate_run(struct command_run *);

/* cmd_shell.c */
void	cmd_shell_run(struct command_run *);

/* cmd_sys.c */
void	cmd_sys_info(struct command_run *);

/* relay.c */

struct relay_msg;
TAILQ_HEAD(relay_msgs, relay_msg);

struct relay_site {
	char		 rs_name[STATUS_NAME_MAX + 1];
	struct relay_msgs rs_queue;	/* not yet retrieved */
	size_t		 rs_queued;
	int		 rs_removed;	/* by remove_client */
	int		 rs_returned;	/* registered again after that */
};

struct relay_call;
TAILQ_HEAD(relay_calls, relay_call);

struct relay {
	struct relay_site	**sites;
	size_t			  nsites;
	struct relay_msgs	  sent;		/* retrieved, not answered */
	struct relay_calls	  calls;	/* netd's, awaiting aggd */
	int64_t			  next_id;
};

void	relay_init(struct relay *);
void	relay_free(struct relay *);
/* Queue topic for site on behalf of run's wait; -1 if the queue is full. */
int	relay_send(struct admind *, struct command_run *, size_t wait,
	    const char *site, const char *topic, json_t *body);
/* Forget every request of run: it has its answer. */
void	relay_forget_run(struct admind *, struct command_run *);
/* A site's Retrieve, SendReply or SendResult, by way of netd. */
void	relay_request(struct admind *, struct ipc_msg *);
/* aggd says what happened to a site (NOTICE_SITE's payload). */
void	relay_site_notice(struct admind *, const void *, size_t);
/* Marks of remove_client: removed, and removed then registered again. */
void	relay_mark_removed(struct admind *, const char *site);
const struct relay_site *relay_site_find(const struct admind *,
	    const char *site);

/* admind.c: the daemon's state, shared by its modules. */
struct admind {
	void			*ctx;
	struct ipc_link		 console;	/* ROUTER: netd's traffic */
	struct ipc_link		 notices;	/* ROUTER: aggd's notices */
	struct ipc_link		 aggd;		/* requests to aggd */
	struct query		 query;
	struct status		 status;
	struct sessions		 sessions;
	struct policy		 policy;
	struct audit		*audit;
	struct relay		 relay;
	struct command_runs	 runs;
	int			 site_timeout;	/* seconds */
	time_t			 cert_not_after; /* server.crt's; 0: unknown */
	int			 sigfd;
	double			 next_write;	/* monotonic */
	char			 workspace[PATH_MAX];
	char			 project[ADMIND_PROJECT_MAX];
	char			 status_path[PATH_MAX];
	char			 sock_path[IPC_PATH_MAX];
};

#endif
