# SPDX-License-Identifier: MIT
"""Where a benchmark runs.  Every benchmark calls enter() first: where
/dev/kvm is missing it re-executes itself inside the nested test machine
(tools/kvm-machine), so lispvm and the native runs it is compared with
share one (emulated) CPU and the printed ratios compare like with like."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KVM_MACHINE = os.path.join(ROOT, "tools", "kvm-machine", "kvm-machine")


def enter():
    """Returns a line naming the machine; may not return (re-exec)."""
    nested = os.environ.get("LISPVM_NESTED")
    if nested:
        where = f"machine: nested KVM in the test machine ({nested}); absolute times are " \
                "emulation times, ratios compare runs on the same emulated CPU"
    elif os.access("/dev/kvm", os.R_OK | os.W_OK):
        where = "machine: hardware KVM"
    else:
        os.execv(KVM_MACHINE, [KVM_MACHINE, "run", "--python", "--",
                               os.path.abspath(sys.argv[0])] + sys.argv[1:])
    print(where, flush=True)
    return where
