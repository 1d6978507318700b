# SPDX-License-Identifier: MIT
"""Test suites nobody here wrote: the ones Debian's cl-* packages ship,
loaded with ASDF and run natively and under `lispvm run`.  The suite's
own report (counts, the names of failing tests, its summary) must be the
same on both sides, whatever it says: a suite that fails natively must
fail the same way in lispvm.  Exit codes are not compared (several suites
exit 0 on failures).
Usage: cl_suites.py SYSTEM LISPVM CACHE_DIR"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import describe, expect, main, require_kvm, run  # noqa: E402

SBCL = "/usr/bin/sbcl"
RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lisp", "run-suite.lisp")
# System, its test system (as each library's .asd names it), and the
# package that provides it.
SUITES = {
    "alexandria": ("alexandria-tests", "cl-alexandria"),
    "cl-ppcre": ("cl-ppcre/test", "cl-ppcre"),
    "flexi-streams": ("flexi-streams-test", "cl-flexi-streams"),
    "split-sequence": ("split-sequence/tests", "cl-split-sequence"),
    "fiveam": ("fiveam/test", "cl-fiveam"),
    "ironclad": ("ironclad/tests", "cl-ironclad"),
    "iterate": ("iterate/tests", "cl-iterate"),
    "parse-number": ("parse-number/tests", "cl-parse-number"),
    "trivial-garbage": ("trivial-garbage/tests", "cl-trivial-garbage"),
}
REPORT = re.compile(r"^==== (\S+) test output$(.*?)^==== end$", re.M | re.S)


def report(proc, system):
    """The suite's report, with what differs between any two runs of any
    SBCL (object addresses, times) masked."""
    match = REPORT.search(proc.stdout)
    expect(match is not None and match.group(1) == system,
           f"no test report from {system}: {describe(proc)[-4000:]}")
    text = re.sub(r"\{[0-9A-F]+\}", "{…}", match.group(2))
    # Heap words in dumps of objects (10029B2670: 501038C300001C39 = ...):
    # which words point at what depends on the heap's layout in that run.
    text = re.sub(r"\b[0-9A-F]{8,}\b", "#", text)
    text = re.sub(r"^#: #( = .*)?$", "#: #", text, flags=re.M)
    text = re.sub(r"\d+(\.\d+)? (seconds|secs?|ms)\b", "N \\2", text)
    return text.strip()


def suite(system):
    test_system, package = SUITES[system]

    def native_report(cache):
        return report(run([SBCL, "--script", RUNNER, system, test_system], timeout=1800,
                          env={**os.environ, "XDG_CACHE_HOME": os.path.join(cache, "native")}),
                      system)

    def case(lispvm, cache):
        expect(os.path.isdir("/usr/share/common-lisp/source"),
               f"Debian's {package} is not installed (tools/setup installs it)")
        want = native_report(cache)
        require_kvm()
        vm = run([lispvm, "--timeout", "3000", "run", "--cache", cache, RUNNER, system,
                  test_system], timeout=3300)
        got = report(vm, system)
        if got != want:
            # Some suites test what a finalizer thread or a GC does by a
            # deadline (trivial-garbage's FINALIZERS.5 failed natively on a
            # loaded host): a native report that changes between two runs
            # is no reference.  The second native run decides.
            again = native_report(cache)
            if again == got:
                print(f"{system}: the native report changed between runs; the second "
                      f"matches lispvm's\n--- first native ---\n{want}", file=sys.stderr)
                want = again
        expect(got == want, f"{system}: the suite reports differently\n--- lispvm ---\n{got}"
                            f"--- native ---\n{want}")
    return case


main({system: suite(system) for system in SUITES})
