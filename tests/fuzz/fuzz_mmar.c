/*
 * fuzz_mmar - an uploaded MMAR archive on arbitrary bytes: mmar_unpack
 * into a staging folder, then mmar_validate on what it accepts.
 *
 * What must hold whatever the bytes: a refused archive leaves no
 * staging folder; an accepted one is removed whole by mmar_remove; and
 * nothing else ever appears in the folder that holds the staging
 * folder, where a "../" that got through would land.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mmar.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Small caps, so that a bomb costs milliseconds, not the run. */
static const struct mmar_limits	fuzz_mmar_limits = {
	.ml_entries = 256,
	.ml_file_bytes = 1 << 20,
	.ml_total_bytes = 4 << 20,
	.ml_ratio = 100,
	.ml_ratio_floor = 1 << 20,
};

static char	 fuzz_mmar_parent[64];
static char	 fuzz_mmar_staging[96];

static void
fuzz_mmar_cleanup(void)
{
	rmdir(fuzz_mmar_parent);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(fuzz_mmar_parent, sizeof(fuzz_mmar_parent),
	    "/tmp/fuzz_mmar.XXXXXX");
	if (mkdtemp(fuzz_mmar_parent) == NULL)
		abort();
	snprintf(fuzz_mmar_staging, sizeof(fuzz_mmar_staging), "%s/staging",
	    fuzz_mmar_parent);
	atexit(fuzz_mmar_cleanup);
	return 0;
}

/* fuzz_mmar_empty - the parent folder holds nothing */
static int
fuzz_mmar_empty(void)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir(fuzz_mmar_parent)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 err[MMAR_ERR_MAX];
	int	 byoc;

	if (mmar_unpack(data, size, fuzz_mmar_staging, &fuzz_mmar_limits,
	    err, sizeof(err)) == 0) {
		if (mmar_validate(fuzz_mmar_staging, err, sizeof(err),
		    &byoc) == -1 && err[0] == '\0')
			abort();
		if (mmar_remove(fuzz_mmar_staging) == -1)
			abort();
	} else if (err[0] == '\0')
		abort();
	if (!fuzz_mmar_empty())
		abort();
	return 0;
}
