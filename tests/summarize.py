"""Prints the closing line of a meson test run from its testlog.json.

Each meson test counts once; a TAP suite counts as one test whose subtests
are listed alongside. Output: `tests: N passed, N failed, N skipped`.
"""
import json
import sys

passed = failed = skipped = 0
subtests = 0
with open(sys.argv[1]) as f:
    for line in f:
        t = json.loads(line)
        result = t.get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
            print(f"failed: {t.get('name')} ({result})")
        out = t.get("stdout") or ""
        subtests += sum(1 for l in out.splitlines() if l.startswith(("ok ", "not ok ")))
print(f"({subtests} TAP subtests inside the unit suites)")
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
