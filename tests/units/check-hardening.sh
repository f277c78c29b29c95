#!/bin/sh
# check-hardening - every program flserver builds and installs is a PIE
# with full RELRO, a stack canary, a non-executable stack and
# FORTIFY_SOURCE, as checksec reads them. A program with nothing to
# fortify (checksec's "fortify-able" 0) counts as fortified: checksec
# says "no" for it. Fails naming each program and what it lacks, or that
# it was not built.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
# Built by every make; the tools only once their sources exist.
PROGRAMS="netd aggd admind flsite"
TOOLS="fladmin flaudit"

for tool in $TOOLS; do
	[ ! -f "$top/tools/$tool.c" ] || PROGRAMS="$PROGRAMS $tool"
done

if ! command -v checksec >/dev/null 2>&1; then
	echo "check-hardening: checksec is missing (Debian package checksec)" >&2
	exit 1
fi

failed=""
for prog in $PROGRAMS; do
	bin="$top/build/$prog"
	if [ ! -x "$bin" ]; then
		echo "$prog: not built ($bin)"
		failed="$failed $prog"
		continue
	fi
	if lacks=$(checksec --output=json --file="$bin" | /usr/bin/python3 -c '
import json, sys
(props,) = json.load(sys.stdin).values()
lacks = []
if props.get("pie") != "yes":
	lacks.append("PIE")
if props.get("relro") != "full":
	lacks.append("full RELRO (relro: %s)" % props.get("relro"))
if props.get("canary") != "yes":
	lacks.append("stack canary")
if props.get("nx") != "yes":
	lacks.append("NX")
if props.get("fortify_source") != "yes" and props.get("fortify-able") != "0":
	lacks.append("FORTIFY_SOURCE (%s of %s calls fortified)" %
	    (props.get("fortified"), props.get("fortify-able")))
print(", ".join(lacks))
sys.exit(1 if lacks else 0)
'); then
		echo "$prog: PIE, full RELRO, canary, NX, FORTIFY"
	else
		echo "$prog: lacks $lacks"
		failed="$failed $prog"
	fi
done

if [ -n "$failed" ]; then
	echo "check-hardening: not hardened:$failed" >&2
	exit 1
fi
