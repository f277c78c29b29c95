/*
 * mmar - unpack an uploaded MMAR archive from memory into a staging
 * folder, or refuse it whole.
 *
 * libarchive reads the archive; this file writes it. Every file and
 * folder is created relative to the staging folder's descriptor, one
 * name part at a time, with O_NOFOLLOW and O_EXCL: since no link is
 * ever written and names are checked first, nothing can land outside
 * the staging folder, and a name that comes twice is refused rather
 * than written over. Sizes are counted as the data comes out of the
 * decompressor, so that a bomb is stopped while it expands.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "atomicfile.h"
#include "mmar.h"

#define MMAR_BLOCK		(64 * 1024)
#define MMAR_FILE_MODE		0640
#define MMAR_DIR_MODE		0750
#define MMAR_SHOWN		80	/* of a name quoted in an error */
#define MMAR_REMOVE_DEPTH	64

const struct mmar_limits	mmar_limits_default = {
	.ml_entries = 4096,
	.ml_file_bytes = (uint64_t)512 << 20,
	.ml_total_bytes = (uint64_t)1 << 30,
	.ml_ratio = 100,
	.ml_ratio_floor = (uint64_t)1 << 20,
};

struct mmar_unpack {
	struct archive			*mu_ar;
	int				 mu_root;	/* staging folder */
	const struct mmar_limits	*mu_lim;
	size_t				 mu_len;	/* archive */
	size_t				 mu_entries;
	uint64_t			 mu_total;	/* unpacked bytes */
	char				*mu_buf;
	char				 mu_name[MMAR_NAME_MAX + 1];
	char				*mu_err;
	size_t				 mu_errlen;
};

static int	mmar_fail(struct mmar_unpack *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
mmar_fail(struct mmar_unpack *mu, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(mu->mu_err, mu->mu_errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* mmar_shown - a printable, bounded copy of a name from the archive */
static void
mmar_shown(const char *in, char out[MMAR_SHOWN + 1])
{
	size_t	 i;

	for (i = 0; in[i] != '\0' && i < MMAR_SHOWN; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}

/* mmar_parts - every part of name is a plain name, not too deep */
static int
mmar_parts(struct mmar_unpack *mu, const char *name)
{
	const char	*p = name, *slash;
	size_t		 len, depth = 0;

	for (;;) {
		slash = strchr(p, '/');
		len = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (len == 0)
			return mmar_fail(mu, "archive entry %s: an empty part "
			    "in its name", name);
		if (len == 1 && p[0] == '.')
			return mmar_fail(mu, "archive entry %s: '.' in its "
			    "name", name);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return mmar_fail(mu, "archive entry %s: '..' is not "
			    "allowed", name);
		if (slash == NULL)
			return 0;
		if (++depth > MMAR_DEPTH_MAX)
			return mmar_fail(mu, "archive entry %s: more than %d "
			    "folders deep", name, MMAR_DEPTH_MAX);
		p = slash + 1;
	}
}

/*
 * mmar_name - the entry's name, checked, into mu_name; *skip when it is
 * the archive's own top folder ("." or "./")
 */
static int
mmar_name(struct mmar_unpack *mu, const char *raw, int *skip)
{
	char	 shown[MMAR_SHOWN + 1];
	size_t	 len;

	*skip = 0;
	if (raw == NULL)
		return mmar_fail(mu, "an archive entry has no usable name");
	if (strncmp(raw, "./", 2) == 0)
		raw += 2;
	len = strlen(raw);
	if (len > 0 && raw[len - 1] == '/')
		len--;
	if (len == 0 || (len == 1 && raw[0] == '.')) {
		*skip = 1;
		return 0;
	}
	mmar_shown(raw, shown);
	if (len > MMAR_NAME_MAX)
		return mmar_fail(mu, "archive entry %s...: a name longer than "
		    "%d characters", shown, MMAR_NAME_MAX);
	if (raw[0] == '/')
		return mmar_fail(mu, "archive entry %s: an absolute name",
		    shown);
	if (strspn(raw, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._/-") < len)
		return mmar_fail(mu, "archive entry %s: only letters, digits "
		    "and . _ - / are allowed in names", shown);
	memcpy(mu->mu_name, raw, len);
	mu->mu_name[len] = '\0';
	return mmar_parts(mu, mu->mu_name);
}

/* mmar_kind - AE_IFREG or AE_IFDIR, or -1 having said what else */
static int
mmar_kind(struct mmar_unpack *mu, struct archive_entry *e)
{
	if (archive_entry_hardlink(e) != NULL)
		return mmar_fail(mu, "archive entry %s: a hard link",
		    mu->mu_name);
	if (archive_entry_symlink(e) != NULL ||
	    archive_entry_filetype(e) == AE_IFLNK)
		return mmar_fail(mu, "archive entry %s: a symbolic link",
		    mu->mu_name);
	if (archive_entry_filetype(e) != AE_IFREG &&
	    archive_entry_filetype(e) != AE_IFDIR)
		return mmar_fail(mu, "archive entry %s: a device or special "
		    "file", mu->mu_name);
	if (archive_entry_is_encrypted(e))
		return mmar_fail(mu, "archive entry %s: encrypted",
		    mu->mu_name);
	return (int)archive_entry_filetype(e);
}

/* mmar_twice - the refusal of a name already unpacked */
static int
mmar_twice(struct mmar_unpack *mu)
{
	return mmar_fail(mu, "archive entry %s: its name comes twice, or a "
	    "file and a folder share it", mu->mu_name);
}

/*
 * mmar_parent - the folder that holds the entry, its folders made as
 * needed; its descriptor, *leaf the last part of the name
 */
static int
mmar_parent(struct mmar_unpack *mu, char *name, char **leaf)
{
	char	*p = name, *slash;
	int	 fd, next, saved;

	if ((fd = openat(mu->mu_root, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return mmar_fail(mu, "staging folder: %s", strerror(errno));
	while ((slash = strchr(p, '/')) != NULL) {
		*slash = '\0';
		if (mkdirat(fd, p, MMAR_DIR_MODE) == -1 && errno != EEXIST)
			next = -1;
		else
			next = openat(fd, p, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		saved = errno;
		*slash = '/';
		close(fd);
		if (next == -1)
			return saved == ENOTDIR || saved == ELOOP ?
			    mmar_twice(mu) : mmar_fail(mu, "archive entry %s: "
			    "%s", mu->mu_name, strerror(saved));
		fd = next;
		p = slash + 1;
	}
	*leaf = p;
	return fd;
}

static int
mmar_folder(struct mmar_unpack *mu)
{
	struct stat	 st;
	char		 name[MMAR_NAME_MAX + 1], *leaf;
	int		 fd, rc = 0;

	memcpy(name, mu->mu_name, sizeof(name));
	if ((fd = mmar_parent(mu, name, &leaf)) == -1)
		return -1;
	if (mkdirat(fd, leaf, MMAR_DIR_MODE) == -1) {
		if (errno != EEXIST)
			rc = mmar_fail(mu, "archive entry %s: %s", mu->mu_name,
			    strerror(errno));
		else if (fstatat(fd, leaf, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISDIR(st.st_mode))
			rc = mmar_twice(mu);
	}
	close(fd);
	return rc;
}

/* mmar_count - n more bytes of the entry: refused past any cap */
static int
mmar_count(struct mmar_unpack *mu, uint64_t *file, size_t n)
{
	const struct mmar_limits	*lim = mu->mu_lim;

	*file += n;
	mu->mu_total += n;
	if (*file > lim->ml_file_bytes)
		return mmar_fail(mu, "archive entry %s: larger than %" PRIu64
		    " bytes", mu->mu_name, lim->ml_file_bytes);
	if (mu->mu_total > lim->ml_total_bytes)
		return mmar_fail(mu, "archive entry %s: the archive unpacks "
		    "to more than %" PRIu64 " bytes", mu->mu_name,
		    lim->ml_total_bytes);
	if (mu->mu_total > lim->ml_ratio_floor &&
	    mu->mu_total / lim->ml_ratio > mu->mu_len)
		return mmar_fail(mu, "archive entry %s: %" PRIu64 " bytes "
		    "unpacked from %zu, more than %" PRIu64 " times as many "
		    "(a compression bomb?)", mu->mu_name, mu->mu_total,
		    mu->mu_len, lim->ml_ratio);
	return 0;
}

/* mmar_data - the entry's data into fd, counted as it comes */
static int
mmar_data(struct mmar_unpack *mu, int fd)
{
	uint64_t	 file = 0;
	la_ssize_t	 n;

	while ((n = archive_read_data(mu->mu_ar, mu->mu_buf,
	    MMAR_BLOCK)) != 0) {
		if (n < 0)
			return mmar_fail(mu, "archive entry %s: %s",
			    mu->mu_name, archive_error_string(mu->mu_ar));
		if (mmar_count(mu, &file, (size_t)n) == -1)
			return -1;
		if (atomicfile_write_all(fd, mu->mu_buf, (size_t)n) == -1)
			return mmar_fail(mu, "archive entry %s: %s",
			    mu->mu_name, strerror(errno));
	}
	return 0;
}

static int
mmar_file(struct mmar_unpack *mu, struct archive_entry *e)
{
	char	 name[MMAR_NAME_MAX + 1], *leaf;
	int	 dir, fd, rc;

	/* A size given up front is checked before anything is written. */
	if (archive_entry_size_is_set(e) && archive_entry_size(e) >= 0 &&
	    (uint64_t)archive_entry_size(e) > mu->mu_lim->ml_file_bytes)
		return mmar_fail(mu, "archive entry %s: larger than %" PRIu64
		    " bytes", mu->mu_name, mu->mu_lim->ml_file_bytes);
	memcpy(name, mu->mu_name, sizeof(name));
	if ((dir = mmar_parent(mu, name, &leaf)) == -1)
		return -1;
	fd = openat(dir, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, MMAR_FILE_MODE);
	close(dir);
	if (fd == -1)
		return errno == EEXIST ? mmar_twice(mu) : mmar_fail(mu,
		    "archive entry %s: %s", mu->mu_name, strerror(errno));
	rc = mmar_data(mu, fd);
	if (close(fd) == -1 && rc == 0)
		rc = mmar_fail(mu, "archive entry %s: %s", mu->mu_name,
		    strerror(errno));
	return rc;
}

/* mmar_entry - one entry of the archive, checked, then unpacked */
static int
mmar_entry(struct mmar_unpack *mu, struct archive_entry *e)
{
	int	 skip, kind;

	if (mmar_name(mu, archive_entry_pathname(e), &skip) == -1)
		return -1;
	if (skip)
		return 0;
	if (++mu->mu_entries > mu->mu_lim->ml_entries)
		return mmar_fail(mu, "the archive holds more than %zu files "
		    "and folders", mu->mu_lim->ml_entries);
	if ((kind = mmar_kind(mu, e)) == -1)
		return -1;
	return kind == AE_IFDIR ? mmar_folder(mu) : mmar_file(mu, e);
}

/* mmar_open - libarchive on the bytes: tar or zip, common compressions */
static int
mmar_open(struct mmar_unpack *mu, const void *archive, size_t len)
{
	if ((mu->mu_ar = archive_read_new()) == NULL)
		return mmar_fail(mu, "out of memory");
	archive_read_support_format_tar(mu->mu_ar);
	archive_read_support_format_zip(mu->mu_ar);
	archive_read_support_filter_gzip(mu->mu_ar);
	archive_read_support_filter_bzip2(mu->mu_ar);
	archive_read_support_filter_xz(mu->mu_ar);
	if (archive_read_open_memory(mu->mu_ar, archive, len) != ARCHIVE_OK)
		return mmar_fail(mu, "not a tar or zip archive: %s",
		    archive_error_string(mu->mu_ar));
	return 0;
}

/* mmar_entries - every entry, until the end or the first refusal */
static int
mmar_entries(struct mmar_unpack *mu)
{
	struct archive_entry	*e;
	int			 r;

	for (;;) {
		r = archive_read_next_header(mu->mu_ar, &e);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return mmar_fail(mu, "damaged archive: %s",
			    archive_error_string(mu->mu_ar));
		if (mmar_entry(mu, e) == -1)
			return -1;
	}
}

int
mmar_unpack(const void *archive, size_t len, const char *staging,
    const struct mmar_limits *lim, char *err, size_t errlen)
{
	struct mmar_unpack	 mu;
	int			 rc = -1;

	memset(&mu, 0, sizeof(mu));
	mu.mu_lim = lim != NULL ? lim : &mmar_limits_default;
	mu.mu_len = len;
	mu.mu_err = err;
	mu.mu_errlen = errlen;
	mu.mu_root = -1;
	if (mkdir(staging, MMAR_DIR_MODE) == -1)
		return mmar_fail(&mu, "staging folder %s: %s", staging,
		    strerror(errno));

	if ((mu.mu_root = open(staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		mmar_fail(&mu, "staging folder %s: %s", staging,
		    strerror(errno));
	else if ((mu.mu_buf = malloc(MMAR_BLOCK)) == NULL)
		mmar_fail(&mu, "out of memory");
	else if (mmar_open(&mu, archive, len) == 0)
		rc = mmar_entries(&mu);

	archive_read_free(mu.mu_ar);
	free(mu.mu_buf);
	if (mu.mu_root != -1)
		close(mu.mu_root);
	if (rc == -1 && mmar_remove(staging) == -1 && errno != ENOENT)
		snprintf(err + strlen(err), errlen - strlen(err), "; the "
		    "staging folder %s could not be removed: %s", staging,
		    strerror(errno));
	return rc;
}

/* mmar_remove_pass - remove what folder fd holds; how many were seen */
static int
mmar_remove_pass(int fd, int depth)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 sub, seen = 0, left, copy;

	if ((copy = dup(fd)) == -1)
		return -1;
	if ((d = fdopendir(copy)) == NULL) {
		close(copy);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		seen++;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			goto fail;
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(fd, de->d_name, 0) == -1)
				goto fail;
			continue;
		}
		if (depth >= MMAR_REMOVE_DEPTH) {
			errno = ELOOP;
			goto fail;
		}
		if ((sub = openat(fd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1)
			goto fail;
		while ((left = mmar_remove_pass(sub, depth + 1)) > 0)
			;
		close(sub);
		if (left == -1 || unlinkat(fd, de->d_name, AT_REMOVEDIR) == -1)
			goto fail;
	}
	closedir(d);
	return seen;
 fail:
	copy = errno;
	closedir(d);
	errno = copy;
	return -1;
}

int
mmar_remove(const char *dir)
{
	int	 fd, n;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	/* Entries removed while a folder is read may hide others: again
	 * until a pass finds it empty. */
	while ((n = mmar_remove_pass(fd, 0)) > 0)
		;
	close(fd);
	if (n == -1)
		return -1;
	return rmdir(dir);
}
