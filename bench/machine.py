# SPDX-License-Identifier: MIT
"""Where a benchmark runs.  Every benchmark calls enter() first: it
re-executes itself through tools/kvm-machine, which runs it as it is where
/dev/kvm works and inside the nested test machine where it does not, so
lispvm and the native runs it is compared with share one (emulated) CPU
and the printed ratios compare like with like."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KVM_MACHINE = os.path.join(ROOT, "tools", "kvm-machine", "kvm-machine")


def enter():
    """Returns a line naming the machine; the first call re-executes."""
    where = os.environ.get("LISPVM_KVM_WHERE")  # set by kvm-machine run
    if where is None:
        os.execv(KVM_MACHINE, [KVM_MACHINE, "run", "--python", "--",
                               os.path.abspath(sys.argv[0])] + sys.argv[1:])
    line = f"machine: {where}"
    if where.startswith("nested"):
        line += "; absolute times are emulation times, ratios compare runs on the same CPU"
    print(line, flush=True)
    return line
