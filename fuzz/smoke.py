# SPDX-License-Identifier: MIT
"""One fuzzer's smoke test: every input of its seed corpus, then a fixed
number of fuzzed inputs from a fixed seed.  New inputs go to a temporary
directory (the committed corpus is never written); a crash, leak, timeout
or sanitizer report fails the test and leaves the input in ARTIFACTS.
Usage: smoke.py FUZZER CORPUS RUNS ARTIFACTS"""

import os
import subprocess
import sys
import tempfile


def main():
    fuzzer, corpus, runs, artifacts = sys.argv[1:]
    name = os.path.basename(fuzzer)
    os.makedirs(artifacts, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"lispvm-{name}-") as scratch:
        cmd = [fuzzer, f"-runs={runs}", "-seed=1", "-timeout=60", "-print_final_stats=1",
               f"-artifact_prefix={artifacts}/{name}-", scratch, corpus]
        print(" ".join(cmd), flush=True)
        rc = subprocess.run(cmd).returncode
    if rc != 0:
        print(f"{name}: failed (exit {rc}); the input is in {artifacts}, rerun it with "
              f"{fuzzer} {artifacts}/{name}-<crash-...>", file=sys.stderr)
    sys.exit(rc)


main()
