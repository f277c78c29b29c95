/*
 * audit - admind's tamper-evident audit trail: one signed, chained record
 * per admin action, allowed or refused, logins and failed logins
 * included, in WORKSPACE/audit/audit.log. doc/audit.md is the design.
 *
 * How admind uses it:
 *
 *	if ((a = audit_open(workspace, err, sizeof(err))) == NULL)
 *		fatalx("%s", err);		before sandbox_enter
 *	...
 *	for each admin action, once login and authorization have decided:
 *	    an action whose whole effect is its answer (a login, a refusal,
 *	    a read inside the workspace, a status): do it, then
 *		if (audit_record(a, &entry, id) == -1)
 *			answer "audit trail unavailable" instead;
 *	    an action that acts on aggd or the sites: first
 *		audit_record(a, &entry with AUDIT_PENDING, id), and act only
 *		if it returned 0, sending id with each relayed request; once
 *		the results are in, audit_record(a, &entry with ae_event_id =
 *		id and AUDIT_OK or AUDIT_ERROR, NULL) before answering.
 *	audit_close(a);
 *
 * audit_record returns only once the record is on disk (write and
 * fdatasync). It redacts the password of "_login USER PASSWORD" and any
 * word shaped like a token; the caller passes the command line as typed
 * and never a token. It logs why a record could not be made; the caller
 * only refuses. Not for threads: admind records from its one loop.
 */
#ifndef ADMIND_AUDIT_H
#define ADMIND_AUDIT_H

#include <stddef.h>
#include <time.h>

#include "audit_verify.h"

#define AUDIT_ERR_MAX		512

enum audit_decision {
	AUDIT_ALLOWED,
	AUDIT_REFUSED
};

enum audit_outcome {
	AUDIT_OK,
	AUDIT_ERROR,
	AUDIT_PENDING		/* acting; a record of its outcome follows */
};

/*
 * One admin action. Strings may be NULL (recorded as ""); the peer's
 * fields are those netd stamped on the request. A refused action is
 * recorded with outcome "error", and with its reason as result when
 * ae_result is empty.
 */
struct audit_entry {
	const char		*ae_event_id;	/* NULL: a new one */
	const char		*ae_user;	/* or the name tried at login */
	const char		*ae_cn;		/* the certificate's CN */
	const char		*ae_fingerprint; /* the certificate's SHA-256 */
	const char		*ae_address;	/* the admin's address */
	const char *const	*ae_roles;
	size_t			 ae_nroles;
	const char		*ae_command;	/* the line as typed */
	const char *const	*ae_sites;	/* targets: "server", sites */
	size_t			 ae_nsites;
	enum audit_decision	 ae_decision;
	const char		*ae_reason;	/* why refused, or allowed */
	enum audit_outcome	 ae_outcome;
	const char		*ae_result;	/* a short text */
};

struct audit;

/*
 * Open the trail of workspace, making the audit key, its public key and
 * the trail at the first start; verify the whole trail with the key and
 * continue its chain. NULL with the reason in err (the first bad record
 * of a broken trail, a missing trail or key): admind must not start.
 * Opens every file it will need; call it before the seccomp filter.
 */
struct audit	*audit_open(const char *workspace, char *err, size_t);
/*
 * Append one record and make it durable. 0 and the event id in
 * event_id_out (may be NULL) once it is on disk; -1 when it could not
 * be made, and then the action must not happen or be answered.
 */
int		 audit_record(struct audit *, const struct audit_entry *,
		    char event_id_out[AUDIT_EVENT_HEX + 1]);
/* A new event id, to give requests before their record is made. */
int		 audit_new_event_id(char out[AUDIT_EVENT_HEX + 1]);
void		 audit_close(struct audit *);

/* The last record's sequence number and chain value. */
const struct audit_head *audit_head(const struct audit *);
/* Tests only: every record from now on says this time. */
void		 audit_fix_time(struct audit *, time_t);

/* audit_entry.c */

/* The record's fields up to "result", redacted, for audit.c. */
json_t		*audit_entry_json(const struct audit_entry *, long long seq,
		    const char *event, time_t);
/* "VERB by "USER"" for a log line: no secret, no control character. */
void		 audit_entry_describe(const struct audit_entry *, char *,
		    size_t);

#endif
