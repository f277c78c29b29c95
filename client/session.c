/*
 * session - the training service's calls, as a site makes them.
 *
 * Requests are packed with protobuf-c here and handed to grpc_client as
 * bytes; replies are unpacked and checked here. The heartbeat thread
 * makes its own calls and touches nothing of the session but the token,
 * under the lock.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "federated.pb-c.h"
#include "grpc_client.h"
#include "log.h"
#include "npy.h"
#include "session.h"
#include "status.h"

#define SESSION_SERVICE		"/fedlearn.FederatedTraining/"
#define SESSION_SHORT_TIMEOUT	60	/* Register, Quit */
#define SESSION_BEAT_TIMEOUT	15	/* bounds how long a stop waits */
#define SESSION_MODEL_TIMEOUT	900	/* calls that carry a model */

int
session_open(struct session *s, const struct kit *kit,
    const sigset_t *stop_signals)
{
	pthread_condattr_t	 attr;

	memset(s, 0, sizeof(*s));
	s->kit = kit;
	s->stop_signals = *stop_signals;
	if ((s->grpc = grpc_client_open(kit->target, kit->root_pem,
	    kit->cert_pem, kit->key_pem, kit->max_send,
	    kit->max_receive)) == NULL)
		return -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->beat_cond, &attr);
	pthread_condattr_destroy(&attr);
	return 0;
}

void
session_close(struct session *s)
{
	session_heartbeat_stop(s);
	grpc_client_close(s->grpc);
	pthread_cond_destroy(&s->beat_cond);
	pthread_mutex_destroy(&s->lock);
	explicit_bzero(s->token, sizeof(s->token));
	s->grpc = NULL;
}

const char *
session_code_name(int code)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
		"PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
		"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
		"UNAUTHENTICATED"
	};

	if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]))
		return "unknown status";
	return names[code];
}

/* session_wait_signal - sigtimedwait until deadline, retried on EINTR */
static int
session_wait_signal(struct session *s, const struct timespec *deadline)
{
	struct timespec	 now, left;
	int		 sig;

	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left.tv_sec = deadline->tv_sec - now.tv_sec;
		left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
		if (left.tv_nsec < 0) {
			left.tv_nsec += 1000000000L;
			left.tv_sec--;
		}
		if (left.tv_sec < 0)
			left.tv_sec = left.tv_nsec = 0;
		if ((sig = sigtimedwait(&s->stop_signals, NULL, &left)) > 0) {
			log_info("%s: stopping", strsignal(sig));
			s->stopping = 1;
			return -1;
		}
		if (errno != EINTR)
			return 0;
	}
}

int
session_sleep(struct session *s, int seconds)
{
	struct timespec	 deadline;

	if (s->stopping)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += seconds;
	return session_wait_signal(s, &deadline);
}

int
session_sleep_ms(struct session *s, int milliseconds)
{
	struct timespec	 deadline;

	if (s->stopping)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += milliseconds / 1000;
	deadline.tv_nsec += (long)(milliseconds % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_nsec -= 1000000000L;
		deadline.tv_sec++;
	}
	return session_wait_signal(s, &deadline);
}

int
session_stop_pending(struct session *s)
{
	struct timespec	 now;

	if (s->stopping)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return session_wait_signal(s, &now) == -1;
}

/* session_pack - a request as bytes for grpc_client */
static uint8_t *
session_pack(const ProtobufCMessage *req, size_t *len)
{
	uint8_t	*buf;

	*len = protobuf_c_message_get_packed_size(req);
	if ((buf = malloc(*len == 0 ? 1 : *len)) == NULL)
		return NULL;
	protobuf_c_message_pack(req, buf);
	return buf;
}

/*
 * session_call - one call, waiting out an unavailable server. Returns
 * the status code (the status message in s->message), or -1.
 */
static int
session_call(struct session *s, const char *rpc, int with_token,
    const ProtobufCMessage *req, int timeout, struct grpc_reply *reply)
{
	char	 method[128];
	uint8_t	*buf;
	size_t	 len;
	int	 waited, rc;

	memset(reply, 0, sizeof(*reply));
	snprintf(method, sizeof(method), "%s%s", SESSION_SERVICE, rpc);
	if ((buf = session_pack(req, &len)) == NULL) {
		snprintf(s->message, sizeof(s->message), "%s: %s", rpc,
		    strerror(errno));
		return -1;
	}
	for (waited = 0;; waited += SESSION_RETRY_S) {
		if (grpc_client_call(s->grpc, method, with_token ? s->token :
		    NULL, buf, len, timeout, reply) == -1) {
			snprintf(s->message, sizeof(s->message),
			    "%s: the call failed", rpc);
			rc = s->last_status = -1;
			break;
		}
		snprintf(s->message, sizeof(s->message), "%s", reply->message);
		rc = s->last_status = reply->status;
		if (rc != FL_UNAVAILABLE || waited >= SESSION_RETRY_MAX_S)
			break;
		log_warnx("%s: server unavailable (%s); retrying in %d s", rpc,
		    reply->message, SESSION_RETRY_S);
		grpc_client_reply_free(reply);
		if (session_sleep(s, SESSION_RETRY_S) == -1) {
			snprintf(s->message, sizeof(s->message),
			    "%s: stopped while waiting for the server", rpc);
			rc = -1;
			break;
		}
	}
	free(buf);
	return rc;
}

/* session_malformed - a reply that does not unpack */
static int
session_malformed(struct session *s, const char *rpc, const char *what)
{
	snprintf(s->message, sizeof(s->message), "%s: the server's reply is "
	    "not a valid %s", rpc, what);
	return -1;
}

/* session_token_ok - a token we can send back as gRPC metadata */
static int
session_token_ok(const char *token)
{
	size_t	 i, len = strlen(token);

	if (len == 0 || len > SESSION_TOKEN_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (token[i] <= 0x20 || token[i] >= 0x7f)
			return 0;
	return 1;
}

int
session_register(struct session *s)
{
	Fedlearn__ClientLogin		 login = FEDLEARN__CLIENT_LOGIN__INIT;
	Fedlearn__MetaData		 meta = FEDLEARN__META_DATA__INIT;
	Fedlearn__Project		 project = FEDLEARN__PROJECT__INIT;
	Fedlearn__FederatedSummary	*summary;
	struct grpc_reply		 reply;
	int				 rc;

	project.name = s->kit->project;
	meta.project = &project;
	login.client_name = s->kit->site;
	login.meta = &meta;
	if ((rc = session_call(s, "Register", 0, &login.base,
	    SESSION_SHORT_TIMEOUT, &reply)) != FL_OK)
		goto done;

	summary = fedlearn__federated_summary__unpack(NULL, reply.len,
	    reply.body);
	if (summary == NULL)
		rc = session_malformed(s, "Register", "FederatedSummary");
	else if (!session_token_ok(summary->token)) {
		snprintf(s->message, sizeof(s->message), "Register: the server "
		    "sent no usable token");
		rc = -1;
	} else {
		pthread_mutex_lock(&s->lock);
		snprintf(s->token, sizeof(s->token), "%s", summary->token);
		s->token_gen++;
		pthread_mutex_unlock(&s->lock);
	}
	if (summary != NULL) {
		explicit_bzero(summary->token, strlen(summary->token));
		fedlearn__federated_summary__free_unpacked(summary, NULL);
	}

 done:
	grpc_client_reply_free(&reply);
	return rc;
}

/* session_name_ok - a tensor name we are willing to log and store */
static int
session_name_ok(const char *name)
{
	size_t	 i, len = strlen(name);

	if (len == 0 || len > TENSOR_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return 1;
}

/* session_decode - every NDArray of a ModelData into m */
static int
session_decode(struct session *s, const char *rpc,
    const Fedlearn__ModelData *data, struct model *m)
{
	Fedlearn__ModelData__ParamsEntry	*e;
	struct tensor				 t;
	char					 err[NPY_ERR_MAX];
	size_t					 i;

	if (data == NULL || data->n_params == 0) {
		snprintf(s->message, sizeof(s->message), "%s: the server "
		    "sent a model without tensors", rpc);
		return -1;
	}
	for (i = 0; i < data->n_params; i++) {
		e = data->params[i];
		if (!session_name_ok(e->key)) {
			snprintf(s->message, sizeof(s->message), "%s: a tensor "
			    "name is empty, too long or unprintable", rpc);
			return -1;
		}
		if (e->value == NULL || npy_read(e->value->ndarray.data,
		    e->value->ndarray.len, (size_t)s->kit->max_receive, &t,
		    err) == -1) {
			snprintf(s->message, sizeof(s->message), "%s: tensor "
			    "\"%s\": %s", rpc, e->key, e->value == NULL ?
			    "no array" : err);
			return -1;
		}
		if ((t.name = strdup(e->key)) == NULL ||
		    model_add(m, &t) == -1) {
			snprintf(s->message, sizeof(s->message), "%s: tensor "
			    "\"%s\": %s", rpc, e->key, errno == EEXIST ?
			    "sent twice" : strerror(errno));
			tensor_free(&t);
			return -1;
		}
	}
	return 0;
}

/* session_state - a ClientState naming this site and its token */
static void
session_state(struct session *s, Fedlearn__ClientState *state,
    Fedlearn__MetaData *meta, Fedlearn__Project *project)
{
	fedlearn__project__init(project);
	fedlearn__meta_data__init(meta);
	fedlearn__client_state__init(state);
	project->name = s->kit->project;
	meta->project = project;
	state->meta = meta;
	state->client_name = s->kit->site;
	state->token = s->token;
}

int
session_get_model(struct session *s, struct model *global,
    struct session_round *round)
{
	Fedlearn__ClientState	 state = FEDLEARN__CLIENT_STATE__INIT;
	Fedlearn__MetaData	 meta = FEDLEARN__META_DATA__INIT;
	Fedlearn__Project	 project = FEDLEARN__PROJECT__INIT;
	Fedlearn__CurrentModel	*cm = NULL;
	struct grpc_reply	 reply;
	int			 rc;

	memset(global, 0, sizeof(*global));
	session_state(s, &state, &meta, &project);
	if ((rc = session_call(s, "GetModel", 1, &state.base,
	    SESSION_MODEL_TIMEOUT, &reply)) != FL_OK)
		goto done;

	if ((cm = fedlearn__current_model__unpack(NULL, reply.len,
	    reply.body)) == NULL) {
		rc = session_malformed(s, "GetModel", "CurrentModel");
		goto done;
	}
	/* The bytes are no longer needed: halve the peak memory. */
	grpc_client_reply_free(&reply);
	if (cm->meta == NULL) {
		snprintf(s->message, sizeof(s->message), "GetModel: the "
		    "server's model does not say its round");
		rc = -1;
		goto done;
	}
	round->round = cm->meta->current_round;
	round->num_rounds = cm->meta->num_rounds;
	round->run = cm->meta->run_number;
	if (session_decode(s, "GetModel", cm->data, global) == -1) {
		model_free(global);
		rc = -1;
	}

 done:
	if (cm != NULL)
		fedlearn__current_model__free_unpacked(cm, NULL);
	grpc_client_reply_free(&reply);
	return rc;
}

/*
 * session_encode - one tensor as .npy bytes: local - global for an
 * update, local itself when global is NULL.
 */
static int
session_encode(const struct tensor *g, const struct tensor *l,
    Fedlearn__NDArray *nd)
{
	struct tensor	 d;
	size_t		 i;

	if (tensor_alloc(&d, NULL, l->dtype, l->ndim, l->shape) == -1)
		return -1;
	if (g == NULL)
		memcpy(d.data, l->data, l->count * dtype_size(l->dtype));
	else
		for (i = 0; i < d.count; i++)
			tensor_set(&d, i, tensor_get(l, i) - tensor_get(g, i));
	nd->ndarray.len = npy_size(&d);
	if ((nd->ndarray.data = malloc(nd->ndarray.len)) == NULL) {
		tensor_free(&d);
		return -1;
	}
	npy_write(&d, nd->ndarray.data);
	tensor_free(&d);
	return 0;
}

struct session_update {
	Fedlearn__ModelData			 data;
	Fedlearn__ModelData__ParamsEntry	*entries;
	Fedlearn__NDArray			*arrays;
	size_t					 count;
};

static void
session_update_free(struct session_update *u)
{
	size_t	 i;

	for (i = 0; i < u->count && u->arrays != NULL; i++)
		free(u->arrays[i].ndarray.data);
	free(u->arrays);
	free(u->entries);
	free(u->data.params);
	memset(u, 0, sizeof(*u));
}

/*
 * session_update_build - the ModelData of local - global, for each of
 * global's tensors; of local's tensors as they are when global is NULL.
 */
static int
session_update_build(struct session_update *u, const struct model *global,
    const struct model *local)
{
	const struct model	*names = global != NULL ? global : local;
	const struct tensor	*g, *l;
	size_t			 i, n = names->count;

	memset(u, 0, sizeof(*u));
	fedlearn__model_data__init(&u->data);
	u->count = n;
	if ((u->data.params = calloc(n, sizeof(*u->data.params))) == NULL ||
	    (u->entries = calloc(n, sizeof(*u->entries))) == NULL ||
	    (u->arrays = calloc(n, sizeof(*u->arrays))) == NULL)
		return -1;
	u->data.n_params = n;
	for (i = 0; i < n; i++) {
		g = global != NULL ? &global->tensors[i] : NULL;
		l = global != NULL ? model_find(local, g->name) :
		    &local->tensors[i];
		if (l == NULL || (g != NULL && (!tensor_same_shape(g, l) ||
		    l->dtype != g->dtype))) {
			errno = EINVAL;
			return -1;
		}
		fedlearn__ndarray__init(&u->arrays[i]);
		fedlearn__model_data__params_entry__init(&u->entries[i]);
		u->entries[i].key = l->name;
		u->entries[i].value = &u->arrays[i];
		u->data.params[i] = &u->entries[i];
		if (session_encode(g, l, &u->arrays[i]) == -1)
			return -1;
	}
	return 0;
}

int
session_submit(struct session *s, const struct session_round *round,
    const struct model *global, const struct model *local, int64_t n_iter)
{
	Fedlearn__Contribution	 contrib = FEDLEARN__CONTRIBUTION__INIT;
	Fedlearn__ClientState	 state = FEDLEARN__CLIENT_STATE__INIT;
	Fedlearn__MetaData	 meta = FEDLEARN__META_DATA__INIT;
	Fedlearn__Project	 project = FEDLEARN__PROJECT__INIT;
	struct session_update	 update;
	struct grpc_reply	 reply;
	int			 rc;

	if (session_update_build(&update, global, local) == -1) {
		snprintf(s->message, sizeof(s->message), "SubmitUpdate: "
		    "cannot encode the update: %s", strerror(errno));
		session_update_free(&update);
		return -1;
	}
	session_state(s, &state, &meta, &project);
	meta.current_round = round->round;
	meta.num_rounds = round->num_rounds;
	meta.run_number = round->run;
	contrib.client = &state;
	contrib.n_iter = n_iter;
	contrib.type = "delta_w";
	contrib.data = &update.data;

	rc = session_call(s, "SubmitUpdate", 1, &contrib.base,
	    SESSION_MODEL_TIMEOUT, &reply);
	session_update_free(&update);
	grpc_client_reply_free(&reply);
	return rc;
}

int
session_quit(struct session *s)
{
	Fedlearn__ClientState	 state = FEDLEARN__CLIENT_STATE__INIT;
	Fedlearn__MetaData	 meta = FEDLEARN__META_DATA__INIT;
	Fedlearn__Project	 project = FEDLEARN__PROJECT__INIT;
	struct grpc_reply	 reply;
	int			 rc;

	if (s->token[0] == '\0')
		return FL_OK;
	session_state(s, &state, &meta, &project);
	rc = session_call(s, "Quit", 1, &state.base, SESSION_SHORT_TIMEOUT,
	    &reply);
	grpc_client_reply_free(&reply);
	pthread_mutex_lock(&s->lock);
	explicit_bzero(s->token, sizeof(s->token));
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* session_owner_ok - an owner's name we are willing to log and send */
static int
session_owner_ok(const char *owner)
{
	size_t	 i, len = strlen(owner);

	if (len > SESSION_OWNER_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (owner[i] <= 0x20 || owner[i] >= 0x7f)
			return 0;
	return 1;
}

int
session_submit_best(struct session *s, const struct model *m,
    const struct session_metric *metrics, size_t n)
{
	Fedlearn__LocalModel			 lm;
	Fedlearn__LocalModel__MetricsEntry	 e[SESSION_METRICS_MAX];
	Fedlearn__LocalModel__MetricsEntry	*ep[SESSION_METRICS_MAX];
	Fedlearn__ClientState			 state;
	Fedlearn__MetaData			 meta;
	Fedlearn__Project			 project;
	struct session_update			 model;
	struct grpc_reply			 reply;
	size_t					 i;
	int					 rc;

	if (n > SESSION_METRICS_MAX || session_update_build(&model, NULL,
	    m) == -1) {
		snprintf(s->message, sizeof(s->message), "SubmitBestLocal"
		    "Model: cannot encode the model: %s", n >
		    SESSION_METRICS_MAX ? "too many metrics" :
		    strerror(errno));
		session_update_free(&model);
		return -1;
	}
	for (i = 0; i < n; i++) {
		fedlearn__local_model__metrics_entry__init(&e[i]);
		e[i].key = (char *)metrics[i].name;
		e[i].value = metrics[i].value;
		ep[i] = &e[i];
	}
	fedlearn__local_model__init(&lm);
	session_state(s, &state, &meta, &project);
	lm.client = &state;
	lm.data = &model.data;
	lm.n_metrics = n;
	lm.metrics = ep;
	rc = session_call(s, "SubmitBestLocalModel", 1, &lm.base,
	    SESSION_MODEL_TIMEOUT, &reply);
	session_update_free(&model);
	grpc_client_reply_free(&reply);
	return rc;
}

/* session_validation_take - a ValidationModel's owner and tensors */
static int
session_validation_take(struct session *s,
    const Fedlearn__ValidationModel *vm, struct model *m,
    char owner[SESSION_OWNER_MAX + 1], int *more)
{
	const char	*rpc = "GetValidationModels";

	*more = vm->more_available;
	if (!session_owner_ok(vm->owner)) {
		snprintf(s->message, sizeof(s->message), "%s: the model's "
		    "owner is too long or unprintable", rpc);
		return -1;
	}
	snprintf(owner, SESSION_OWNER_MAX + 1, "%s", vm->owner);
	if (owner[0] == '\0') {
		if (vm->data != NULL && vm->data->n_params != 0) {
			snprintf(s->message, sizeof(s->message), "%s: the "
			    "server sent a model without an owner", rpc);
			return -1;
		}
		return 0;
	}
	if (session_decode(s, rpc, vm->data, m) == -1) {
		model_free(m);
		return -1;
	}
	return 0;
}

int
session_validation_model(struct session *s, struct model *m,
    char owner[SESSION_OWNER_MAX + 1], int *more)
{
	Fedlearn__ClientState		 state = FEDLEARN__CLIENT_STATE__INIT;
	Fedlearn__MetaData		 meta = FEDLEARN__META_DATA__INIT;
	Fedlearn__Project		 project = FEDLEARN__PROJECT__INIT;
	Fedlearn__ValidationModel	*vm;
	struct grpc_reply		 reply;
	int				 rc;

	memset(m, 0, sizeof(*m));
	owner[0] = '\0';
	*more = 0;
	session_state(s, &state, &meta, &project);
	if ((rc = session_call(s, "GetValidationModels", 1, &state.base,
	    SESSION_MODEL_TIMEOUT, &reply)) != FL_OK) {
		grpc_client_reply_free(&reply);
		return rc;
	}
	vm = fedlearn__validation_model__unpack(NULL, reply.len, reply.body);
	grpc_client_reply_free(&reply);
	if (vm == NULL)
		return session_malformed(s, "GetValidationModels",
		    "ValidationModel");
	rc = session_validation_take(s, vm, m, owner, more);
	fedlearn__validation_model__free_unpacked(vm, NULL);
	return rc == -1 ? -1 : FL_OK;
}

int
session_submit_results(struct session *s, const char *owner,
    const struct session_metric *metrics, size_t n)
{
	Fedlearn__ValidationResults		  vr;
	Fedlearn__ValidationResults__MetricsEntry e[SESSION_METRICS_MAX];
	Fedlearn__ValidationResults__MetricsEntry *ep[SESSION_METRICS_MAX];
	Fedlearn__ClientState			  state;
	Fedlearn__MetaData			  meta;
	Fedlearn__Project			  project;
	struct grpc_reply			  reply;
	size_t					  i;
	int					  rc;

	if (n > SESSION_METRICS_MAX) {
		snprintf(s->message, sizeof(s->message),
		    "SubmitCrossSiteValidationResults: too many metrics");
		return -1;
	}
	for (i = 0; i < n; i++) {
		fedlearn__validation_results__metrics_entry__init(&e[i]);
		e[i].key = (char *)metrics[i].name;
		e[i].value = metrics[i].value;
		ep[i] = &e[i];
	}
	fedlearn__validation_results__init(&vr);
	session_state(s, &state, &meta, &project);
	vr.client = &state;
	vr.owner = (char *)owner;
	vr.n_metrics = n;
	vr.metrics = ep;
	rc = session_call(s, "SubmitCrossSiteValidationResults", 1, &vr.base,
	    SESSION_SHORT_TIMEOUT, &reply);
	grpc_client_reply_free(&reply);
	return rc;
}

int
session_token_copy(struct session *s, char token[SESSION_TOKEN_MAX + 1],
    uint64_t *gen)
{
	int	 rc = -1;

	pthread_mutex_lock(&s->lock);
	if (s->token[0] != '\0') {
		memcpy(token, s->token, SESSION_TOKEN_MAX + 1);
		*gen = s->token_gen;
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void
session_token_refused(struct session *s, uint64_t gen)
{
	pthread_mutex_lock(&s->lock);
	if (gen == s->token_gen)
		s->refused_gen = gen;
	pthread_mutex_unlock(&s->lock);
}

int
session_token_dead(struct session *s)
{
	int	 dead;

	pthread_mutex_lock(&s->lock);
	dead = s->token[0] != '\0' && s->refused_gen == s->token_gen;
	pthread_mutex_unlock(&s->lock);
	return dead;
}

/* session_beat - one Heartbeat; failures are only reported */
static void
session_beat(struct session *s, char *token)
{
	Fedlearn__Token		 msg = FEDLEARN__TOKEN__INIT;
	struct grpc_reply	 reply;
	uint8_t			*buf;
	size_t			 len;

	msg.token = token;
	msg.client_name = s->kit->site;
	if ((buf = session_pack(&msg.base, &len)) == NULL) {
		log_warn("heartbeat");
		return;
	}
	if (grpc_client_call(s->grpc, SESSION_SERVICE "Heartbeat", token, buf,
	    len, SESSION_BEAT_TIMEOUT, &reply) == -1)
		log_warnx("heartbeat: the call failed");
	else if (reply.status != FL_OK)
		log_warnx("heartbeat: %s: %s", session_code_name(reply.status),
		    reply.message);
	else
		log_debug("heartbeat sent");
	grpc_client_reply_free(&reply);
	free(buf);
}

/* session_beat_loop - the heartbeat thread: beat until told to stop */
static void *
session_beat_loop(void *arg)
{
	struct session	*s = arg;
	struct timespec	 next;
	char		 token[SESSION_TOKEN_MAX + 1];

	pthread_mutex_lock(&s->lock);
	while (!s->beat_stop) {
		clock_gettime(CLOCK_MONOTONIC, &next);
		next.tv_sec += s->beat_seconds;
		while (!s->beat_stop && pthread_cond_timedwait(&s->beat_cond,
		    &s->lock, &next) != ETIMEDOUT)
			;
		if (s->beat_stop || s->token[0] == '\0')
			continue;
		memcpy(token, s->token, sizeof(token));
		pthread_mutex_unlock(&s->lock);
		session_beat(s, token);
		explicit_bzero(token, sizeof(token));
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int
session_heartbeat_start(struct session *s, int seconds)
{
	s->beat_seconds = seconds;
	s->beat_stop = 0;
	if ((errno = pthread_create(&s->beat_thread, NULL, session_beat_loop,
	    s)) != 0)
		return -1;
	s->beat_running = 1;
	return 0;
}

void
session_heartbeat_stop(struct session *s)
{
	if (!s->beat_running)
		return;
	pthread_mutex_lock(&s->lock);
	s->beat_stop = 1;
	pthread_cond_signal(&s->beat_cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->beat_thread, NULL);
	s->beat_running = 0;
}
