/*
 * fuzz_proto_training - the FederatedTraining requests as aggd decodes
 * them from a site. The first byte of an input picks the message
 * (ClientLogin, ClientState, Contribution, Token, LocalModel,
 * ValidationResults); the rest is the message as it came off the wire.
 *
 * Each message is unpacked as aggd unpacks a peer's message, with
 * protobuf-c within unpack_message's memory budget, and every field a
 * handler reads is walked. A Contribution then goes through what aggd
 * does before an update reaches a round: the digest of its model data
 * found on the wire, contribution_decode against a small global model
 * of every kind of dtype (with exclude_vars and aggregation weights from
 * a real training configuration), and, when it is accepted, FedAvg's
 * sum and a new global model. Every NDArray is also decoded on its own with
 * npy_read, names the global model does not know included.
 */
#include <sys/mman.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../aggd/aggd.h"
#include "npy.h"
#include "unpack.h"

/* aggd caps a tensor at the message limit; inputs are far smaller. */
#define FUZZ_TRAINING_MAX_BYTES	(1 << 20)
#define FUZZ_TRAINING_SITE	"site-1"

enum fuzz_training_message {
	FUZZ_CLIENT_LOGIN,
	FUZZ_CLIENT_STATE,
	FUZZ_CONTRIBUTION,
	FUZZ_TOKEN,
	FUZZ_LOCAL_MODEL,
	FUZZ_VALIDATION_RESULTS,
	FUZZ_NMESSAGES
};

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct model		 fuzz_global;
static struct train_config	 fuzz_cfg;
static struct fedavg		 fuzz_acc;
static volatile size_t		 fuzz_sink;

/* The global model the updates are checked against. */
static const struct {
	const char	*name;
	enum dtype	 dtype;
	int		 ndim;
	int64_t		 shape[2];
} fuzz_tensors[] = {
	{ "conv/w", DTYPE_FLOAT32, 2, { 2, 3 } },
	{ "conv/b", DTYPE_FLOAT64, 1, { 3 } },
	{ "half", DTYPE_FLOAT16, 2, { 2, 2 } },
	{ "steps", DTYPE_INT64, 0, { 0 } },
	{ "counts", DTYPE_UINT8, 1, { 4 } },
	{ "mask", DTYPE_BOOL, 1, { 4 } },
	{ "frozen/bn", DTYPE_FLOAT32, 1, { 2 } },
};

/* exclude_vars keeps frozen/ out; site-1 weighs twice. */
static const char fuzz_training_config[] =
    "{\"servers\": [{\"min_num_clients\": 1, \"max_num_clients\": 2,"
    " \"exclude_vars\": \"^frozen/\","
    " \"ckpt_preload_path\": \"initial.npz\"}],"
    " \"aggregator\": {\"name\": \"ModelAggregator\","
    " \"args\": {\"aggregation_weights\": {\"site-1\": 2.0}}}}";

/* fuzz_training_config_load - the configuration through its loader */
static void
fuzz_training_config_load(void)
{
	char	*sites[] = { "site-1", "site-2" };
	char	 path[64], err[CONFIG_ERR_MAX];
	int	 fd;

	if ((fd = memfd_create("config_fed_server.json", MFD_CLOEXEC)) == -1 ||
	    write(fd, fuzz_training_config, strlen(fuzz_training_config)) !=
	    (ssize_t)strlen(fuzz_training_config))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (train_config_load(path, sites, 2, &fuzz_cfg, err) == -1) {
		fprintf(stderr, "fuzz_proto_training: %s\n", err);
		abort();
	}
	close(fd);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tensor	 t;
	size_t		 i;

	fuzz_training_config_load();
	for (i = 0; i < sizeof(fuzz_tensors) / sizeof(*fuzz_tensors); i++) {
		if (tensor_alloc(&t, fuzz_tensors[i].name,
		    fuzz_tensors[i].dtype, fuzz_tensors[i].ndim,
		    fuzz_tensors[i].shape) == -1 ||
		    model_add(&fuzz_global, &t) == -1)
			abort();
	}
	if (fedavg_init(&fuzz_acc, &fuzz_global, &fuzz_cfg) == -1)
		abort();
	return 0;
}

/* fuzz_training_unpack - as aggd does; a refusal must say why */
static ProtobufCMessage *
fuzz_training_unpack(const ProtobufCMessageDescriptor *desc,
    const uint8_t *wire, size_t len)
{
	ProtobufCMessage	*m;
	int			 over = -1;

	m = unpack_message(desc, len, wire, &over);
	if ((over != 0 && over != 1) || (m != NULL && over))
		abort();
	return m;
}

/* fuzz_training_string - read a string the way a handler would */
static void
fuzz_training_string(const char *s)
{
	if (s != NULL)
		fuzz_sink += strlen(s);
}

static void
fuzz_training_meta(const Fedlearn__MetaData *meta)
{
	if (meta == NULL)
		return;
	if (meta->project != NULL) {
		fuzz_training_string(meta->project->name);
		fuzz_training_string(meta->project->version);
	}
	fuzz_sink += (size_t)meta->current_round;
	fuzz_sink += (size_t)meta->num_rounds;
	fuzz_sink += (size_t)meta->run_number;
	if (meta->created != NULL)
		fuzz_sink += (size_t)meta->created->seconds;
}

static void
fuzz_training_client(const Fedlearn__ClientState *cs)
{
	if (cs == NULL)
		return;
	fuzz_training_meta(cs->meta);
	fuzz_training_string(cs->client_name);
	fuzz_training_string(cs->token);
	fuzz_sink += registry_token_wellformed(cs->token != NULL ?
	    cs->token : "");
}

/* fuzz_training_arrays - every tensor decoded on its own */
static void
fuzz_training_arrays(const Fedlearn__ModelData *data)
{
	Fedlearn__NDArray	*nd;
	struct tensor		 t;
	char			 err[NPY_ERR_MAX];
	size_t			 i;

	if (data == NULL)
		return;
	for (i = 0; i < data->n_params; i++) {
		fuzz_training_string(data->params[i]->key);
		if ((nd = data->params[i]->value) == NULL)
			continue;
		if (npy_read(nd->ndarray.data, nd->ndarray.len,
		    FUZZ_TRAINING_MAX_BYTES, &t, err) == 0)
			tensor_free(&t);
	}
}

/* fuzz_training_aggregate - an accepted update into a new model */
static void
fuzz_training_aggregate(const struct update *u)
{
	struct model	 next;
	char		 err[AGGD_MSG_MAX];
	double		 weight, aggregation_weight;
	int		 warned = 1;

	weight = fedavg_weight(&fuzz_cfg, FUZZ_TRAINING_SITE, u->n_iter,
	    &warned, &aggregation_weight);
	if (!(weight > 0) || aggregation_weight != 2.0)
		abort();
	if (fedavg_add(&fuzz_acc, &fuzz_global, u, weight,
	    FUZZ_TRAINING_SITE, err, sizeof(err)) == -1) {
		if (memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		fedavg_reset(&fuzz_acc, &fuzz_global);
		return;
	}
	if (fedavg_finalize(&fuzz_acc, &fuzz_global, u->type, &next) == -1)
		abort();
	if (next.count != fuzz_global.count)
		abort();
	model_free(&next);
	fedavg_reset(&fuzz_acc, &fuzz_global);
}

static void
fuzz_training_contribution(const uint8_t *wire, size_t len)
{
	Fedlearn__Contribution	*c;
	struct update		 u;
	char			 sha[DIGEST_HEX_LEN + 1], err[AGGD_MSG_MAX];
	int			 digest;

	digest = contribution_digest(wire, len, sha);
	if ((c = (Fedlearn__Contribution *)fuzz_training_unpack(
	    &fedlearn__contribution__descriptor, wire, len)) == NULL)
		return;
	fuzz_training_client(c->client);
	fuzz_training_string(c->type);
	fuzz_training_arrays(c->data);
	if (digest == 0 && contribution_decode(c, FUZZ_TRAINING_SITE,
	    &fuzz_global, &fuzz_cfg, CONTRIB_NONE, FUZZ_TRAINING_MAX_BYTES,
	    &u, err, sizeof(err)) == 0) {
		if (u.count != fuzz_global.count || u.n_iter <= 0)
			abort();
		fuzz_training_aggregate(&u);
		contribution_free(&u);
	} else if (digest == 0 && memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	fedlearn__contribution__free_unpacked(c, NULL);
}

static void
fuzz_training_local_model(const uint8_t *wire, size_t len)
{
	Fedlearn__LocalModel	*lm;
	size_t			 i;

	if ((lm = (Fedlearn__LocalModel *)fuzz_training_unpack(
	    &fedlearn__local_model__descriptor, wire, len)) == NULL)
		return;
	fuzz_training_client(lm->client);
	fuzz_training_arrays(lm->data);
	for (i = 0; i < lm->n_metrics; i++) {
		fuzz_training_string(lm->metrics[i]->key);
		fuzz_sink += isfinite(lm->metrics[i]->value);
	}
	fedlearn__local_model__free_unpacked(lm, NULL);
}

static void
fuzz_training_results(const uint8_t *wire, size_t len)
{
	Fedlearn__ValidationResults	*vr;
	size_t				 i;

	if ((vr = (Fedlearn__ValidationResults *)fuzz_training_unpack(
	    &fedlearn__validation_results__descriptor, wire, len)) == NULL)
		return;
	fuzz_training_client(vr->client);
	fuzz_training_string(vr->owner);
	for (i = 0; i < vr->n_metrics; i++) {
		fuzz_training_string(vr->metrics[i]->key);
		fuzz_sink += isfinite(vr->metrics[i]->value);
	}
	fedlearn__validation_results__free_unpacked(vr, NULL);
}

static void
fuzz_training_small(enum fuzz_training_message kind, const uint8_t *wire,
    size_t len)
{
	Fedlearn__ClientLogin	*login;
	Fedlearn__ClientState	*cs;
	Fedlearn__Token		*tok;

	switch (kind) {
	case FUZZ_CLIENT_LOGIN:
		if ((login = (Fedlearn__ClientLogin *)fuzz_training_unpack(
		    &fedlearn__client_login__descriptor, wire, len)) == NULL)
			return;
		fuzz_training_string(login->client_name);
		fuzz_training_string(login->token);
		fuzz_training_string(login->client_ip);
		fuzz_training_meta(login->meta);
		fedlearn__client_login__free_unpacked(login, NULL);
		break;
	case FUZZ_CLIENT_STATE:
		if ((cs = (Fedlearn__ClientState *)fuzz_training_unpack(
		    &fedlearn__client_state__descriptor, wire, len)) == NULL)
			return;
		fuzz_training_client(cs);
		fedlearn__client_state__free_unpacked(cs, NULL);
		break;
	case FUZZ_TOKEN:
		if ((tok = (Fedlearn__Token *)fuzz_training_unpack(
		    &fedlearn__token__descriptor, wire, len)) == NULL)
			return;
		fuzz_training_string(tok->token);
		fuzz_training_string(tok->client_name);
		fedlearn__token__free_unpacked(tok, NULL);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum fuzz_training_message	 kind;

	if (size == 0)
		return 0;
	kind = data[0] % FUZZ_NMESSAGES;
	data++;
	size--;
	switch (kind) {
	case FUZZ_CONTRIBUTION:
		fuzz_training_contribution(data, size);
		break;
	case FUZZ_LOCAL_MODEL:
		fuzz_training_local_model(data, size);
		break;
	case FUZZ_VALIDATION_RESULTS:
		fuzz_training_results(data, size);
		break;
	default:
		fuzz_training_small(kind, data, size);
		break;
	}
	return 0;
}
