/*
 * audit_verify - the audit trail's record format and its verification,
 * shared by admind (which writes the trail and checks it at start) and
 * flaudit (which an auditor runs on a copy).
 *
 * A trail is one JSON object per line, keys in a fixed order, compact.
 * Each record names the chain value of the record before it ("prev"),
 * carries its own ("chain", SHA-256 of the record's bytes without chain
 * and sig) and an Ed25519 signature of that value ("sig"). doc/audit.md
 * says what each field means and what each attack looks like here.
 *
 * This module reads and checks; it never writes a trail, holds no
 * private key and logs nothing: it answers with a verdict.
 */
#ifndef FL_AUDIT_VERIFY_H
#define FL_AUDIT_VERIFY_H

#include <sys/types.h>

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#define AUDIT_CHAIN_HEX		64	/* SHA-256 */
#define AUDIT_SIG_HEX		128	/* Ed25519 */
#define AUDIT_EVENT_HEX		32	/* 128 random bits */
/* No record admind writes comes near this; a longer line is not one. */
#define AUDIT_LINE_MAX		(64 * 1024)
#define AUDIT_REASON_MAX	256

/* The "prev" of the first record. */
extern const char	audit_verify_genesis[AUDIT_CHAIN_HEX + 1];

/* A record's sequence number and chain value, as published in the log. */
struct audit_head {
	long long	 ah_seq;
	char		 ah_chain[AUDIT_CHAIN_HEX + 1];
};

enum audit_break {
	AUDIT_INTACT,
	AUDIT_UNREADABLE,	/* the file could not be read */
	AUDIT_MALFORMED,	/* not a record as admind writes one */
	AUDIT_EDITED,		/* content does not match its chain value */
	AUDIT_FORGED,		/* signature does not verify with the key */
	AUDIT_DELETED,		/* records missing before this one */
	AUDIT_INSERTED,		/* a sequence number repeats */
	AUDIT_REORDERED,	/* sequence goes back, or comes later */
	AUDIT_UNLINKED,		/* prev is not the chain of the one before */
	AUDIT_REWRITTEN,	/* chain differs from a published head */
	AUDIT_TRUNCATED,	/* ends before a published head */
	AUDIT_INCOMPLETE	/* last line has no end of line */
};

struct audit_verdict {
	enum audit_break	 av_break;
	long long		 av_records;	/* records that verified */
	struct audit_head	 av_head;	/* the last of them */
	off_t			 av_size;	/* bytes of those records */
	long long		 av_seq;	/* the first bad record */
	long long		 av_line;	/* its line, from 1 */
	char			 av_reason[AUDIT_REASON_MAX];
};

/*
 * Check the whole trail open on fd (read from its start with pread, so
 * fd's offset is left alone) against key and each published head. 0
 * when intact; -1 with the first bad record in the verdict otherwise.
 */
int	audit_verify_fd(int fd, EVP_PKEY *key, const struct audit_head *heads,
	    size_t nheads, struct audit_verdict *);

/*
 * The record's canonical bytes without "chain" and "sig", which the
 * chain value is the SHA-256 of. NULL when out of memory; free(3) it.
 */
char	*audit_verify_body(const json_t *record);
/* Whether sig_hex is key's Ed25519 signature of chain_hex's 32 bytes. */
int	 audit_verify_sig(EVP_PKEY *key, const char *chain_hex,
	    const char *sig_hex);

/* An Ed25519 public key from a PEM file; NULL with the reason in err. */
EVP_PKEY *audit_verify_load_key(const char *path, char *err, size_t);
/* SHA-256 of the key's DER SubjectPublicKeyInfo, as hex. -1 on failure. */
int	 audit_verify_fingerprint(EVP_PKEY *key,
	    char out[AUDIT_CHAIN_HEX + 1]);
/* "SEQ:CHAIN" as the log line "audit: seq SEQ chain CHAIN" gives them. */
int	 audit_verify_parse_head(const char *, struct audit_head *);

#endif
