/*
 * aggd - the daemon that holds the global model and runs the rounds.
 *
 * It has no network: netd hands it the training requests over ZeroMQ,
 * already stamped with the site's verified certificate CN, and aggd
 * answers with a gRPC status and the serialized reply. aggd is the one
 * authority on which sites are registered and which tokens are alive. It
 * tells admind what happens (sites, rounds) with notices that never wait.
 *
 * Modules, one file each:
 *   registry	the project's sites, their tokens and last contact
 *   round	the round state machine: idle, training, finished
 *   robin	round-robin rounds: the model from site to site
 *   crossval	cross-site validation: best local models and results
 *   contribution	decoding and validating one site's update
 *   fedavg	the running weighted sum of the accepted updates
 *   model_cache	the round's CurrentModel, packed once, sent many times
 *   model_store	models, provenance records and the checkpoint on disk
 *   run_folder	a run's folder: does it exist, has it trained, deleting it
 *   training	the FederatedTraining requests from netd
 *   control	the requests from admind
 *   deploy	a training configuration deployed by an operator
 *   notice	notices to admind
 */
#ifndef AGGD_H
#define AGGD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "config.h"
#include "digest.h"
#include "envelope.pb-c.h"
#include "federated.pb-c.h"
#include "ipc.h"
#include "status.h"
#include "tensor.h"

/* Room for the status message of a reply. */
#define AGGD_MSG_MAX		512
/* Seconds between attempts to save a closed round's model. */
#define AGGD_SAVE_RETRY		5.0
/* At most one "contact" notice per site per this many seconds. */
#define AGGD_CONTACT_NOTICE	1.0

/* Monotonic seconds: timeouts must not jump with the wall clock. */
static inline double
aggd_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* registry.c */

struct site {
	const char	*name;		/* from authorization.json */
	size_t		 id;		/* index in the project's site list */
	int		 registered;
	char		 token[TOKEN_HEX_LEN + 1];
	double		 last_contact;	/* monotonic */
	time_t		 last_contact_wall;
	double		 last_notice;	/* monotonic, of a "contact" notice */
	int		 may_refetch;	/* registered again since its fetch */
	int		 weight_warned;	/* named by no aggregation weight */
};

struct registry {
	struct site	*sites;		/* one slot per project site */
	size_t		 nsites;
	size_t		 nregistered;
	int		 max_clients;
	double		 timeout;	/* heart_beat_timeout */
};

int		 registry_init(struct registry *, char *const *names, size_t n,
		    int max_clients, double timeout);
void		 registry_free(struct registry *);
struct site	*registry_site(struct registry *, const char *name);
enum fl_status	 registry_register(struct registry *, struct site *, double now,
		    char *msg, size_t len);
enum fl_status	 registry_authenticate(struct registry *, struct site *,
		    const char *token, double now, char *msg, size_t len);
void		 registry_remove(struct registry *, struct site *);
struct site	*registry_expired(struct registry *, double now);
int		 registry_token_wellformed(const char *);

/* contribution.c */

enum contrib_type {
	CONTRIB_NONE,			/* a round with no update yet */
	CONTRIB_W,
	CONTRIB_DELTA_W
};

/* A validated update: tensors aligned with the global model's, the
 * excluded ones left empty (data NULL). */
struct update {
	struct tensor		*tensors;
	size_t			 count;
	int64_t			 n_iter;
	enum contrib_type	 type;
};

int		 contribution_decode_data(const Fedlearn__ModelData *,
		    const char *site, const struct model *global,
		    const struct train_config *, size_t max_bytes,
		    struct update *, char *err, size_t len);
int		 contribution_decode(const Fedlearn__Contribution *,
		    const char *site, const struct model *global,
		    const struct train_config *, enum contrib_type round_type,
		    size_t max_bytes, struct update *, char *err, size_t len);
void		 contribution_free(struct update *);
int		 contribution_digest(const void *payload, size_t len,
		    char out[DIGEST_HEX_LEN + 1]);
const char	*contribution_type_name(enum contrib_type);

/* fedavg.c */

struct fedavg {
	double		**sums;		/* per global tensor; NULL: excluded */
	size_t		  count;
	double		  sumw;
	size_t		  nupdates;
};

int	fedavg_init(struct fedavg *, const struct model *global,
	    const struct train_config *);
void	fedavg_reset(struct fedavg *, const struct model *global);
void	fedavg_free(struct fedavg *);
double	fedavg_weight(const struct train_config *, const char *site,
	    int64_t n_iter, int *warned, double *aggregation_weight);
int	fedavg_add(struct fedavg *, const struct model *global,
	    const struct update *, double weight, const char *site,
	    char *err, size_t len);
int	fedavg_finalize(const struct fedavg *, const struct model *global,
	    enum contrib_type, struct model *out);
int	fedavg_finite(const struct model *, size_t *tensor, size_t *element);

/* model_cache.c */

/* One packed CurrentModel, shared by every send of it. */
struct model_buf {
	atomic_int	 refs;
	size_t		 len;
	unsigned char	*data;
};

struct model_cache {
	struct model_buf	*buf;
	int64_t			 run;
	int64_t			 round;
};

struct model_meta {
	const char	*project;
	int64_t		 run;
	int64_t		 round;
	int64_t		 num_rounds;
};

struct model_buf *model_cache_get(struct model_cache *,
		    const struct model *global, const struct train_config *,
		    const struct model_meta *);
struct model_buf *model_cache_validation(const struct model *,
		    const struct model_meta *, const char *owner, int more);
void		 model_cache_hold(struct model_buf *);
void		 model_cache_release(void *data, void *hint);
void		 model_cache_clear(struct model_cache *);

/* model_store.c */

struct provenance_site {
	const char	*site;
	int64_t		 n_iter;
	double		 aggregation_weight;
	double		 weight;
	char		 sha256[DIGEST_HEX_LEN + 1];
};

struct model_store {
	char		*workspace;
	int		 keep_round_models;
	char		*config;	/* deployed, or NULL: aggd's -c */
};

int	model_store_init(struct model_store *, const char *workspace,
	    int keep_round_models);
void	model_store_free(struct model_store *);
int	model_store_path(const struct model_store *, char *buf, size_t len,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int	model_store_mkdir(const char *path);
int	model_store_write_json(const char *path, const json_t *doc);
int	model_store_save(struct model_store *, int64_t run, int64_t round,
	    enum contrib_type, const struct model *,
	    const struct provenance_site *, size_t nsites, json_t *extra);
int	model_store_begin_run(struct model_store *, int64_t run,
	    int64_t round, const struct model *);
int	model_store_resume(struct model_store *, size_t max_bytes,
	    int64_t *run, int64_t *round, struct model *);
int	model_store_deployed(const char *workspace, char *config,
	    size_t len);

/* run_folder.c */

int		 run_folder_exists(const struct model_store *, int64_t run);
int		 run_folder_trained(const struct model_store *, int64_t run);
enum fl_status	 run_folder_delete(const struct model_store *, int64_t run,
		    char *msg, size_t len);

/* notice.c */

struct round;

struct notice {
	struct ipc_link	*link;		/* NULL: notices off */
	uint64_t	 next_id;
	int		 dropping;	/* admind is not taking notices */
};

void	notice_site(struct notice *, const char *event, const struct site *,
	    const char *reason);
void	notice_contact(struct notice *, struct site *, double now);
void	notice_round(struct notice *, const char *event, const struct round *);

/* round.c */

enum round_state {
	ROUND_IDLE,
	ROUND_TRAINING,
	ROUND_FINISHED
};

struct round_site {
	int			 fetched;
	int			 contributed;
	struct provenance_site	 prov;
};

/* A round-robin round: the turn order and the model passed along. */
struct robin {
	size_t			*order;		/* site ids, in turn */
	size_t			 norder;
	size_t			 pos;		/* order[pos] holds the model */
	struct model		 chain;		/* last good; empty: global */
	size_t			*skipped;	/* site ids, in turn */
	size_t			 nskipped;
	uint64_t		 seed;
};

struct crossval;

struct round {
	enum round_state	 state;
	int			 closing;	/* closed, model unsaved */
	int			 autostart;	/* start at min_num_clients */
	int			 stopped;	/* aborted, or cannot go on */
	char			 note[AGGD_MSG_MAX]; /* why it stopped */
	int64_t			 run;
	int64_t			 number;
	enum contrib_type	 type;
	struct round_site	*sites;		/* one per project site */
	size_t			*order;		/* site ids as accepted */
	size_t			 ncontributed;
	double			 min_reached;	/* monotonic, or < 0 */
	double			 retry_at;
	int			 stuck_warned;
	struct model		 global;
	struct fedavg		 acc;
	struct model_cache	 cache;
	struct robin		 rr;
	struct crossval		*xv;		/* NULL: none */
	const char		*project;
	struct registry		*reg;
	const struct train_config *cfg;
	struct model_store	*store;
	struct notice		*notice;
};

int		 round_init(struct round *, const char *project,
		    struct registry *, const struct train_config *,
		    struct model_store *, struct notice *, struct model *global,
		    int64_t run, int64_t number);
void		 round_free(struct round *);
const char	*round_state_name(const struct round *);
enum fl_status	 round_start(struct round *, double now, char *msg,
		    size_t len);
enum fl_status	 round_abort(struct round *, char *msg, size_t len);
enum fl_status	 round_set_run(struct round *, int64_t run, char *msg,
		    size_t len);
void		 round_replace(struct round *, struct model *global,
		    struct fedavg *);
const struct model *round_model(const struct round *);
enum fl_status	 round_fetch(struct round *, struct site *, size_t max_len,
		    struct model_buf **, char *msg, size_t len);
enum fl_status	 round_may_contribute(struct round *, struct site *,
		    const Fedlearn__MetaData *, char *msg, size_t len);
enum fl_status	 round_contribute(struct round *, struct site *,
		    const struct update *, const char *sha256, double now,
		    char *msg, size_t len);
void		 round_tick(struct round *, double now);
int		 round_stuck(const struct round *, char *msg, size_t len);
int		 round_note(const struct round *, char *msg, size_t len);
void		 round_meta(const struct round *, struct model_meta *);
json_t		*round_json(const struct round *);

/* robin.c */

void		 robin_order(size_t *ids, size_t n, uint64_t seed, int64_t run,
		    int64_t round);
uint64_t	 robin_seed(const struct train_config *);
int		 robin_enough(const struct round *, char *why, size_t len);
int		 robin_begin(struct round *, char *why, size_t len);
void		 robin_reset(struct robin *);
void		 robin_free(struct robin *);
struct site	*robin_holder(const struct round *);
const struct model *robin_model(const struct round *);
enum fl_status	 robin_may_fetch(const struct round *, const struct site *,
		    char *msg, size_t len);
enum fl_status	 robin_may_contribute(const struct round *,
		    const struct site *, char *msg, size_t len);
enum fl_status	 robin_contribute(struct round *, const struct site *,
		    const struct update *, char *msg, size_t len);
int		 robin_advance(struct round *);
void		 robin_status(const struct round *, char *msg, size_t len);
json_t		*robin_provenance(const struct round *);

/* crossval.c */

/* Owner 0 is the server's global model, owner 1 + i project site i. */
struct crossval {
	struct round		*round;
	int64_t			 run;		/* whose state this is */
	size_t			 nsites;
	size_t			 max_bytes;
	unsigned char		*has_model;	/* per site */
	unsigned char		*asked;		/* per site */
	unsigned char		*served;	/* validator x owner */
	unsigned char		*done;		/* validator x owner */
	json_t			*results;	/* cross_val_results.json */
};

int		 crossval_init(struct crossval *, struct round *,
		    size_t max_bytes);
void		 crossval_free(struct crossval *);
void		 crossval_registered(struct crossval *, const struct site *);
enum fl_status	 crossval_submit_model(struct crossval *, struct site *,
		    const Fedlearn__LocalModel *, char *msg, size_t len);
enum fl_status	 crossval_next(struct crossval *, struct site *,
		    size_t max_len, struct model_buf **, char *msg,
		    size_t len);
enum fl_status	 crossval_submit_results(struct crossval *, struct site *,
		    const Fedlearn__ValidationResults *, char *msg,
		    size_t len);
int		 crossval_complete(struct crossval *);
json_t		*crossval_results(struct crossval *);

/* training.c and control.c */

struct aggd {
	const char		*project;
	size_t			 max_payload;
	struct registry		 reg;
	struct round		 round;
	struct notice		 notice;
	struct model_store	 store;
	struct train_config	 cfg;
	struct crossval		 xv;
	size_t			 max_model;	/* bytes of a model on disk */
};

/* What a request gets back: a status, and on OK a payload. */
struct reply {
	int		 status;
	char		 message[AGGD_MSG_MAX];
	void		*payload;
	size_t		 len;
	ipc_free_fn	*free_fn;
	void		*hint;
};

void	training_reply(struct reply *, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	training_reply_free(struct reply *);
void	training_request(struct aggd *, const Flipc__Envelope *,
	    const void *payload, size_t len, double now, struct reply *);
void	control_request(struct aggd *, const Flipc__Envelope *,
	    const void *payload, size_t len, struct reply *);

/* deploy.c */

int	deploy_config(struct aggd *, const char *config, struct reply *);

#endif
