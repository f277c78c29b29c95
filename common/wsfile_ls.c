/*
 * wsfile_ls - ls on a workspace: names one a line, or with -l the mode,
 * size, time and name, sorted; -R goes down into folders.
 *
 * Entries are looked at with fstatat(AT_SYMLINK_NOFOLLOW) and folders
 * opened with O_NOFOLLOW, so a link is shown as itself and never
 * entered. Its target is not shown: reading it takes readlinkat, which
 * admind's seccomp filter does not allow.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wsfile_cmd.h"

#define WSFILE_LS_ENTRIES_MAX	100000	/* listed of one folder */
#define WSFILE_LS_DEPTH_MAX	32	/* folders -R goes down */

struct wsfile_ls_entry {
	char		*name;
	struct stat	 st;
};

struct wsfile_ls_dir {
	struct wsfile_ls_entry	*entry;
	size_t			 count;
	size_t			 size;
	int			 partial;	/* entries were left out */
};

enum wsfile_ls_order { WSFILE_LS_NAME, WSFILE_LS_TIME, WSFILE_LS_SIZE };

struct wsfile_ls {
	struct wsfile_cmd	*cmd;
	enum wsfile_ls_order	 order;
	int			 atime;		/* -u */
	int			 sections;	/* -R headers written */
};

static const struct timespec *
wsfile_ls_time(const struct stat *st, int atime)
{
	return atime ? &st->st_atim : &st->st_mtim;
}

/* wsfile_ls_newer - 1 if a is more recent than b, -1 if older, else 0 */
static int
wsfile_ls_newer(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec > b->tv_sec ? 1 : -1;
	if (a->tv_nsec != b->tv_nsec)
		return a->tv_nsec > b->tv_nsec ? 1 : -1;
	return 0;
}

/* wsfile_ls_compare - qsort_r's order: newest or largest first */
static int
wsfile_ls_compare(const void *pa, const void *pb, void *arg)
{
	const struct wsfile_ls_entry	*a = pa, *b = pb;
	const struct wsfile_ls		*ls = arg;
	int				 rc = 0;

	if (ls->order == WSFILE_LS_TIME)
		rc = -wsfile_ls_newer(wsfile_ls_time(&a->st, ls->atime),
		    wsfile_ls_time(&b->st, ls->atime));
	else if (ls->order == WSFILE_LS_SIZE && a->st.st_size !=
	    b->st.st_size)
		rc = a->st.st_size > b->st.st_size ? -1 : 1;
	return rc != 0 ? rc : strcmp(a->name, b->name);
}

/* wsfile_ls_mode - "drwxr-xr-x" */
static void
wsfile_ls_mode(mode_t m, char s[11])
{
	static const char	 rwx[] = "rwxrwxrwx";
	int			 i;

	s[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISCHR(m) ? 'c' :
	    S_ISBLK(m) ? 'b' : S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' : '-';
	for (i = 0; i < 9; i++)
		s[i + 1] = m & (0400 >> i) ? rwx[i] : '-';
	if (m & S_ISUID)
		s[3] = s[3] == 'x' ? 's' : 'S';
	if (m & S_ISGID)
		s[6] = s[6] == 'x' ? 's' : 'S';
	if (m & S_ISVTX)
		s[9] = s[9] == 'x' ? 't' : 'T';
	s[10] = '\0';
}

/* wsfile_ls_line - one entry, as the options ask */
static void
wsfile_ls_line(struct wsfile_ls *ls, const struct wsfile_ls_entry *e,
    int width)
{
	struct wsfile_out	*out = ls->cmd->out;
	struct tm		 tm;
	time_t			 t;
	char			 mode[11], when[32];

	if (ls->cmd->flag['l']) {
		wsfile_ls_mode(e->st.st_mode, mode);
		t = wsfile_ls_time(&e->st, ls->atime)->tv_sec;
		if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when),
		    "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			snprintf(when, sizeof(when), "?");
		wsfile_printf(out, "%s %*lld %s ", mode, width,
		    (long long)e->st.st_size, when);
	}
	wsfile_put_name(out, e->name);
	wsfile_put(out, "\n", 1);
}

/* wsfile_ls_print - the entries, sorted, sizes aligned */
static void
wsfile_ls_print(struct wsfile_ls *ls, struct wsfile_ls_entry *e,
    size_t count)
{
	char	 digits[32];
	size_t	 i;
	int	 n, width = 1;

	qsort_r(e, count, sizeof(*e), wsfile_ls_compare, ls);
	for (i = 0; i < count; i++) {
		n = snprintf(digits, sizeof(digits), "%lld",
		    (long long)e[i].st.st_size);
		if (n > width)
			width = n;
	}
	for (i = 0; i < count && !ls->cmd->out->truncated; i++)
		wsfile_ls_line(ls, &e[i], width);
}

static void
wsfile_ls_dir_free(struct wsfile_ls_dir *dir)
{
	size_t	 i;

	for (i = 0; i < dir->count; i++)
		free(dir->entry[i].name);
	free(dir->entry);
	memset(dir, 0, sizeof(*dir));
}

/* wsfile_ls_add - one entry of a folder, looked at without following */
static int
wsfile_ls_add(struct wsfile_ls_dir *dir, int dirfd, const char *name)
{
	struct wsfile_ls_entry	*e;
	size_t			 size;

	if (dir->count == dir->size) {
		size = dir->size == 0 ? 64 : dir->size * 2;
		if ((e = reallocarray(dir->entry, size, sizeof(*e))) == NULL)
			return -1;
		dir->entry = e;
		dir->size = size;
	}
	e = &dir->entry[dir->count];
	/* Gone since readdir saw it: not listed. */
	if (fstatat(dirfd, name, &e->st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	if ((e->name = strdup(name)) == NULL)
		return -1;
	dir->count++;
	return 0;
}

/* wsfile_ls_read - the folder's entries; hidden ones only with -a */
static int
wsfile_ls_read(struct wsfile_ls *ls, DIR *d, struct wsfile_ls_dir *dir)
{
	struct dirent	*de;

	memset(dir, 0, sizeof(*dir));
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    (de->d_name[0] == '.' && !ls->cmd->flag['a']))
			continue;
		if (dir->count == WSFILE_LS_ENTRIES_MAX) {
			dir->partial = 1;
			break;
		}
		if (wsfile_ls_add(dir, dirfd(d), de->d_name) == -1)
			return wsfile_fail(ls->cmd, "out of memory");
	}
	if (errno != 0)
		return wsfile_fail(ls->cmd, "reading a folder: %s",
		    strerror(errno));
	return 0;
}

static int	wsfile_ls_dir(struct wsfile_ls *, int, const char *, int);

/* wsfile_ls_down - -R: each folder of the listing, in its order */
static int
wsfile_ls_down(struct wsfile_ls *ls, DIR *d, const char *shown,
    struct wsfile_ls_dir *dir, int depth)
{
	const char	*sep = shown[strlen(shown) - 1] == '/' ? "" : "/";
	char		*sub;
	size_t		 i;
	int		 fd, rc = 0;

	for (i = 0; i < dir->count && rc == 0; i++) {
		if (!S_ISDIR(dir->entry[i].st.st_mode) ||
		    ls->cmd->out->truncated)
			continue;
		if (asprintf(&sub, "%s%s%s", shown, sep,
		    dir->entry[i].name) == -1)
			return wsfile_fail(ls->cmd, "out of memory");
		if (depth + 1 > WSFILE_LS_DEPTH_MAX) {
			wsfile_printf(ls->cmd->out, "\nls: '%s': more than %d "
			    "levels down, not listed\n", sub,
			    WSFILE_LS_DEPTH_MAX);
		} else if ((fd = openat(dirfd(d), dir->entry[i].name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			wsfile_printf(ls->cmd->out, "\nls: cannot open '%s': "
			    "%s\n", sub, strerror(errno));
		} else
			rc = wsfile_ls_dir(ls, fd, sub, depth + 1);
		free(sub);
	}
	return rc;
}

/* wsfile_ls_dir - list the folder open as fd, shown as shown */
static int
wsfile_ls_dir(struct wsfile_ls *ls, int fd, const char *shown, int depth)
{
	struct wsfile_ls_dir	 dir;
	DIR			*d;
	int			 rc;

	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return wsfile_fail(ls->cmd, "%s", strerror(errno));
	}
	if ((rc = wsfile_ls_read(ls, d, &dir)) == 0) {
		if (ls->cmd->flag['R']) {
			if (ls->sections++ > 0)
				wsfile_put(ls->cmd->out, "\n", 1);
			wsfile_put_name(ls->cmd->out, shown);
			wsfile_put(ls->cmd->out, ":\n", 2);
		}
		wsfile_ls_print(ls, dir.entry, dir.count);
		if (dir.partial)
			wsfile_printf(ls->cmd->out, "ls: more than %d entries; "
			    "the others are not listed\n",
			    WSFILE_LS_ENTRIES_MAX);
		if (ls->cmd->flag['R'])
			rc = wsfile_ls_down(ls, d, shown, &dir, depth);
	}
	wsfile_ls_dir_free(&dir);
	closedir(d);
	return rc;
}

/* wsfile_ls_setup - GNU's order: -S, then -t, then -u without -l */
static void
wsfile_ls_setup(struct wsfile_ls *ls, struct wsfile_cmd *c)
{
	memset(ls, 0, sizeof(*ls));
	ls->cmd = c;
	ls->atime = c->flag['u'];
	if (c->flag['S'])
		ls->order = WSFILE_LS_SIZE;
	else if (c->flag['t'] || (c->flag['u'] && !c->flag['l']))
		ls->order = WSFILE_LS_TIME;
	else
		ls->order = WSFILE_LS_NAME;
}

int
wsfile_ls(struct wsfile_cmd *c)
{
	struct wsfile_ls	 ls;
	struct wsfile_ls_entry	 e;
	const char		*path = c->noperands > 0 ? c->operand[0] : ".";
	char			 last[WSFILE_PATH_MAX + 1];
	char			 shown[64];
	int			 dirfd, fd;

	wsfile_ls_setup(&ls, c);
	if ((dirfd = wsfile_walk(c, path, last, sizeof(last))) == -1)
		return -1;
	wsfile_show(path, shown, sizeof(shown));
	if (fstatat(dirfd, last, &e.st, AT_SYMLINK_NOFOLLOW) == -1) {
		close(dirfd);
		return wsfile_fail(c, "'%s': %s", shown, strerror(errno));
	}
	if (!S_ISDIR(e.st.st_mode)) {
		close(dirfd);
		e.name = (char *)path;
		wsfile_ls_print(&ls, &e, 1);
		return 0;
	}
	fd = openat(dirfd, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	close(dirfd);
	if (fd == -1)
		return wsfile_fail(c, "'%s': %s", shown, strerror(errno));
	return wsfile_ls_dir(&ls, fd, path, 0);
}
