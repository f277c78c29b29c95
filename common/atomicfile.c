/*
 * atomicfile - files that are replaced whole or not at all.
 *
 * Used for every small file a daemon rewrites while it runs (provenance
 * records, checkpoints, the operator's status view); model files go
 * through npz.c, which streams through libarchive but ends the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"

int
atomicfile_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
atomicfile_sync_dir(const char *path)
{
	char	 dir[PATH_MAX], *slash;
	int	 fd, rv, saved;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rv = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rv;
}

int
atomicfile_replace(const char *path, const void *buf, size_t len)
{
	char	 tmp[PATH_MAX];
	int	 fd, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkstemp(tmp)) == -1)
		return -1;
	if (atomicfile_write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		goto fail;
	}
	/* The new file is in place; a folder that cannot be synced only
	 * weakens durability, so it is not an error of the write. */
	(void)atomicfile_sync_dir(path);
	return 0;

fail:
	unlink(tmp);
	errno = saved;
	return -1;
}
