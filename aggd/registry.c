/*
 * registry - the project's sites, their tokens and their last contact.
 *
 * There is one slot per site that authorization.json names, so a site
 * has one entry at most by construction: registering again replaces its
 * token, and the old one dies. A token is 128 random bits; comparisons
 * take constant time. Times are monotonic seconds given by the caller,
 * which keeps this file free of clocks and easy to test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggd.h"
#include "log.h"

int
registry_init(struct registry *reg, char *const *names, size_t n,
    int max_clients, double timeout)
{
	size_t	 i;

	memset(reg, 0, sizeof(*reg));
	if ((reg->sites = calloc(n == 0 ? 1 : n, sizeof(*reg->sites))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		reg->sites[i].name = names[i];
		reg->sites[i].id = i;
	}
	reg->nsites = n;
	reg->max_clients = max_clients;
	reg->timeout = timeout;
	return 0;
}

void
registry_free(struct registry *reg)
{
	size_t	 i;

	for (i = 0; i < reg->nsites; i++)
		explicit_bzero(reg->sites[i].token,
		    sizeof(reg->sites[i].token));
	free(reg->sites);
	memset(reg, 0, sizeof(*reg));
}

/* registry_site - the project's site of that name, registered or not */
struct site *
registry_site(struct registry *reg, const char *name)
{
	size_t	 i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < reg->nsites; i++)
		if (strcmp(reg->sites[i].name, name) == 0)
			return &reg->sites[i];
	return NULL;
}

static void
registry_touch(struct site *site, double now)
{
	site->last_contact = now;
	site->last_contact_wall = time(NULL);
}

/*
 * registry_register - a fresh token for site. A site already registered
 * keeps its slot and loses its old token; a new one needs room under
 * max_num_clients.
 */
enum fl_status
registry_register(struct registry *reg, struct site *site, double now,
    char *msg, size_t len)
{
	char	 token[TOKEN_HEX_LEN + 1];

	if (!site->registered && reg->max_clients > 0 &&
	    reg->nregistered >= (size_t)reg->max_clients) {
		snprintf(msg, len, "max_num_clients (%d) reached: %s cannot "
		    "register", reg->max_clients, site->name);
		return FL_RESOURCE_EXHAUSTED;
	}
	if (digest_random_token(token) == -1) {
		snprintf(msg, len, "no token could be made");
		return FL_INTERNAL;
	}

	memcpy(site->token, token, sizeof(site->token));
	explicit_bzero(token, sizeof(token));
	if (!site->registered)
		reg->nregistered++;
	site->registered = 1;
	site->may_refetch = 1;
	registry_touch(site, now);
	msg[0] = '\0';
	return FL_OK;
}

/* registry_token_wellformed - 32 lowercase or uppercase hex digits */
int
registry_token_wellformed(const char *token)
{
	size_t	 i;

	if (token == NULL || strlen(token) != TOKEN_HEX_LEN)
		return 0;
	for (i = 0; i < TOKEN_HEX_LEN; i++)
		if (strchr("0123456789abcdefABCDEF", token[i]) == NULL)
			return 0;
	return 1;
}

/*
 * registry_authenticate - token must be the live token of site, the one
 * its certificate names. Success counts as a sign of life.
 */
enum fl_status
registry_authenticate(struct registry *reg, struct site *site,
    const char *token, double now, char *msg, size_t len)
{
	if (token == NULL || token[0] == '\0') {
		snprintf(msg, len, "missing token: register first");
		return FL_INVALID_ARGUMENT;
	}
	if (!registry_token_wellformed(token)) {
		snprintf(msg, len, "malformed token: expected %d hex digits",
		    TOKEN_HEX_LEN);
		return FL_INVALID_ARGUMENT;
	}
	if (!site->registered || !digest_equal(site->token, token)) {
		snprintf(msg, len, "unknown or expired token for %s: "
		    "register again", site->name);
		return FL_UNAUTHENTICATED;
	}
	registry_touch(site, now);
	msg[0] = '\0';
	return FL_OK;
}

/* registry_remove - site leaves; its token dies with it */
void
registry_remove(struct registry *reg, struct site *site)
{
	if (!site->registered)
		return;
	explicit_bzero(site->token, sizeof(site->token));
	site->registered = 0;
	site->may_refetch = 0;
	reg->nregistered--;
}

/* registry_expired - a registered site silent for longer than the
 * heartbeat timeout, or NULL */
struct site *
registry_expired(struct registry *reg, double now)
{
	size_t	 i;

	for (i = 0; i < reg->nsites; i++)
		if (reg->sites[i].registered &&
		    now - reg->sites[i].last_contact > reg->timeout)
			return &reg->sites[i];
	return NULL;
}
