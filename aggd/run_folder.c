/*
 * run_folder - a run's folder in the workspace, WORKSPACE/run_N: whether
 * it exists, whether a round of it was ever saved, and deleting it for
 * the operator's delete_run_number.
 *
 * Deleting walks the folder with descriptors (openat, unlinkat) and
 * never follows a symbolic link: a link is removed as a link, so nothing
 * outside the workspace is touched whatever the run folder holds. A
 * folder nested deeper than RUN_FOLDER_DEPTH is left alone and reported.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aggd.h"
#include "log.h"

/* Nothing aggd or admind writes nests deeper. */
#define RUN_FOLDER_DEPTH	32

/* run_folder_exists - 1 if WORKSPACE/run_N is there (any kind of file) */
int
run_folder_exists(const struct model_store *store, int64_t run)
{
	char		 path[PATH_MAX];
	struct stat	 sb;

	if (model_store_path(store, path, sizeof(path), "run_%lld",
	    (long long)run) == -1)
		return 0;
	return lstat(path, &sb) == 0;
}

/* run_folder_trained - 1 if the run has a provenance record: one of its
 * rounds was saved */
int
run_folder_trained(const struct model_store *store, int64_t run)
{
	char		 path[PATH_MAX];
	struct dirent	*de;
	DIR		*dir;
	int		 found = 0;

	if (model_store_path(store, path, sizeof(path), "run_%lld/provenance",
	    (long long)run) == -1 || (dir = opendir(path)) == NULL)
		return 0;
	while (!found && (de = readdir(dir)) != NULL)
		found = strncmp(de->d_name, "round_", 6) == 0;
	closedir(dir);
	return found;
}

static int	run_folder_empty(int dirfd, const char *where, int depth);

/* run_folder_entry - remove one entry of the folder dirfd */
static int
run_folder_entry(int dirfd, const char *name, const char *where, int depth)
{
	struct stat	 sb;
	int		 fd;

	if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		log_warn("%s/%s", where, name);
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		if (unlinkat(dirfd, name, 0) == -1) {
			log_warn("unlink %s/%s", where, name);
			return -1;
		}
		return 0;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		log_warn("%s/%s", where, name);
		return -1;
	}
	if (run_folder_empty(fd, where, depth + 1) == -1)
		return -1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) == -1) {
		log_warn("rmdir %s/%s", where, name);
		return -1;
	}
	return 0;
}

/* run_folder_empty - remove everything in the folder fd, then close it */
static int
run_folder_empty(int fd, const char *where, int depth)
{
	struct dirent	*de;
	DIR		*dir;
	int		 rv = 0;

	if (depth > RUN_FOLDER_DEPTH) {
		log_warnx("%s: folders nested deeper than %d are left alone",
		    where, RUN_FOLDER_DEPTH);
		close(fd);
		return -1;
	}
	if ((dir = fdopendir(fd)) == NULL) {
		log_warn("%s", where);
		close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (run_folder_entry(fd, de->d_name, where, depth) == -1)
			rv = -1;
	}
	closedir(dir);
	return rv;
}

/*
 * run_folder_delete - WORKSPACE/run_N and all it holds. A link in its
 * place is removed, not followed. The caller checks that the run may go.
 */
enum fl_status
run_folder_delete(const struct model_store *store, int64_t run, char *msg,
    size_t len)
{
	char	 path[PATH_MAX], name[32];
	int	 ws, fd;

	snprintf(name, sizeof(name), "run_%lld", (long long)run);
	if (model_store_path(store, path, sizeof(path), "%s", name) == -1 ||
	    (ws = open(store->workspace, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		snprintf(msg, len, "cannot open the workspace");
		return FL_INTERNAL;
	}
	fd = openat(ws, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT) {
		close(ws);
		snprintf(msg, len, "run %lld does not exist", (long long)run);
		return FL_NOT_FOUND;
	}
	if ((fd == -1 && unlinkat(ws, name, 0) == -1) ||
	    (fd != -1 && (run_folder_empty(fd, path, 0) == -1 ||
	    unlinkat(ws, name, AT_REMOVEDIR) == -1))) {
		log_warn("deleting %s", path);
		close(ws);
		snprintf(msg, len, "run %lld could not be deleted entirely",
		    (long long)run);
		return FL_INTERNAL;
	}
	close(ws);
	log_info("run %lld deleted", (long long)run);
	msg[0] = '\0';
	return FL_OK;
}
