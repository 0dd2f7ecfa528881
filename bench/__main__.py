"""Run every benchmark module and print one JSON object.

Each module in MODULES has ``run() -> dict[str, float]``. Progress goes to stderr; a module
that fails reports ``<module>_error`` instead of figures, and the others still run.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback

MODULES = ("bench.desk", "bench.documents", "bench.signing", "bench.imaging", "bench.sync",
           "bench.synced_issue", "bench.seal", "bench.hub", "bench.signing_lta",
           "bench.dashboard", "bench.legacy")


def main(argv: list[str]) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    wanted = [m if m.startswith("bench.") else f"bench.{m}" for m in argv] or list(MODULES)
    results: dict[str, object] = {}
    failed = False
    for name in wanted:
        started = time.perf_counter()
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        try:
            results.update(module.run())
        except Exception as exc:  # noqa: BLE001 - reported, the other benchmarks go on
            traceback.print_exc(file=sys.stderr)
            results[name.split(".")[-1] + "_error"] = f"{type(exc).__name__}: {exc}"
            failed = True
        print(f"bench: {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
