/*
 * config - the two JSON files that configure a server, as in Clara:
 * the startup kit's fed_server.json (who and where the server is) and
 * the training configuration config_fed_server.json (how to train).
 * Also the list of the project's sites, read from the "sites" object of
 * the startup kit's authorization.json, the one place that names them.
 *
 * Loaders refuse wrong types and out-of-range values naming the key, and
 * warn about unknown keys. They never exit.
 */
#ifndef FL_CONFIG_H
#define FL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_ERR_MAX	512

struct server_config {
	char	*name;			/* the project (task) name */
	char	*target;		/* "host:port" of the training port */
	size_t	 max_send_message;	/* grpc.max_send_message_length */
	size_t	 max_receive_message;	/* grpc.max_receive_message_length */
	char	*ssl_private_key;	/* absolute paths, resolved against */
	char	*ssl_cert;		/* the startup folder */
	char	*ssl_root_cert;
	char	*admin_host;
	int	 admin_port;
	char	*admin_storage;
	char	**admin_cns;		/* admins accepted; none: any */
	size_t	 nadmin_cns;
	size_t	 admin_max_transmission; /* one command: 64 MiB */
	int	 admin_idle_timeout;	/* seconds without a byte: 30 */
};

/* How rounds run: Clara's FederatedServer, RoundRobinFederatedServer,
 * TestFederatedServer. */
enum server_type {
	SERVER_FEDERATED,		/* all sites train, updates averaged */
	SERVER_ROUND_ROBIN,		/* the model goes from site to site */
	SERVER_VALIDATION_ONLY		/* no rounds: cross-site validation */
};

struct aggregation_weight {
	char	*site;
	double	 weight;
};

struct train_config {
	int			 min_num_clients;	/* 1 */
	int			 max_num_clients;	/* 100 */
	double			 wait_after_min_clients; /* 10 s */
	double			 heart_beat_timeout;	/* 600 s */
	int64_t			 start_round;		/* 0 */
	int64_t			 num_rounds;		/* -1: never stop */
	char			*exclude_vars;		/* PCRE2 source or NULL */
	void			*exclude_re;		/* pcre2_code *, or NULL */
	char			*ckpt_preload_path;	/* resolved */
	char			*aggregator;		/* aggregator.name */
	struct aggregation_weight *weights;
	size_t			 nweights;
	int			 keep_round_models;	/* model_saver.args */
	enum server_type	 server_type;		/* federated */
	int			 cross_site_validation;	/* false */
	int			 has_round_robin_seed;
	uint64_t		 round_robin_seed;	/* else random */
};

/*
 * Message limits default to 1 GB as Clara's; paths are resolved against
 * the file's folder. admin_max_transmission is 1 to 64 MiB: admind
 * takes no larger command.
 */
int	server_config_load(const char *path, struct server_config *,
	    char err[CONFIG_ERR_MAX]);
void	server_config_free(struct server_config *);

/*
 * sites (may be NULL) are the project's site names: aggregation weights
 * for any other name are refused. Relative ckpt_preload_path is resolved
 * against the configuration file's folder.
 */
int	train_config_load(const char *path, char *const *sites, size_t nsites,
	    struct train_config *, char err[CONFIG_ERR_MAX]);
void	train_config_free(struct train_config *);
/* "federated", "round_robin" or "validation_only". */
const char *train_config_server_type(const struct train_config *);
/* 1 if name matches exclude_vars (searched, not anchored), else 0. */
int	train_config_excluded(const struct train_config *, const char *name);
/* The aggregation weight of site: 1.0 when the map does not name it. */
double	train_config_weight(const struct train_config *, const char *site,
	    int *named);

/* The project's site names from authorization.json's "sites" object,
 * without "server". */
int	project_sites_load(const char *authz_path, char ***sites,
	    size_t *nsites, char err[CONFIG_ERR_MAX]);
void	project_sites_free(char **sites, size_t nsites);

#endif
