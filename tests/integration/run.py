#!/usr/bin/env python3
"""Runs every test_* function of tests/integration/test_*.py, or those
whose name (file.function) holds one of the arguments.
Prints one line per test and ends with "N passed, N failed"."""
import importlib.util
import os
import sys
import time
import traceback

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import lib  # noqa: E402


def main():
    only = sys.argv[1:]
    passed = failed = skipped = 0
    for fn in sorted(os.listdir(here)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(fn[:-3], os.path.join(here, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(n for n in dir(mod) if n.startswith("test_")):
            full = f"{fn[:-3]}.{name}"
            if only and not any(o in full for o in only):
                continue
            t0 = time.monotonic()
            try:
                getattr(mod, name)()
            except lib.Skip as e:
                print(f"skip {full}: {e}", flush=True)
                skipped += 1
                continue
            except Exception:
                print(f"FAIL {full}", flush=True)
                traceback.print_exc()
                failed += 1
                continue
            print(f"ok   {full} ({time.monotonic() - t0:.2f}s)", flush=True)
            passed += 1
    if skipped:
        print(f"({skipped} skipped)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
