#!/usr/bin/env python3
"""Prints the closing line over meson test logs: 'N passed, N failed, N skipped', then every
check a test skipped, with why (lines marked 'sluice-skip:' in a test's output: a test whose
data lives in ../shared skips that check in a clone without it)."""
import json
import sys

MARK = "sluice-skip:"
passed = failed = skipped = 0
skips = []
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                result = rec.get("result")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:
                    failed += 1
                out = (rec.get("stdout") or "") + (rec.get("stderr") or "")
                for text in out.splitlines():
                    if MARK in text:
                        note = f"{rec.get('name', '?')}: {text.split(MARK, 1)[1].strip()}"
                        if note not in skips:
                            skips.append(note)
    except FileNotFoundError:
        failed += 1
        print(f"missing test log {path}", file=sys.stderr)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
if skips:
    print(f"skipped checks ({len(skips)}):")
    for s in skips:
        print(f"  {s}")
