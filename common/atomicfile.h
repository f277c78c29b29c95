/*
 * atomicfile - files that are replaced whole or not at all: written to a
 * temporary name in the same folder, fsync'd, renamed over the target,
 * and the folder fsync'd, so that a crash or a full disk leaves either
 * the old file or the new one, never a part.
 */
#ifndef FL_ATOMICFILE_H
#define FL_ATOMICFILE_H

#include <stddef.h>

/* All of buf to fd, across short writes and EINTR. 0, or -1 and errno. */
int	atomicfile_write_all(int fd, const void *buf, size_t len);
/* fsync the folder that holds path, so that a rename in it is durable. */
int	atomicfile_sync_dir(const char *path);
/*
 * Replace path with len bytes of buf (a new file is 0600). 0, or -1 with
 * errno set, the temporary file removed and path untouched.
 */
int	atomicfile_replace(const char *path, const void *buf, size_t len);

#endif
