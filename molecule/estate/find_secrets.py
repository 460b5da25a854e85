#!/usr/bin/env python3
"""Search files for known secret values; print where each one occurs, never the value.

    find_secrets.py [--pem NAME=PATH ...] FILE... < secrets.json

secrets.json maps a name to a value or a list of values. Each --pem file adds its body lines
(the base64 lines between the BEGIN/END markers) as values of NAME: a private key copied
into a log, a diff or a JSON string shows up line by line. Exit status 1 when any value
occurs, 2 on bad input.
"""

import argparse
import json
import re
import sys

MIN_LENGTH = 12
PEM_MIN_LINE = 20


def pem_body_lines(path):
    with open(path, encoding="ascii") as handle:
        return [line.strip() for line in handle
                if line.strip() and not line.startswith("-----") and len(line.strip()) >= PEM_MIN_LINE]


def bad_input(message):
    print(message, file=sys.stderr)
    raise SystemExit(2)


def load_needles(raw, pems):
    needles = []
    for name, values in raw.items():
        for value in values if isinstance(values, list) else [values]:
            value = str(value).strip()
            if len(value) < MIN_LENGTH:
                bad_input("secret %s: a value of %d characters is too short to search for" % (name, len(value)))
            needles.append((name, value))
    for spec in pems:
        name, _, path = spec.partition("=")
        lines = pem_body_lines(path)
        if not lines:
            bad_input("secret %s: %s holds no PEM body" % (name, path))
        needles.extend((name, line) for line in lines)
    return needles


def search(path, needles):
    any_needle = re.compile("|".join(re.escape(value) for _, value in needles))
    hits = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if any_needle.search(line):
                hits.extend((name, path, number) for name in sorted({n for n, v in needles if v in line}))
    return hits


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pem", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    needles = load_needles(json.load(sys.stdin), args.pem)
    hits = [hit for path in args.files for hit in search(path, needles)]
    for name, path, number in hits:
        print("FOUND %s in %s:%d" % (name, path, number))
    names = sorted({name for name, _ in needles})
    print("searched %d files for %d values of %d secrets (%s): %d occurrences"
          % (len(args.files), len(needles), len(names), ", ".join(names), len(hits)))
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
