#!/bin/sh
# check-units - every systemd unit of flserver is exposed at most 2.0 by
# systemd-analyze's measure ("security --offline=true" scores a unit file
# without running it, so no systemd as PID 1 is needed). Prints each
# unit's score; fails naming the units above the limit.
set -eu

LIMIT=2.0
units=$(cd "$(dirname "$0")/../../packaging/systemd" && pwd)

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "check-units: systemd-analyze is missing (Debian package" \
	    "systemd)" >&2
	exit 1
fi

failed=""
for unit in "$units"/flserver-*.service; do
	name=$(basename "$unit")
	score=$(systemd-analyze security --offline=true "$unit" 2>&1 |
	    sed -n 's/^.*Overall exposure level for [^:]*: \([0-9.]*\).*$/\1/p')
	if [ -z "$score" ]; then
		echo "$name: no score from systemd-analyze:"
		systemd-analyze security --offline=true "$unit" 2>&1 | tail -5
		failed="$failed $name"
	elif awk -v s="$score" -v l="$LIMIT" 'BEGIN { exit !(s > l) }'; then
		echo "$name: $score, above $LIMIT"
		failed="$failed $name"
	else
		echo "$name: $score"
	fi
done

if [ -n "$failed" ]; then
	echo "check-units: exposed above $LIMIT:$failed" >&2
	exit 1
fi
