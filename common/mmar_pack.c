/*
 * mmar_pack - an MMAR's folder as a tar archive in memory, for an upload
 * (fladmin) or a deploy to sites (admind), and base64 both ways for the
 * JSON that carries it.
 *
 * The folder is walked by descriptor, never following a link: a link or
 * a special file anywhere is refused here already, as mmar_unpack would
 * refuse it at the other end. Names are relative to the folder, so the
 * archive holds config/... at its top.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "mmar.h"

#define PACK_BLOCK	65536

struct pack {
	struct archive	*p_ar;
	unsigned char	*p_buf;		/* the archive so far */
	size_t		 p_len;
	size_t		 p_size;
	size_t		 p_cap;		/* bytes of archive at most */
	int		 p_over;
	char		 p_name[MMAR_NAME_MAX + 2];
	char		*p_err;
	size_t		 p_errlen;
};

static int	pack_folder(struct pack *, int fd, size_t namelen, int depth);

static int
pack_fail(struct pack *p, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(p->p_err, p->p_errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* pack_write - libarchive's output: appended, within the cap */
static la_ssize_t
pack_write(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct pack	*p = arg;
	unsigned char	*grown;
	size_t		 size;

	if (n > p->p_cap - p->p_len) {
		p->p_over = 1;
		archive_set_error(a, EFBIG, "archive over the cap");
		return -1;
	}
	if (p->p_len + n > p->p_size) {
		size = p->p_size == 0 ? PACK_BLOCK : p->p_size;
		while (size < p->p_len + n)
			size *= 2;
		if ((grown = realloc(p->p_buf, size)) == NULL) {
			archive_set_error(a, ENOMEM, "out of memory");
			return -1;
		}
		p->p_buf = grown;
		p->p_size = size;
	}
	memcpy(p->p_buf + p->p_len, buf, n);
	p->p_len += n;
	return (la_ssize_t)n;
}

/* pack_error - what libarchive said, or the cap */
static int
pack_error(struct pack *p)
{
	if (p->p_over)
		return pack_fail(p, "the archive is over %zu bytes", p->p_cap);
	return pack_fail(p, "%s: %s", p->p_name,
	    archive_error_string(p->p_ar));
}

/* pack_header - one entry's header: a folder or a regular file */
static int
pack_header(struct pack *p, const struct stat *st)
{
	struct archive_entry	*e;
	int			 rc;

	if ((e = archive_entry_new()) == NULL)
		return pack_fail(p, "out of memory");
	archive_entry_set_pathname(e, p->p_name);
	archive_entry_set_filetype(e, S_ISDIR(st->st_mode) ? AE_IFDIR :
	    AE_IFREG);
	archive_entry_set_perm(e, S_ISDIR(st->st_mode) ? 0750 : 0640);
	archive_entry_set_size(e, S_ISDIR(st->st_mode) ? 0 : st->st_size);
	archive_entry_set_mtime(e, st->st_mtime, 0);
	rc = archive_write_header(p->p_ar, e);
	archive_entry_free(e);
	return rc == ARCHIVE_OK ? 0 : pack_error(p);
}

/* pack_file - a regular file's header and bytes */
static int
pack_file(struct pack *p, int dirfd, const char *leaf)
{
	struct stat	 st;
	char		 buf[PACK_BLOCK];
	ssize_t		 n;
	off_t		 left;
	int		 fd, rc = 0;

	if ((fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return pack_fail(p, "%s: %s", p->p_name, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pack_fail(p, "%s: not a regular file", p->p_name);
	}
	if (pack_header(p, &st) == -1) {
		close(fd);
		return -1;
	}
	for (left = st.st_size; rc == 0 && left > 0; left -= n) {
		if ((n = read(fd, buf, sizeof(buf))) <= 0)
			rc = pack_fail(p, "%s: %s", p->p_name, n == 0 ?
			    "changed while it was read" : strerror(errno));
		else if (n > left)
			rc = pack_fail(p, "%s: changed while it was read",
			    p->p_name);
		else if (archive_write_data(p->p_ar, buf, n) != n)
			rc = pack_error(p);
	}
	close(fd);
	return rc;
}

/* pack_entry - one name of a folder: a file, or a folder and its own */
static int
pack_entry(struct pack *p, int dirfd, const char *leaf, size_t namelen,
    int depth)
{
	struct stat	 st;
	size_t		 len = strlen(leaf);
	int		 fd, rc;

	if (namelen + len + 1 > MMAR_NAME_MAX)
		return pack_fail(p, "%.64s...: name too long", p->p_name);
	memcpy(p->p_name + namelen, leaf, len + 1);
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return pack_fail(p, "%s: %s", p->p_name, strerror(errno));
	if (S_ISREG(st.st_mode))
		return pack_file(p, dirfd, leaf);
	if (!S_ISDIR(st.st_mode))
		return pack_fail(p, "%s: %s", p->p_name, S_ISLNK(st.st_mode) ?
		    "a symbolic link" : "not a regular file or folder");
	if (depth >= MMAR_DEPTH_MAX)
		return pack_fail(p, "%s: more than %d folders deep",
		    p->p_name, MMAR_DEPTH_MAX);
	p->p_name[namelen + len] = '/';
	p->p_name[namelen + len + 1] = '\0';
	if (pack_header(p, &st) == -1)
		return -1;
	if ((fd = openat(dirfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return pack_fail(p, "%s: %s", p->p_name, strerror(errno));
	rc = pack_folder(p, fd, namelen + len + 1, depth + 1);
	close(fd);
	return rc;
}

/* pack_folder - every entry of folder fd, whose name is p_name's start */
static int
pack_folder(struct pack *p, int fd, size_t namelen, int depth)
{
	struct dirent	*de;
	DIR		*d;
	int		 copy, rc = 0;

	if ((copy = dup(fd)) == -1 || (d = fdopendir(copy)) == NULL) {
		if (copy != -1)
			close(copy);
		return pack_fail(p, "%s: %s", namelen == 0 ? "the folder" :
		    p->p_name, strerror(errno));
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		rc = pack_entry(p, fd, de->d_name, namelen, depth);
		p->p_name[namelen] = '\0';
	}
	closedir(d);
	return rc;
}

int
mmar_pack(const char *dir, size_t cap, void **out, size_t *len, char *err,
    size_t errlen)
{
	struct pack	 p;
	int		 fd, rc = -1;

	memset(&p, 0, sizeof(p));
	p.p_cap = cap;
	p.p_err = err;
	p.p_errlen = errlen;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return pack_fail(&p, "%s: %s", dir, errno == ELOOP ?
		    "a symbolic link" : strerror(errno));
	if ((p.p_ar = archive_write_new()) == NULL)
		pack_fail(&p, "out of memory");
	else if (archive_write_set_format_pax_restricted(p.p_ar) !=
	    ARCHIVE_OK || archive_write_set_bytes_in_last_block(p.p_ar, 1) !=
	    ARCHIVE_OK || archive_write_open(p.p_ar, &p, NULL, pack_write,
	    NULL) != ARCHIVE_OK)
		pack_error(&p);
	else if (pack_folder(&p, fd, 0, 0) == 0) {
		if (archive_write_close(p.p_ar) != ARCHIVE_OK)
			pack_error(&p);
		else
			rc = 0;
	}
	close(fd);
	if (p.p_ar != NULL)
		archive_write_free(p.p_ar);
	if (rc == -1) {
		free(p.p_buf);
		return -1;
	}
	*out = p.p_buf;
	*len = p.p_len;
	return 0;
}

char *
mmar_base64(const void *data, size_t len)
{
	char	*out;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3 ||
	    (out = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

void *
mmar_unbase64(const char *text, size_t cap, size_t *len, char *err,
    size_t errlen)
{
	size_t		 n = strlen(text), pad = 0;
	unsigned char	*out;
	int		 got;

	if (n % 4 != 0 || n > (size_t)0x7ffffff0 ||
	    strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=") != n) {
		snprintf(err, errlen, "the archive is not base64");
		return NULL;
	}
	if (n / 4 * 3 > cap + 2) {
		snprintf(err, errlen, "the archive is over %zu bytes", cap);
		return NULL;
	}
	if ((out = malloc(n / 4 * 3 + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((got = EVP_DecodeBlock(out, (const unsigned char *)text,
	    (int)n)) < 0) {
		free(out);
		snprintf(err, errlen, "the archive is not base64");
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (n > 0 && text[n - 1] == '=')
		pad++;
	if (n > 1 && text[n - 2] == '=')
		pad++;
	*len = (size_t)got - pad;
	if (*len > cap) {
		free(out);
		snprintf(err, errlen, "the archive is over %zu bytes", cap);
		return NULL;
	}
	return out;
}
