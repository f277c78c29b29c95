/*
 * wsfile - pwd, ls, cat, head, tail and grep on a workspace, in process.
 *
 * A command is refused whole before any file is opened: its words, its
 * options, its paths. Paths are then walked one component at a time
 * from the root with O_NOFOLLOW, so that no symbolic link, wherever it
 * points, is ever followed; openat2(RESOLVE_BENEATH) would do the same
 * in one call, but admind's seccomp filter kills on any system call it
 * does not list, and this module keeps to the ones it does: openat,
 * newfstatat, getdents64, read, lseek, close. Files are read in chunks
 * and lines, so a large log costs WSFILE_SCAN_MAX bytes of reading at
 * most, never its size in memory.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH	8
#include <pcre2.h>

#include "wsfile.h"
#include "wsfile_cmd.h"

/* Room past the cap for the lines that say why output stopped. */
#define WSFILE_NOTE_ROOM	512
/* Bytes read from one file at most: a grep through a huge log ends. */
#define WSFILE_SCAN_MAX		((off_t)256 << 20)
#define WSFILE_CHUNK		65536
/* A longer line is cut there; its remainder is skipped. */
#define WSFILE_LINE_MAX		WSFILE_OUTPUT_MAX
#define WSFILE_COUNT_MAX	1000000000000000LL
#define WSFILE_SHOWN_MAX	64

/* PCRE2's work per line, so that a pathological pattern fails fast. */
#define WSFILE_MATCH_LIMIT	1000000
#define WSFILE_DEPTH_LIMIT	10000
#define WSFILE_HEAP_LIMIT_KB	16384

static const char *const wsfile_extensions[] = {
	".txt", ".log", ".json", ".csv", ".sh", ".config", ".py"
};

/* Characters a shell would act on, named as such when refused. */
#define WSFILE_SHELL_CHARS	"$`;|&<>(){}!#~'\"\\"
#define WSFILE_GLOB_CHARS	"*?[]"
#define WSFILE_NAME_RULE	"names may hold only A-Z a-z 0-9 . _ / -"
#define WSFILE_NO_SHELL		"these commands run no shell (no pipes, " \
				"redirections, command lists, substitutions " \
				"or variables)"

static int	wsfile_pwd(struct wsfile_cmd *);
static int	wsfile_cat(struct wsfile_cmd *);
static int	wsfile_head(struct wsfile_cmd *);
static int	wsfile_tail(struct wsfile_cmd *);
static int	wsfile_grep(struct wsfile_cmd *);

struct wsfile_spec {
	const char	*name;
	const char	*flags;		/* options without a value */
	const char	*counted;	/* options taking a count */
	int		 min_operands;
	int		 max_operands;
	const char	*operands;	/* what they are, for refusals */
	int		 (*run)(struct wsfile_cmd *);
};

static const struct wsfile_spec wsfile_specs[] = {
	{ "pwd", "", "", 0, 0, "no arguments", wsfile_pwd },
	{ "ls", "alRStu", "", 0, 1, "at most one path", wsfile_ls },
	{ "cat", "bnsT", "", 1, 1, "one file", wsfile_cat },
	{ "head", "", "cn", 1, 1, "one file", wsfile_head },
	{ "tail", "", "cn", 1, 1, "one file", wsfile_tail },
	{ "grep", "bin", "", 2, 2, "a pattern and one file", wsfile_grep },
};

/* Output. */

/* wsfile_utf8_len - length of the valid UTF-8 sequence at s, else 0 */
static size_t
wsfile_utf8_len(const unsigned char *s, size_t n)
{
	uint32_t	 cp;
	size_t		 len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, beyond Unicode, C1 controls. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 ||
	    cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
		return 0;
	return len;
}

/* wsfile_ascii - c as shown: controls other than layout become '?' */
static char
wsfile_ascii(unsigned char c, int layout)
{
	if (layout && (c == '\t' || c == '\n' || c == '\r'))
		return (char)c;
	return c < 0x20 || c == 0x7f ? '?' : (char)c;
}

/* wsfile_cut - stop at the cap, at the end of the last whole line */
static void
wsfile_cut(struct wsfile_out *out)
{
	char	*nl;

	out->truncated = 1;
	if ((nl = memrchr(out->text, '\n', out->len)) != NULL)
		out->len = nl - out->text + 1;
	out->text[out->len] = '\0';
}

/* wsfile_put_as - n bytes as valid UTF-8; layout keeps tabs, newlines */
static void
wsfile_put_as(struct wsfile_out *out, const char *s, size_t n, int layout)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, k;

	for (i = 0; i < n && !out->truncated; i += k) {
		k = p[i] < 0x80 ? 1 : wsfile_utf8_len(p + i, n - i);
		if (out->len + (k == 0 ? 1 : k) > WSFILE_OUTPUT_MAX) {
			wsfile_cut(out);
			return;
		}
		if (k > 1) {
			memcpy(out->text + out->len, p + i, k);
			out->len += k;
			continue;
		}
		out->text[out->len++] = k == 0 ? '?' :
		    wsfile_ascii(p[i], layout);
		k = 1;
	}
	out->text[out->len] = '\0';
}

void
wsfile_put(struct wsfile_out *out, const char *s, size_t n)
{
	wsfile_put_as(out, s, n, 1);
}

void
wsfile_put_name(struct wsfile_out *out, const char *name)
{
	wsfile_put_as(out, name, strlen(name), 0);
}

void
wsfile_printf(struct wsfile_out *out, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[512];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	wsfile_put(out, buf, (size_t)n < sizeof(buf) ? (size_t)n :
	    sizeof(buf) - 1);
}

/* wsfile_note - a line past the cap: why the output is incomplete */
void
wsfile_note(struct wsfile_out *out, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 room;
	int	 n;

	if (out->len > 0 && out->text[out->len - 1] != '\n')
		out->text[out->len++] = '\n';
	room = out->size - out->len;
	va_start(ap, fmt);
	n = vsnprintf(out->text + out->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	out->len += (size_t)n < room ? (size_t)n : room - 1;
	out->text[out->len] = '\0';
}

void
wsfile_out_free(struct wsfile_out *out)
{
	if (out == NULL)
		return;
	free(out->text);
	memset(out, 0, sizeof(*out));
}

/* Refusals and errors. */

/* wsfile_show - a user's word, printable ASCII and short, for messages */
const char *
wsfile_show(const char *s, char *buf, size_t size)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		buf[i] = (unsigned char)s[i] < 0x80 ?
		    wsfile_ascii((unsigned char)s[i], 0) : '?';
	buf[i] = '\0';
	if (s[i] != '\0' && size > 4)
		memcpy(buf + size - 4, "...", 4);
	return buf;
}

static int
wsfile_vfail(char *err, size_t errlen, const char *prefix, const char *fmt,
    va_list ap)
{
	int	 n = 0;

	if (errlen == 0)
		return -1;
	if (prefix != NULL)
		n = snprintf(err, errlen, "%s: ", prefix);
	if (n < 0 || (size_t)n >= errlen)
		n = 0;
	vsnprintf(err + n, errlen - n, fmt, ap);
	return -1;
}

int
wsfile_fail(struct wsfile_cmd *c, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	wsfile_vfail(c->err, c->errlen, c->name, fmt, ap);
	va_end(ap);
	return -1;
}

static int	wsfile_refuse(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
wsfile_refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	wsfile_vfail(err, errlen, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

/* Names. */

/* wsfile_bad_char - why c may not be in a name */
static const char *
wsfile_bad_char(char c, char *buf, size_t size)
{
	if (strchr(WSFILE_SHELL_CHARS, c) != NULL) {
		snprintf(buf, size, "'%c' is shell syntax: %s", c,
		    WSFILE_NO_SHELL);
		return buf;
	}
	if (strchr(WSFILE_GLOB_CHARS, c) != NULL) {
		snprintf(buf, size, "'%c' is a wildcard, and wildcards are "
		    "not expanded: name one file", c);
		return buf;
	}
	if (c == ' ')
		snprintf(buf, size, "a space is not accepted in a name");
	else if ((unsigned char)c > 0x20 && (unsigned char)c < 0x7f)
		snprintf(buf, size, "'%c' is not accepted in a name", c);
	else
		snprintf(buf, size, "the byte 0x%02x is not accepted in a "
		    "name", (unsigned char)c);
	return buf;
}

/* wsfile_dotdot - 1 if a component of path is ".." */
static int
wsfile_dotdot(const char *path)
{
	const char	*p = path;

	for (;;) {
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
			return 1;
		if ((p = strchr(p, '/')) == NULL)
			return 0;
		p++;
	}
}

/* wsfile_readable_name - a file name with an extension we may read */
static int
wsfile_readable_name(const char *path)
{
	const char	*base, *dot;
	size_t		 i;

	base = strrchr(path, '/');
	base = base == NULL ? path : base + 1;
	if ((dot = strrchr(base, '.')) == NULL)
		return 0;
	for (i = 0; i < sizeof(wsfile_extensions) /
	    sizeof(wsfile_extensions[0]); i++)
		if (strcmp(dot, wsfile_extensions[i]) == 0)
			return 1;
	return 0;
}

/*
 * wsfile_check_path - the name rule, before anything is opened: only
 * [A-Za-z0-9._/-], relative, no "..", and for reading an extension of
 * the list.
 */
int
wsfile_check_path(struct wsfile_cmd *c, const char *path, int reading)
{
	char		 shown[WSFILE_SHOWN_MAX], why[256];
	size_t		 len = strlen(path);
	const char	*p;

	wsfile_show(path, shown, sizeof(shown));
	if (len == 0)
		return wsfile_fail(c, "an empty path");
	if (len > WSFILE_PATH_MAX)
		return wsfile_fail(c, "'%s': a path is at most %d bytes", shown,
		    WSFILE_PATH_MAX);
	for (p = path; *p != '\0'; p++)
		if (strchr("._/-", *p) == NULL && !(*p >= 'a' && *p <= 'z') &&
		    !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9'))
			return wsfile_fail(c, "'%s': %s; " WSFILE_NAME_RULE,
			    shown, wsfile_bad_char(*p, why, sizeof(why)));
	if (path[0] == '/')
		return wsfile_fail(c, "'%s': absolute paths are not accepted: "
		    "paths are relative to the workspace", shown);
	if (wsfile_dotdot(path))
		return wsfile_fail(c, "'%s': '..' is not accepted in a path",
		    shown);
	if (reading && !wsfile_readable_name(path))
		return wsfile_fail(c, "'%s': only .txt .log .json .csv .sh "
		    ".config and .py files may be read", shown);
	return 0;
}

/* Command lines. */

struct wsfile_words {
	char		*buf;
	const char	*argv[WSFILE_ARGS_MAX];
	int		 argc;
};

/* wsfile_shell_syntax - 1 if the unquoted byte at i is shell syntax */
static int
wsfile_shell_syntax(const char *line, size_t len, size_t i)
{
	/* A '$' that ends a word is a pattern's anchor, not a variable. */
	if (line[i] == '$')
		return i + 1 < len && line[i + 1] != ' ' &&
		    line[i + 1] != '\t';
	return strchr(";|&<>`", line[i]) != NULL;
}

/* wsfile_split_byte - check one unquoted byte of a command line */
static int
wsfile_split_byte(const char *line, size_t len, size_t i, char *err,
    size_t errlen)
{
	unsigned char	 c = (unsigned char)line[i];

	if (c < 0x20 || c == 0x7f)
		return wsfile_refuse(err, errlen, "the byte 0x%02x: control "
		    "characters are not accepted in a command", c);
	if (wsfile_shell_syntax(line, len, i))
		return wsfile_refuse(err, errlen, "'%.*s' is shell syntax: %s",
		    c == '$' ? 2 : 1, line + i, WSFILE_NO_SHELL);
	return 0;
}

static int
wsfile_split(const char *line, size_t len, struct wsfile_words *w,
    char *err, size_t errlen)
{
	char	*o, quote = 0;
	size_t	 i;
	int	 inword = 0;

	memset(w, 0, sizeof(*w));
	if (len > WSFILE_COMMAND_MAX)
		return wsfile_refuse(err, errlen, "a command is at most %d "
		    "bytes", WSFILE_COMMAND_MAX);
	if (memchr(line, '\0', len) != NULL)
		return wsfile_refuse(err, errlen, "a NUL byte is not accepted "
		    "in a command");
	if ((o = w->buf = malloc(len + 1)) == NULL)
		return wsfile_refuse(err, errlen, "out of memory");

	for (i = 0; i < len; i++) {
		if (quote != 0 && line[i] == quote) {
			quote = 0;
			continue;
		}
		if (quote == 0 && (line[i] == ' ' || line[i] == '\t')) {
			if (inword)
				*o++ = '\0';
			inword = 0;
			continue;
		}
		if (quote == 0 && wsfile_split_byte(line, len, i, err,
		    errlen) == -1)
			return -1;
		if (quote != 0 && ((unsigned char)line[i] < 0x20 ||
		    line[i] == 0x7f))
			return wsfile_split_byte(line, len, i, err, errlen);
		if (!inword) {
			if (w->argc == WSFILE_ARGS_MAX)
				return wsfile_refuse(err, errlen, "a command "
				    "has at most %d words", WSFILE_ARGS_MAX);
			w->argv[w->argc++] = o;
			inword = 1;
		}
		if (quote == 0 && (line[i] == '\'' || line[i] == '"'))
			quote = line[i];
		else
			*o++ = line[i];
	}
	*o = '\0';
	if (quote != 0)
		return wsfile_refuse(err, errlen, "a quote (%c) is not closed",
		    quote);
	if (w->argc == 0)
		return wsfile_refuse(err, errlen, "an empty command");
	return 0;
}

/* Options. */

/* wsfile_count - a non-negative decimal count */
static int
wsfile_count(struct wsfile_cmd *c, char opt, const char *s)
{
	char		 shown[WSFILE_SHOWN_MAX];
	const char	*p;

	for (p = s; *p >= '0' && *p <= '9'; p++)
		;
	if (p == s || *p != '\0' || p - s > 15)
		return wsfile_fail(c, "-%c wants a count from 0 to %lld, not "
		    "'%s'", opt, WSFILE_COUNT_MAX,
		    wsfile_show(s, shown, sizeof(shown)));
	if (c->count_opt != 0 && c->count_opt != opt)
		return wsfile_fail(c, "-c and -n cannot be given together");
	c->count_opt = opt;
	c->count = strtoll(s, NULL, 10);
	return 0;
}

/* wsfile_unknown_option - the refusal, listing what the command takes */
static int
wsfile_unknown_option(struct wsfile_cmd *c, const struct wsfile_spec *sp,
    char opt)
{
	char		 list[64];
	const char	*p;
	size_t		 n = 0;

	list[0] = '\0';
	for (p = sp->flags; *p != '\0' && n + 4 < sizeof(list); p++)
		n += snprintf(list + n, sizeof(list) - n, " -%c", *p);
	for (p = sp->counted; *p != '\0' && n + 6 < sizeof(list); p++)
		n += snprintf(list + n, sizeof(list) - n, " -%c N", *p);
	if (n == 0)
		return wsfile_fail(c, "takes no options");
	if ((unsigned char)opt <= 0x20 || (unsigned char)opt >= 0x7f)
		opt = '?';
	return wsfile_fail(c, "unknown option -%c; %s takes%s", opt, sp->name,
	    list);
}

/* wsfile_option_word - one word of options such as "-la" or "-n5" */
static int
wsfile_option_word(struct wsfile_cmd *c, const struct wsfile_spec *sp,
    const char *const *argv, int argc, int *i)
{
	const char	*w = argv[*i], *p;

	for (p = w + 1; *p != '\0'; p++) {
		if (strchr(sp->flags, *p) != NULL &&
		    (unsigned char)*p < sizeof(c->flag)) {
			c->flag[(unsigned char)*p] = 1;
			continue;
		}
		if (strchr(sp->counted, *p) == NULL)
			return wsfile_unknown_option(c, sp, *p);
		if (p[1] != '\0')
			return wsfile_count(c, *p, p + 1);
		if (*i + 1 >= argc)
			return wsfile_fail(c, "-%c wants a count", *p);
		return wsfile_count(c, *p, argv[++*i]);
	}
	return 0;
}

/* wsfile_arguments - options first, then the operands, then the rule */
static int
wsfile_arguments(struct wsfile_cmd *c, const struct wsfile_spec *sp,
    const char *const *argv, int argc)
{
	int	 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			break;
		if (wsfile_option_word(c, sp, argv, argc, &i) == -1)
			return -1;
	}
	if (argc - i > sp->max_operands || argc - i < sp->min_operands)
		return wsfile_fail(c, "%s%s", sp->operands,
		    sp->max_operands > 0 ? " per command" : "");
	for (; i < argc; i++)
		c->operand[c->noperands++] = argv[i];

	if (strcmp(sp->name, "grep") == 0 &&
	    strlen(c->operand[0]) > WSFILE_PATTERN_MAX)
		return wsfile_fail(c, "a pattern is at most %d bytes",
		    WSFILE_PATTERN_MAX);
	if (c->noperands > 0 && wsfile_check_path(c,
	    c->operand[c->noperands - 1], strcmp(sp->name, "ls") != 0) == -1)
		return -1;
	return 0;
}

/* Walking the workspace. */

/* wsfile_open_failed - why openat failed on name, a link named as such */
static int
wsfile_open_failed(struct wsfile_cmd *c, int dirfd, const char *name,
    const char *path)
{
	struct stat	 st;
	char		 shown[WSFILE_SHOWN_MAX];
	int		 saved = errno;

	wsfile_show(path, shown, sizeof(shown));
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return wsfile_fail(c, "'%s': '%s' is a symbolic link, and "
		    "links are not followed", shown, name);
	return wsfile_fail(c, "'%s': %s", shown, strerror(saved));
}

/*
 * wsfile_walk - the folder that holds path's last component, reached
 * from the root without following a link; last is that component, "."
 * when the path names the root itself.
 */
int
wsfile_walk(struct wsfile_cmd *c, const char *path, char *last,
    size_t lastlen)
{
	char	 copy[WSFILE_PATH_MAX + 1], *comp[WSFILE_PATH_MAX / 2 + 1];
	char	*save, *p;
	size_t	 n = 0, i;
	int	 fd, next;

	if ((fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return wsfile_fail(c, "the workspace: %s", strerror(errno));
	snprintf(copy, sizeof(copy), "%s", path);
	for (p = strtok_r(copy, "/", &save); p != NULL;
	    p = strtok_r(NULL, "/", &save))
		if (strcmp(p, ".") != 0)
			comp[n++] = p;

	for (i = 0; i + 1 < n; i++) {
		if ((next = openat(fd, comp[i], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1) {
			wsfile_open_failed(c, fd, comp[i], path);
			close(fd);
			return -1;
		}
		close(fd);
		fd = next;
	}
	snprintf(last, lastlen, "%s", n == 0 ? "." : comp[n - 1]);
	return fd;
}

/* wsfile_open_file - a regular file to read, and its status */
static int
wsfile_open_file(struct wsfile_cmd *c, const char *path, struct stat *st)
{
	char	 last[WSFILE_PATH_MAX + 1], shown[WSFILE_SHOWN_MAX];
	int	 dirfd, fd;

	if ((dirfd = wsfile_walk(c, path, last, sizeof(last))) == -1)
		return -1;
	/* O_NONBLOCK: a FIFO must not hold us before fstat refuses it. */
	fd = openat(dirfd, last, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		wsfile_open_failed(c, dirfd, last, path);
		close(dirfd);
		return -1;
	}
	close(dirfd);
	wsfile_show(path, shown, sizeof(shown));
	if (fstat(fd, st) == -1) {
		wsfile_fail(c, "'%s': %s", shown, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		wsfile_fail(c, "'%s' is %s", shown, S_ISDIR(st->st_mode) ?
		    "a directory" : "not a regular file");
		close(fd);
		return -1;
	}
	return fd;
}

/* wsfile_read_full - up to n bytes, fewer only at the file's end */
static ssize_t
wsfile_read_full(int fd, char *buf, size_t n)
{
	size_t	 off = 0;
	ssize_t	 r;

	while (off < n) {
		if ((r = read(fd, buf + off, n - off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		off += r;
	}
	return (ssize_t)off;
}

/* Lines. */

struct wsfile_reader {
	int	 fd;
	char	*buf;		/* WSFILE_LINE_MAX + WSFILE_CHUNK */
	size_t	 start, end;	/* bytes not yet taken */
	off_t	 offset;	/* in the file, of buf[start] */
	off_t	 read;		/* bytes read so far */
	int	 eof;
	int	 stopped;	/* at WSFILE_SCAN_MAX */
	int	 skip;		/* in the rest of a line that was cut */
};

struct wsfile_line {
	const char	*text;
	size_t		 len;
	int		 newline;	/* ended by '\n' */
	off_t		 offset;	/* of its first byte in the file */
};

static int
wsfile_reader_open(struct wsfile_cmd *c, const char *path,
    struct wsfile_reader *r)
{
	struct stat	 st;

	memset(r, 0, sizeof(*r));
	if ((r->fd = wsfile_open_file(c, path, &st)) == -1)
		return -1;
	if ((r->buf = malloc(WSFILE_LINE_MAX + WSFILE_CHUNK)) == NULL) {
		close(r->fd);
		return wsfile_fail(c, "out of memory");
	}
	return 0;
}

static void
wsfile_reader_close(struct wsfile_reader *r)
{
	free(r->buf);
	close(r->fd);
}

/* wsfile_reader_fill - read one more chunk; -1 on a read error */
static int
wsfile_reader_fill(struct wsfile_cmd *c, struct wsfile_reader *r)
{
	size_t	 want = WSFILE_CHUNK;
	ssize_t	 n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->read + (off_t)want > WSFILE_SCAN_MAX)
		want = WSFILE_SCAN_MAX - r->read;
	if (want == 0) {
		r->eof = r->stopped = 1;
		return 0;
	}
	if ((n = wsfile_read_full(r->fd, r->buf + r->end, want)) == -1)
		return wsfile_fail(c, "%s", strerror(errno));
	r->end += n;
	r->read += n;
	if (n == 0)
		r->eof = 1;
	return 0;
}

/* wsfile_take - hand out len bytes as a line, consuming skip more */
static void
wsfile_take(struct wsfile_reader *r, struct wsfile_line *l, size_t len,
    size_t skip, int newline)
{
	l->text = r->buf + r->start;
	l->len = len;
	l->newline = newline;
	l->offset = r->offset;
	r->start += len + skip;
	r->offset += len + skip;
}

/* wsfile_skip_rest - drop what is left of a line that was cut */
static void
wsfile_skip_rest(struct wsfile_reader *r)
{
	char	*nl;
	size_t	 n;

	nl = memchr(r->buf + r->start, '\n', r->end - r->start);
	n = nl == NULL ? r->end - r->start : (size_t)(nl - r->buf) + 1 -
	    r->start;
	r->start += n;
	r->offset += n;
	r->skip = nl == NULL;
}

/*
 * wsfile_reader_line - the next line, without its '\n': 1 with it, 0 at
 * the end of the file, -1 on a read error. A line longer than
 * WSFILE_LINE_MAX is cut there and the rest of it skipped.
 */
static int
wsfile_reader_line(struct wsfile_cmd *c, struct wsfile_reader *r,
    struct wsfile_line *l)
{
	char	*nl;

	for (;;) {
		if (r->skip)
			wsfile_skip_rest(r);
		if (!r->skip && (nl = memchr(r->buf + r->start, '\n',
		    r->end - r->start)) != NULL) {
			wsfile_take(r, l, nl - (r->buf + r->start), 1, 1);
			return 1;
		}
		if (!r->skip && r->end - r->start >= WSFILE_LINE_MAX) {
			wsfile_take(r, l, WSFILE_LINE_MAX, 0, 1);
			r->skip = 1;
			return 1;
		}
		if (r->eof) {
			if (r->skip || r->start == r->end)
				return 0;
			wsfile_take(r, l, r->end - r->start, 0, 0);
			return 1;
		}
		if (wsfile_reader_fill(c, r) == -1)
			return -1;
	}
}

/* wsfile_reader_done - a read error, or a note if the scan stopped */
static int
wsfile_reader_done(struct wsfile_cmd *c, struct wsfile_reader *r, int rc)
{
	if (rc != -1 && r->stopped)
		wsfile_note(c->out, "[%s stopped after reading %lld bytes]\n",
		    c->name, (long long)WSFILE_SCAN_MAX);
	wsfile_reader_close(r);
	return rc == -1 ? -1 : 0;
}

/* The commands. */

static int
wsfile_pwd(struct wsfile_cmd *c)
{
	wsfile_put(c->out, c->root, strlen(c->root));
	wsfile_put(c->out, "\n", 1);
	return 0;
}

/* wsfile_cat_line - a line as cat -T shows it: tabs as ^I */
static void
wsfile_cat_line(struct wsfile_cmd *c, const struct wsfile_line *l)
{
	const char	*p = l->text, *tab, *end = l->text + l->len;

	while (c->flag['T'] && (tab = memchr(p, '\t', end - p)) != NULL) {
		wsfile_put(c->out, p, tab - p);
		wsfile_put(c->out, "^I", 2);
		p = tab + 1;
	}
	wsfile_put(c->out, p, end - p);
	if (l->newline)
		wsfile_put(c->out, "\n", 1);
}

static int
wsfile_cat(struct wsfile_cmd *c)
{
	struct wsfile_reader	 r;
	struct wsfile_line	 l;
	long long		 number = 0;
	int			 rc = 0, blank, blank_before = 0;

	if (wsfile_reader_open(c, c->operand[0], &r) == -1)
		return -1;
	while (!c->out->truncated && (rc = wsfile_reader_line(c, &r,
	    &l)) == 1) {
		blank = l.len == 0 && l.newline;
		if (c->flag['s'] && blank && blank_before)
			continue;
		blank_before = blank;
		if (c->flag['b'] ? !blank : c->flag['n'])
			wsfile_printf(c->out, "%6lld\t", ++number);
		wsfile_cat_line(c, &l);
	}
	return wsfile_reader_done(c, &r, rc);
}

/* wsfile_bytes - n bytes of the file from offset, capped as output is */
static int
wsfile_bytes(struct wsfile_cmd *c, int fd, off_t offset, long long n)
{
	size_t	 want;
	ssize_t	 got;
	char	*buf;

	want = n > WSFILE_OUTPUT_MAX ? WSFILE_OUTPUT_MAX + 1 : (size_t)n;
	if (want == 0)
		return 0;
	if ((buf = malloc(want)) == NULL)
		return wsfile_fail(c, "out of memory");
	if (lseek(fd, offset, SEEK_SET) == -1 ||
	    (got = wsfile_read_full(fd, buf, want)) == -1) {
		free(buf);
		return wsfile_fail(c, "%s", strerror(errno));
	}
	wsfile_put(c->out, buf, got);
	free(buf);
	return 0;
}

static int
wsfile_head(struct wsfile_cmd *c)
{
	struct wsfile_reader	 r;
	struct wsfile_line	 l;
	long long		 lines = c->count_opt == 0 ? 10 : c->count;
	int			 rc = 0;

	if (wsfile_reader_open(c, c->operand[0], &r) == -1)
		return -1;
	if (c->count_opt == 'c') {
		rc = wsfile_bytes(c, r.fd, 0, c->count);
		wsfile_reader_close(&r);
		return rc;
	}
	while (lines-- > 0 && !c->out->truncated &&
	    (rc = wsfile_reader_line(c, &r, &l)) == 1) {
		wsfile_put(c->out, l.text, l.len);
		if (l.newline)
			wsfile_put(c->out, "\n", 1);
	}
	return wsfile_reader_done(c, &r, rc);
}

/*
 * wsfile_tail_start - where the last n lines of buf begin. A last line
 * without '\n' counts as a line. *whole is 0 when buf holds fewer.
 */
static size_t
wsfile_tail_start(const char *buf, size_t len, long long n, int *whole)
{
	size_t	 i = len;

	*whole = 1;
	if (n == 0)
		return len;
	if (i > 0 && buf[i - 1] == '\n')
		i--;
	for (; i > 0; i--)
		if (buf[i - 1] == '\n' && --n == 0)
			return i;
	*whole = 0;
	return 0;
}

/* wsfile_tail_lines - the last lines, read from the file's last bytes */
static int
wsfile_tail_lines(struct wsfile_cmd *c, int fd, off_t size)
{
	size_t	 window, start;
	ssize_t	 got;
	char	*buf, *nl;
	int	 whole;

	window = size > WSFILE_OUTPUT_MAX ? WSFILE_OUTPUT_MAX + 1 :
	    (size_t)size;
	if (window == 0)
		return 0;
	if ((buf = malloc(window)) == NULL)
		return wsfile_fail(c, "out of memory");
	if (lseek(fd, size - (off_t)window, SEEK_SET) == -1 ||
	    (got = wsfile_read_full(fd, buf, window)) == -1) {
		free(buf);
		return wsfile_fail(c, "%s", strerror(errno));
	}
	start = wsfile_tail_start(buf, got, c->count_opt == 0 ? 10 : c->count,
	    &whole);
	/* More lines than the cap holds: show whole lines, and say so. */
	if (!whole && (off_t)window < size) {
		nl = memchr(buf, '\n', got);
		start = nl == NULL ? (size_t)got : (size_t)(nl - buf) + 1;
	}
	wsfile_put(c->out, buf + start, got - start);
	if (!whole && (off_t)window < size)
		c->out->truncated = 1;
	free(buf);
	return 0;
}

static int
wsfile_tail(struct wsfile_cmd *c)
{
	struct stat	 st;
	int		 fd, rc;

	if ((fd = wsfile_open_file(c, c->operand[0], &st)) == -1)
		return -1;
	if (c->count_opt == 'c')
		rc = wsfile_bytes(c, fd, st.st_size > c->count ?
		    st.st_size - c->count : 0, c->count);
	else
		rc = wsfile_tail_lines(c, fd, st.st_size);
	close(fd);
	return rc;
}

struct wsfile_regex {
	pcre2_code		*code;
	pcre2_match_data	*match;
	pcre2_match_context	*context;
};

static void
wsfile_regex_free(struct wsfile_regex *re)
{
	pcre2_match_context_free(re->context);
	pcre2_match_data_free(re->match);
	pcre2_code_free(re->code);
}

/* wsfile_regex - compile grep's pattern, bytes not UTF-8, and limits */
static int
wsfile_regex(struct wsfile_cmd *c, struct wsfile_regex *re)
{
	PCRE2_UCHAR	 why[256];
	PCRE2_SIZE	 at;
	int		 code;

	memset(re, 0, sizeof(*re));
	re->code = pcre2_compile((PCRE2_SPTR)c->operand[0],
	    PCRE2_ZERO_TERMINATED, c->flag['i'] ? PCRE2_CASELESS : 0, &code,
	    &at, NULL);
	if (re->code == NULL) {
		pcre2_get_error_message(code, why, sizeof(why));
		return wsfile_fail(c, "the pattern is not valid at offset %zu: "
		    "%s", (size_t)at, (char *)why);
	}
	re->match = pcre2_match_data_create_from_pattern(re->code, NULL);
	re->context = pcre2_match_context_create(NULL);
	if (re->match == NULL || re->context == NULL) {
		wsfile_regex_free(re);
		return wsfile_fail(c, "out of memory");
	}
	pcre2_set_match_limit(re->context, WSFILE_MATCH_LIMIT);
	pcre2_set_depth_limit(re->context, WSFILE_DEPTH_LIMIT);
	pcre2_set_heap_limit(re->context, WSFILE_HEAP_LIMIT_KB);
	return 0;
}

/* wsfile_grep_line - 1 if l matches, 0 if not, -1 if PCRE2 gave up */
static int
wsfile_grep_line(struct wsfile_cmd *c, struct wsfile_regex *re,
    const struct wsfile_line *l, long long number)
{
	PCRE2_UCHAR	 why[256];
	int		 rc;

	rc = pcre2_match(re->code, (PCRE2_SPTR)l->text, l->len, 0, 0,
	    re->match, re->context);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc >= 0)
		return 1;
	pcre2_get_error_message(rc, why, sizeof(why));
	return wsfile_fail(c, "line %lld: %s", number, (char *)why);
}

static int
wsfile_grep(struct wsfile_cmd *c)
{
	struct wsfile_regex	 re;
	struct wsfile_reader	 r;
	struct wsfile_line	 l;
	long long		 number = 0;
	int			 rc = 0, m = 0;

	if (wsfile_regex(c, &re) == -1)
		return -1;
	if (wsfile_reader_open(c, c->operand[1], &r) == -1) {
		wsfile_regex_free(&re);
		return -1;
	}
	while (!c->out->truncated && (rc = wsfile_reader_line(c, &r,
	    &l)) == 1) {
		if ((m = wsfile_grep_line(c, &re, &l, ++number)) == -1)
			break;
		if (m == 0)
			continue;
		if (c->flag['n'])
			wsfile_printf(c->out, "%lld:", number);
		if (c->flag['b'])
			wsfile_printf(c->out, "%lld:", (long long)l.offset);
		wsfile_put(c->out, l.text, l.len);
		wsfile_put(c->out, "\n", 1);
	}
	wsfile_regex_free(&re);
	if (m == -1)
		rc = -1;
	return wsfile_reader_done(c, &r, rc);
}

/* Running a command. */

static const struct wsfile_spec *
wsfile_spec(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(wsfile_specs) / sizeof(wsfile_specs[0]); i++)
		if (strcmp(name, wsfile_specs[i].name) == 0)
			return &wsfile_specs[i];
	return NULL;
}

/* wsfile_finish - the truncation note, and the text shrunk to fit */
static void
wsfile_finish(struct wsfile_out *out)
{
	char	*text;

	if (out->truncated)
		wsfile_note(out, "[output truncated: more than %d bytes]\n",
		    WSFILE_OUTPUT_MAX);
	if ((text = realloc(out->text, out->len + 1)) != NULL) {
		out->text = text;
		out->size = out->len + 1;
	}
}

int
wsfile_run(const char *root, const char *const *argv, int argc,
    struct wsfile_out *out, char *err, size_t errlen)
{
	const struct wsfile_spec	*sp;
	struct wsfile_cmd		 c;
	char				 shown[WSFILE_SHOWN_MAX];

	memset(out, 0, sizeof(*out));
	if (argc < 1 || argv[0] == NULL || argv[0][0] == '\0')
		return wsfile_refuse(err, errlen, "an empty command");
	if ((sp = wsfile_spec(argv[0])) == NULL)
		return wsfile_refuse(err, errlen, "unknown command '%s': the "
		    "commands are pwd, ls, cat, head, tail and grep",
		    wsfile_show(argv[0], shown, sizeof(shown)));

	memset(&c, 0, sizeof(c));
	c.root = root;
	c.name = sp->name;
	c.out = out;
	c.err = err;
	c.errlen = errlen;
	if (wsfile_arguments(&c, sp, argv, argc) == -1)
		return -1;

	out->size = WSFILE_OUTPUT_MAX + WSFILE_NOTE_ROOM;
	if ((out->text = malloc(out->size)) == NULL) {
		memset(out, 0, sizeof(*out));
		return wsfile_refuse(err, errlen, "out of memory");
	}
	out->text[0] = '\0';
	if (sp->run(&c) == -1) {
		wsfile_out_free(out);
		return -1;
	}
	wsfile_finish(out);
	return 0;
}

int
wsfile_run_line(const char *root, const char *line, size_t len,
    struct wsfile_out *out, char *err, size_t errlen)
{
	struct wsfile_words	 w;
	int			 rc = -1;

	memset(out, 0, sizeof(*out));
	if (wsfile_split(line, len, &w, err, errlen) == 0)
		rc = wsfile_run(root, w.argv, w.argc, out, err, errlen);
	free(w.buf);
	return rc;
}
