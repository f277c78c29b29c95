/*
 * npz - models as .npz files, read and written with libarchive.
 *
 * The reader takes what numpy.savez and numpy.savez_compressed write:
 * libarchive inflates deflated members itself. Member sizes come from
 * the file, so each member is read against a cap before it is decoded,
 * and a member that inflates past its cap is refused.
 *
 * The writer stores members uncompressed: weights hardly compress, and
 * storing keeps a save as fast as the disk.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "npy.h"
#include "atomicfile.h"
#include "npz.h"

#define NPZ_SUFFIX		".npy"
#define NPZ_SUFFIX_LEN		4
/* Room for a member's .npy preamble and header on top of its data. */
#define NPZ_HEADER_SLACK	(64 * 1024)
#define NPZ_CHUNK		(64 * 1024)

static int	npz_fail(char *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
npz_fail(char *err, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, NPZ_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

/* npz_archive_error - libarchive's reason, with errno's text if any */
static const char *
npz_archive_error(struct archive *a, char *buf, size_t len)
{
	const char	*why = archive_error_string(a);
	int		 saved = archive_errno(a);

	if (why == NULL)
		why = "unknown libarchive error";
	if (saved > 0 && strstr(why, strerror(saved)) == NULL)
		snprintf(buf, len, "%s: %s", why, strerror(saved));
	else
		snprintf(buf, len, "%s", why);
	return buf;
}

/*
 * npz_name_ok - a tensor name fit to be a key. Names never become file
 * names, so '/' is allowed inside one (TensorFlow scopes use it, and
 * numpy keeps it); names that look like paths to elsewhere are not.
 */
static int
npz_name_ok(const char *name)
{
	const char	*p, *part;
	size_t		 len = strlen(name), n;

	if (len == 0 || len >= TENSOR_NAME_MAX)
		return 0;
	for (p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return 0;
	for (part = name; ; part += n + 1) {
		n = strcspn(part, "/");
		if (n == 0 || (n == 1 && part[0] == '.') ||
		    (n == 2 && part[0] == '.' && part[1] == '.'))
			return 0;
		if (part[n] == '\0')
			return 1;
	}
}

/* npz_member - read the current member whole, up to cap bytes */
static int
npz_member(struct archive *a, struct archive_entry *e, size_t cap,
    uint8_t **out, size_t *outlen, const char *member, char *err)
{
	uint8_t		*buf = NULL, *grown;
	char		 ae[NPZ_ERR_MAX / 2];
	size_t		 len = 0, alloc;
	la_ssize_t	 n;

	if (archive_entry_size_is_set(e)) {
		if (archive_entry_size(e) < 0 ||
		    (uint64_t)archive_entry_size(e) > cap)
			return npz_fail(err, "member '%s' is larger than the "
			    "limit of %zu bytes", member, cap);
		alloc = (size_t)archive_entry_size(e) + 1;
	} else
		alloc = NPZ_CHUNK;

	for (;;) {
		if (len == alloc) {
			alloc = alloc > cap / 2 ? cap + 1 : alloc * 2;
			if ((grown = realloc(buf, alloc)) == NULL)
				goto nomem;
			buf = grown;
		} else if (buf == NULL && (buf = malloc(alloc)) == NULL)
			goto nomem;
		n = archive_read_data(a, buf + len, alloc - len);
		if (n < 0) {
			npz_fail(err, "member '%s': %s", member,
			    npz_archive_error(a, ae, sizeof(ae)));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > cap) {
			npz_fail(err, "member '%s' is larger than the limit of "
			    "%zu bytes", member, cap);
			goto fail;
		}
	}
	if (archive_entry_size_is_set(e) &&
	    (uint64_t)archive_entry_size(e) != len) {
		npz_fail(err, "member '%s': %zu bytes instead of %lld", member,
		    len, (long long)archive_entry_size(e));
		goto fail;
	}
	*out = buf;
	*outlen = len;
	return 0;

 nomem:
	npz_fail(err, "member '%s': out of memory", member);
 fail:
	free(buf);
	return -1;
}

/* npz_entry - decode the current member into a tensor added to m */
static int
npz_entry(struct archive *a, struct archive_entry *e, size_t *left,
    struct model *m, char *err)
{
	struct tensor	 t;
	char		 name[TENSOR_NAME_MAX + NPZ_SUFFIX_LEN];
	char		 npyerr[NPY_ERR_MAX];
	const char	*member;
	uint8_t		*buf = NULL;
	size_t		 len = 0, cap;
	int		 rc;

	if ((member = archive_entry_pathname(e)) == NULL)
		return npz_fail(err, "a member has no readable name");
	len = strlen(member);
	if (archive_entry_filetype(e) != AE_IFREG || len <= NPZ_SUFFIX_LEN ||
	    strcmp(member + len - NPZ_SUFFIX_LEN, NPZ_SUFFIX) != 0)
		return npz_fail(err, "member '%.64s' is not a .npy file",
		    member);
	if (len - NPZ_SUFFIX_LEN >= TENSOR_NAME_MAX)
		return npz_fail(err, "member '%.64s...': name too long",
		    member);
	memcpy(name, member, len - NPZ_SUFFIX_LEN);
	name[len - NPZ_SUFFIX_LEN] = '\0';
	if (!npz_name_ok(name))
		return npz_fail(err, "member '%.64s': bad tensor name", member);
	if (archive_entry_is_encrypted(e))
		return npz_fail(err, "member '%s' is encrypted", member);
	if (model_find(m, name) != NULL)
		return npz_fail(err, "duplicate tensor '%s'", name);

	cap = *left > SIZE_MAX - NPZ_HEADER_SLACK ? SIZE_MAX - 1 :
	    *left + NPZ_HEADER_SLACK;
	if (npz_member(a, e, cap, &buf, &len, member, err) == -1)
		return -1;
	rc = npy_read(buf, len, *left, &t, npyerr);
	free(buf);
	if (rc == -1)
		return npz_fail(err, "tensor '%s': %s", name, npyerr);

	*left -= t.count * dtype_size(t.dtype);
	if ((t.name = strdup(name)) == NULL) {
		tensor_free(&t);
		return npz_fail(err, "tensor '%s': out of memory", name);
	}
	if (model_add(m, &t) == -1)
		return npz_fail(err, "tensor '%s': %s", name, strerror(errno));
	return 0;
}

int
npz_load(const char *path, size_t max_bytes, struct model *m,
    char err[NPZ_ERR_MAX])
{
	struct archive		*a;
	struct archive_entry	*e;
	char			 why[NPZ_ERR_MAX], ae[NPZ_ERR_MAX / 2];
	size_t			 left = max_bytes;
	int			 rc;

	memset(m, 0, sizeof(*m));
	if ((a = archive_read_new()) == NULL)
		return npz_fail(err, "%s: out of memory", path);
	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, NPZ_CHUNK) != ARCHIVE_OK) {
		npz_fail(err, "%s: not a readable zip archive: %s", path,
		    npz_archive_error(a, ae, sizeof(ae)));
		archive_read_free(a);
		return -1;
	}

	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		if (npz_entry(a, e, &left, m, why) == -1)
			break;
	if (rc == ARCHIVE_OK)
		npz_fail(err, "%s: %s", path, why);
	else if (rc != ARCHIVE_EOF)
		npz_fail(err, "%s: %s", path,
		    npz_archive_error(a, ae, sizeof(ae)));
	else if (m->count == 0) {
		npz_fail(err, "%s: no tensors", path);
		rc = ARCHIVE_FATAL;
	}
	archive_read_free(a);
	if (rc != ARCHIVE_EOF) {
		model_free(m);
		return -1;
	}
	return 0;
}

/* npz_write_tensor - one "<name>.npy" member, stored */
static int
npz_write_tensor(struct archive *a, const struct tensor *t, char *err)
{
	struct archive_entry	*e;
	char			 member[TENSOR_NAME_MAX + NPZ_SUFFIX_LEN];
	char			 ae[NPZ_ERR_MAX / 2];
	uint8_t			*buf;
	size_t			 size;
	la_ssize_t		 n;

	if (t->name == NULL || !npz_name_ok(t->name))
		return npz_fail(err, "tensor '%.64s': bad name",
		    t->name ? t->name : "");
	snprintf(member, sizeof(member), "%s%s", t->name, NPZ_SUFFIX);
	size = npy_size(t);
	if ((buf = malloc(size)) == NULL)
		return npz_fail(err, "tensor '%s': out of memory", t->name);
	npy_write(t, buf);

	if ((e = archive_entry_new()) == NULL) {
		free(buf);
		return npz_fail(err, "tensor '%s': out of memory", t->name);
	}
	archive_entry_set_pathname(e, member);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)size);
	archive_entry_set_mtime(e, time(NULL), 0);
	n = -1;
	if (archive_write_header(a, e) == ARCHIVE_OK)
		n = archive_write_data(a, buf, size);
	archive_entry_free(e);
	free(buf);
	if (n < 0 || (size_t)n != size)
		return npz_fail(err, "tensor '%s': %s", t->name,
		    npz_archive_error(a, ae, sizeof(ae)));
	return 0;
}

/* npz_write_fd - the whole archive into fd */
static int
npz_write_fd(int fd, const struct model *m, char *err)
{
	struct archive	*a;
	char		 ae[NPZ_ERR_MAX / 2];
	size_t		 i;
	int		 rc = -1;

	if ((a = archive_write_new()) == NULL)
		return npz_fail(err, "out of memory");
	if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
	    archive_write_set_options(a, "zip:compression=store") !=
	    ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		npz_fail(err, "zip writer: %s",
		    npz_archive_error(a, ae, sizeof(ae)));
		archive_write_free(a);
		return -1;
	}
	for (i = 0; i < m->count; i++)
		if (npz_write_tensor(a, &m->tensors[i], err) == -1)
			break;
	if (i == m->count) {
		if (archive_write_close(a) == ARCHIVE_OK)
			rc = 0;
		else
			npz_fail(err, "%s",
			    npz_archive_error(a, ae, sizeof(ae)));
	}
	archive_write_free(a);
	return rc;
}

/* npz_sync_dir - make the rename itself durable */
static int
npz_sync_dir(const char *path, char *err)
{
	if (atomicfile_sync_dir(path) == -1)
		return npz_fail(err, "%s: fsync of its folder: %s", path,
		    strerror(errno));
	return 0;
}

int
npz_save(const char *path, const struct model *m, char err[NPZ_ERR_MAX])
{
	char	 tmp[4096], why[NPZ_ERR_MAX];
	int	 fd, n;

	if (m->count == 0)
		return npz_fail(err, "%s: not saved: no tensors", path);
	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return npz_fail(err, "%s: path too long", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return npz_fail(err, "%s: %s", tmp, strerror(errno));

	if (fchmod(fd, 0640) == -1) {
		snprintf(why, sizeof(why), "fchmod: %s", strerror(errno));
		goto fail;
	}
	if (npz_write_fd(fd, m, why) == -1)
		goto fail;
	if (fsync(fd) == -1) {
		snprintf(why, sizeof(why), "fsync: %s", strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		snprintf(why, sizeof(why), "close: %s", strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		snprintf(why, sizeof(why), "rename: %s", strerror(errno));
		goto fail;
	}
	return npz_sync_dir(path, err);

 fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return npz_fail(err, "%s: not saved: %s", path, why);
}
