/*
 * wsfile_cmd - what wsfile.c shares with wsfile_ls.c: one command being
 * run, and the output, refusal and path helpers. Not for other modules:
 * they use wsfile.h.
 */
#ifndef FL_WSFILE_CMD_H
#define FL_WSFILE_CMD_H

#include <stddef.h>

#include "wsfile.h"

struct wsfile_cmd {
	const char		*root;
	const char		*name;		/* pwd, ls, ... */
	struct wsfile_out	*out;
	char			*err;
	size_t			 errlen;
	char			 flag[128];	/* options given, by letter */
	char			 count_opt;	/* 'c', 'n' or 0 */
	long long		 count;
	const char		*operand[2];
	int			 noperands;
};

int	wsfile_ls(struct wsfile_cmd *);

/* Output: valid UTF-8, capped; a name has no tab or newline either. */
void	wsfile_put(struct wsfile_out *, const char *, size_t);
void	wsfile_put_name(struct wsfile_out *, const char *);
void	wsfile_printf(struct wsfile_out *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* A line past the cap, saying why the output is incomplete. */
void	wsfile_note(struct wsfile_out *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* "name: " and the message into the command's err; returns -1. */
int	wsfile_fail(struct wsfile_cmd *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* A user's word made printable and short, for a message. */
const char *wsfile_show(const char *, char *, size_t);

/* The name rule; reading adds the extension rule. */
int	wsfile_check_path(struct wsfile_cmd *, const char *path, int reading);
/* The folder holding path's last component (in last), no link followed. */
int	wsfile_walk(struct wsfile_cmd *, const char *path, char *last,
	    size_t lastlen);

#endif
