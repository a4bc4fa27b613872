"""Print the protocol benchmark as JSON: `python shared/bench/bench_protocol.py [--quick]`.

The implementation is `robohead.protocol.bench.run_benchmark()` (importable, returns a dict).
"""

from __future__ import annotations

import json
import sys

from robohead.protocol.bench import run_benchmark


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    result = run_benchmark(batch=200, repeats=3) if quick else run_benchmark()
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
