/*
 * cmdline - a console command line: its words, the command they name,
 * and the shape of its arguments.
 *
 * No shell is involved anywhere. Words are split on spaces; a quoted
 * part ('...' or "...") keeps its spaces; control characters are
 * refused. The command is looked up in a table of commands by name or
 * by scope.name; a name that two scopes share must be qualified. The
 * arguments are checked against the command's shape (a run number,
 * targets, a site name...) before anything else looks at them. What a
 * path argument may name is not decided here: common/wsfile.c does that
 * after authorization.
 */
#ifndef ADMIND_CMDLINE_H
#define ADMIND_CMDLINE_H

#include <stddef.h>

#include "authz.h"

#define CMDLINE_MAX		4096	/* bytes of a command line */
#define CMDLINE_WORDS_MAX	40
#define CMDLINE_ERR_MAX		256
#define CMDLINE_NAME_MAX	64	/* a site's name, as its CN */
#define CMDLINE_USER_MAX	128	/* a user's name */
#define CMDLINE_NUMBER_MAX	1000000000LL
/* Seconds set_timeout accepts: netd gives a command 60 s in all. */
#define CMDLINE_TIMEOUT_MAX	50

struct cmdline {
	char	*buf;			/* the words, NUL-terminated */
	char	*argv[CMDLINE_WORDS_MAX + 1];
	int	 argc;
};

/* What a command's arguments must look like. */
enum cmd_shape {
	SHAPE_NONE,		/* nothing */
	SHAPE_LOGIN,		/* USER PASSWORD */
	SHAPE_USER,		/* USER */
	SHAPE_RUN,		/* N, N >= 1 */
	SHAPE_SECONDS,		/* S, 1 to CMDLINE_TIMEOUT_MAX */
	SHAPE_TARGETS,		/* server | client [SITE...] | all */
	SHAPE_DEPLOY,		/* MMAR, then targets */
	SHAPE_MMAR,		/* MMAR */
	SHAPE_SITE,		/* SITE */
	SHAPE_VALIDATE,		/* all | SITE OWNER */
	SHAPE_SHELL		/* server|SITE [WORD...] */
};

/* The targets a SHAPE_TARGETS or SHAPE_DEPLOY command accepts. */
#define TARGET_SERVER	0x1
#define TARGET_CLIENT	0x2
#define TARGET_ALL	0x4

struct command_run;
typedef void	 command_fn(struct command_run *);

struct command {
	const char	*c_scope;
	const char	*c_name;
	const char	*c_usage;	/* the arguments, for messages */
	enum cmd_shape	 c_shape;
	int		 c_targets;	/* TARGET_* accepted */
	int		 c_max_words;	/* SHAPE_SHELL: after the target */
	enum authz_right c_right;	/* needed at each target */
	int		 c_flags;	/* CMD_* */
	command_fn	*c_run;
};

#define CMD_LOGIN	0x1	/* opens a session: none needed */
#define CMD_ACTS	0x2	/* changes something: audited before */

struct cmd_args {
	int		 target;	/* one TARGET_*, 0: none */
	char *const	*sites;		/* named sites, inside the cmdline */
	size_t		 nsites;
	long long	 number;	/* SHAPE_RUN, SHAPE_SECONDS */
	const char	*name;		/* USER, MMAR or SITE */
	const char	*second;	/* PASSWORD or OWNER */
	char *const	*words;		/* SHAPE_SHELL: after the target */
	int		 nwords;
};

/* 0 with the words, or -1 with why; cmdline_free either way is safe. */
int	cmdline_split(const char *line, struct cmdline *,
	    char err[CMDLINE_ERR_MAX]);
void	cmdline_free(struct cmdline *);

/*
 * The command that word names in table, or NULL with why: unknown, or
 * in two scopes and not qualified.
 */
const struct command *cmdline_find(const struct command *table, size_t n,
	    const char *word, char err[CMDLINE_ERR_MAX]);

/* The arguments after the command word, checked against its shape. */
int	cmdline_args(const struct command *, const struct cmdline *,
	    struct cmd_args *, char err[CMDLINE_ERR_MAX]);

/*
 * The text of line after its first n words, as typed: quotes and all,
 * for a command that another module splits again by the same rules.
 */
const char	*cmdline_rest(const char *line, int n);

/* 1 if name may be a site's name: [A-Za-z0-9._@-], 1 to 64 bytes. */
int	cmdline_site_name(const char *name);

#endif
