/*
 * fuzz_config - the JSON loaders on arbitrary bytes: the startup kit's
 * fed_server.json (server_config_load), a training configuration
 * (train_config_load, whose exclude_vars goes to PCRE2) and the sites of
 * authorization.json (project_sites_load).
 *
 * The loaders take a path: the input goes into a memory file read back
 * through /proc/self/fd. What loads must hold what the daemons rely on
 * without checking again.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 fuzz_config_fd = -1;
static char	 fuzz_config_path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if ((fuzz_config_fd = memfd_create("fuzz_config.json",
	    MFD_CLOEXEC)) == -1)
		abort();
	snprintf(fuzz_config_path, sizeof(fuzz_config_path),
	    "/proc/self/fd/%d", fuzz_config_fd);
	return 0;
}

static void
fuzz_config_server(void)
{
	struct server_config	 sc;
	char			 err[CONFIG_ERR_MAX];

	if (server_config_load(fuzz_config_path, &sc, err) == -1)
		return;
	if (sc.name == NULL || sc.target == NULL ||
	    sc.ssl_private_key == NULL || sc.ssl_cert == NULL ||
	    sc.ssl_root_cert == NULL || sc.ssl_private_key[0] != '/')
		abort();
	server_config_free(&sc);
}

static void
fuzz_config_train(void)
{
	static const char	*names[] = {
		"conv/w", "frozen/bn", "", "\xff"
	};
	char			*sites[] = { "site-1", "site-2" };
	struct train_config	 tc;
	char			 err[CONFIG_ERR_MAX];
	size_t			 i;

	if (train_config_load(fuzz_config_path, sites, 2, &tc, err) == -1)
		return;
	if (tc.min_num_clients < 1 || tc.max_num_clients < 1 ||
	    tc.ckpt_preload_path == NULL || tc.ckpt_preload_path[0] != '/')
		abort();
	for (i = 0; i < tc.nweights; i++)
		if (!(tc.weights[i].weight >= 0) ||
		    (strcmp(tc.weights[i].site, sites[0]) != 0 &&
		    strcmp(tc.weights[i].site, sites[1]) != 0))
			abort();
	for (i = 0; i < sizeof(names) / sizeof(*names); i++)
		(void)train_config_excluded(&tc, names[i]);
	train_config_free(&tc);
}

static void
fuzz_config_sites(void)
{
	char	**sites, err[CONFIG_ERR_MAX];
	size_t	  nsites, i;

	if (project_sites_load(fuzz_config_path, &sites, &nsites, err) == -1)
		return;
	for (i = 0; i < nsites; i++)
		if (sites[i] == NULL || sites[i][0] == '\0' ||
		    strcmp(sites[i], "server") == 0)
			abort();
	project_sites_free(sites, nsites);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(fuzz_config_fd, 0) == -1 ||
	    pwrite(fuzz_config_fd, data, size, 0) != (ssize_t)size)
		abort();
	fuzz_config_server();
	fuzz_config_train();
	fuzz_config_sites();
	return 0;
}
