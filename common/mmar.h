/*
 * mmar - an uploaded MMAR (Medical Model ARchive), checked before it is
 * accepted and again before a deploy.
 *
 * mmar_unpack unpacks a tar (plain, gzip, bzip2 or xz) or zip archive
 * held in memory into a staging folder it creates: only regular files
 * and folders, names of [A-Za-z0-9._/-] with no absolute path, no "."
 * or ".." and no empty part, within caps on entries and sizes that stop
 * an archive bomb while it is read. A refused archive leaves nothing:
 * the staging folder is removed.
 *
 * mmar_validate checks an MMAR's folder: its layout (config/ required;
 * commands/, resources/, docs/, models/ and custom/ allowed; nothing
 * else, no link, no special file anywhere) and its configurations
 * (config_fed_server.json through train_config_load; the others parse
 * as JSON objects whose known keys have sane types). custom/, or a
 * component named by "path", is site code: *byoc is set, for the caller
 * to weigh against allow_byoc.
 *
 * Nothing here runs code of the MMAR or follows a link in it. Errors
 * name the entry, or the file and the key.
 */
#ifndef FL_MMAR_H
#define FL_MMAR_H

#include <stddef.h>
#include <stdint.h>

#define MMAR_ERR_MAX		512
#define MMAR_NAME_MAX		255	/* an entry's whole name */
#define MMAR_DEPTH_MAX		16	/* folders in an entry's name */
/* An archive's bytes in an upload or a deploy: base64 of it stays within
 * the console's 64 MiB transmission. */
#define MMAR_ARCHIVE_MAX	(32 * 1024 * 1024)

struct mmar_limits {
	size_t		ml_entries;	/* files and folders */
	uint64_t	ml_file_bytes;	/* one file, unpacked */
	uint64_t	ml_total_bytes;	/* every file, unpacked */
	/*
	 * Unpacked bytes per archive byte, checked as data comes out once
	 * more than ml_ratio_floor bytes did (a small archive of text
	 * compresses well and is no bomb).
	 */
	uint64_t	ml_ratio;
	uint64_t	ml_ratio_floor;
};

/* 4096 entries, 512 MiB a file, 1 GiB in all, ratio 100 past 1 MiB. */
extern const struct mmar_limits	mmar_limits_default;

/*
 * Unpack archive into staging, which must not exist yet (its parent
 * must). 0, or -1 with why in err and no staging folder left.
 */
int	mmar_unpack(const void *archive, size_t len, const char *staging,
	    const struct mmar_limits *, char *err, size_t errlen);

/*
 * Remove a folder and everything in it, never following a link; the
 * folder itself may not be a link. 0, or -1 with errno set.
 */
int	mmar_remove(const char *dir);

/* 0 when dir is a valid MMAR (*byoc 1 if it holds site code), or -1
 * with why in err. */
int	mmar_validate(const char *dir, char *err, size_t errlen, int *byoc);

/*
 * mmar_pack.c: dir's files and folders as a tar archive in memory, names
 * relative to dir, at most cap bytes; a link or special file is refused.
 * 0 with *out (free it) and *len, or -1 with why in err.
 */
int	mmar_pack(const char *dir, size_t cap, void **out, size_t *len,
	    char *err, size_t errlen);
/* Base64 of len bytes, NUL-terminated; free it. NULL: out of memory. */
char	*mmar_base64(const void *, size_t len);
/* The bytes of base64 text, at most cap of them; free them. NULL: why
 * in err. */
void	*mmar_unbase64(const char *text, size_t cap, size_t *len, char *err,
	    size_t errlen);

#endif
