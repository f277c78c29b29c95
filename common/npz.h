/*
 * npz - models on disk as NumPy .npz files (a zip archive of .npy
 * members, one per tensor, named "<tensor>.npy"), read and written with
 * libarchive.
 *
 * Writing is atomic: a temporary file in the same folder, fsync'd, then
 * renamed over the target and the folder fsync'd, so a crash or a full
 * disk never leaves a broken model behind.
 */
#ifndef FL_NPZ_H
#define FL_NPZ_H

#include <stddef.h>

#include "tensor.h"

#define NPZ_ERR_MAX	512

/* Read path into m. max_bytes caps the sum of tensor sizes. */
int	npz_load(const char *path, size_t max_bytes, struct model *m,
	    char err[NPZ_ERR_MAX]);
/* Write m to path atomically. Returns 0, or -1 with errno-style reason. */
int	npz_save(const char *path, const struct model *m,
	    char err[NPZ_ERR_MAX]);

#endif
