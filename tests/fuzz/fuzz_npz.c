/*
 * fuzz_npz - npz_load on arbitrary bytes, as aggd reads the initial
 * global model (ckpt_preload_path) and its own checkpoints.
 *
 * npz_load takes a path: the input goes into a memory file that is read
 * back through /proc/self/fd, so nothing touches the disk. A model that
 * loads must hold at least one tensor, each with a name and no more data
 * than the cap allows in all.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npz.h"

#define FUZZ_NPZ_CAP	(1 << 20)

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 fuzz_npz_fd = -1;
static char	 fuzz_npz_path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if ((fuzz_npz_fd = memfd_create("fuzz_npz", MFD_CLOEXEC)) == -1)
		abort();
	snprintf(fuzz_npz_path, sizeof(fuzz_npz_path), "/proc/self/fd/%d",
	    fuzz_npz_fd);
	return 0;
}

/* fuzz_npz_check - what a loaded model promises */
static void
fuzz_npz_check(const struct model *m)
{
	size_t	 i, total = 0;

	if (m->count == 0)
		abort();
	for (i = 0; i < m->count; i++) {
		if (m->tensors[i].name == NULL ||
		    m->tensors[i].name[0] == '\0')
			abort();
		total += m->tensors[i].count * dtype_size(m->tensors[i].dtype);
	}
	if (total > FUZZ_NPZ_CAP)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model	 m;
	char		 err[NPZ_ERR_MAX];

	if (ftruncate(fuzz_npz_fd, 0) == -1 ||
	    pwrite(fuzz_npz_fd, data, size, 0) != (ssize_t)size)
		abort();
	if (npz_load(fuzz_npz_path, FUZZ_NPZ_CAP, &m, err) == 0) {
		fuzz_npz_check(&m);
		model_free(&m);
	}
	return 0;
}
