/*
 * wsfile - the shell-like commands an operator may run on a workspace:
 * pwd, ls, cat, head, tail and grep, done in C inside the calling
 * process. No shell is started, no program, no child process.
 *
 *   pwd
 *   ls [-a -l -t -S -R -u] [path]
 *   cat [-n -b -s -T] file
 *   head [-c N | -n N] file	(10 lines when neither is given)
 *   tail [-c N | -n N] file
 *   grep [-n -i -b] pattern file
 *
 * Every path is relative to the workspace (the root) and is refused,
 * before anything is opened, unless it is made of A-Z a-z 0-9 . _ / -
 * only, is not absolute and has no ".." component. Symbolic links are
 * never followed, wherever they point: a link met on the way is refused,
 * and ls shows a link as itself. Only regular files named .txt .log .json
 * .csv .sh .config or .py are read, one per command. grep's pattern is a
 * PCRE2 regular expression, not a path: it is only capped in length and
 * matched byte by byte without JIT, with limits on the work per line.
 *
 * Output is deterministic: ls sorts by name in the C locale (-t by time,
 * newest first, -S by size, largest first, ties by name), prints no
 * "total" line, no owner or group (looking names up would load NSS
 * modules), and times in UTC as 2024-05-01T12:00:00Z. -a shows names
 * starting with a dot, but not "." and "..". -u uses the access time:
 * shown by -l, sorted by with -t or without -l, as GNU ls does. pwd
 * prints the root as the caller gave it.
 *
 * The text is valid UTF-8 whatever the files hold: a byte that is not
 * part of valid UTF-8, and control characters other than tab, newline
 * and carriage return, come out as '?'. It is capped at
 * WSFILE_OUTPUT_MAX bytes, cut at a line's end, and then says so in a
 * last line.
 */
#ifndef FL_WSFILE_H
#define FL_WSFILE_H

#include <stddef.h>

#define WSFILE_OUTPUT_MAX	(1024 * 1024)
#define WSFILE_ERR_MAX		512
#define WSFILE_COMMAND_MAX	4096	/* bytes of one command line */
#define WSFILE_ARGS_MAX		16	/* words of one command line */
#define WSFILE_PATH_MAX		1024
#define WSFILE_PATTERN_MAX	512

struct wsfile_out {
	char	*text;		/* NUL-terminated; NULL when empty */
	size_t	 len;
	size_t	 size;
	int	 truncated;
};

/*
 * Run one command, argv[0] being its name. Returns 0 with the text in
 * out (free it with wsfile_out_free), or -1 with out empty and the
 * reason in err: a refusal, a missing file, an unreadable one.
 */
int	wsfile_run(const char *root, const char *const *argv, int argc,
	    struct wsfile_out *out, char *err, size_t errlen);

/*
 * Split line (len bytes, which may hold a NUL that is then refused) into
 * words and run it. Words are separated by blanks; '...' and "..." quote
 * without any expansion and a backslash is an ordinary character, so
 * that a grep pattern reaches PCRE2 as written. Unquoted shell syntax
 * (; | & < > ` $( and the like) is refused with that reason, as are
 * control characters.
 */
int	wsfile_run_line(const char *root, const char *line, size_t len,
	    struct wsfile_out *out, char *err, size_t errlen);

void	wsfile_out_free(struct wsfile_out *);

#endif
