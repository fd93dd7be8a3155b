"""Prints the closing line of tests/run from the testlog.json of each meson
test run (one per setup: plain build, sanitizers, memcheck).

Usage: summarize.py LABEL=TESTLOG [LABEL=TESTLOG ...]

Each meson test counts once per setup; a TAP suite counts as one test whose
subtests are listed alongside. A setup whose log is missing counts as one
failure (it did not run). Output ends with
`tests: N passed, N failed, N skipped`.
"""
import json
import sys

passed = failed = skipped = 0
subtests = 0
for arg in sys.argv[1:]:
    label, _, path = arg.partition("=")
    try:
        f = open(path)
    except OSError as e:
        failed += 1
        print(f"failed: {label}: no test log ({e.strerror})")
        continue
    with f:
        for line in f:
            t = json.loads(line)
            result = t.get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                print(f"failed: {label}: {t.get('name')} ({result})")
            out = t.get("stdout") or ""
            subtests += sum(1 for l in out.splitlines() if l.startswith(("ok ", "not ok ")))
print(f"({subtests} TAP subtests inside the unit suites, all setups)")
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
