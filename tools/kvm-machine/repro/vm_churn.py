#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reproducer, no lispvm involved: create and destroy N KVM VMs (in-kernel
irqchip, one vCPU), printing every 100th.  In the test machine without its
pinned VM (LISPVM_TEST_MACHINE_PIN=0), two of these at once hang both
emulated CPUs within a few hundred VMs (docs/testing.md):

    LISPVM_TEST_MACHINE_PIN=0 tools/kvm-machine/kvm-machine run -- sh -c \\
        'python3 tools/kvm-machine/repro/vm_churn.py 2000 & python3 tools/kvm-machine/repro/vm_churn.py 2000; wait'
"""
import fcntl
import os
import sys

KVM_CREATE_VM, KVM_CREATE_IRQCHIP, KVM_CREATE_VCPU = 0xAE01, 0xAE60, 0xAE41

count = int(sys.argv[1])
for i in range(count):
    kvm = os.open("/dev/kvm", os.O_RDWR)
    vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    fcntl.ioctl(vm, KVM_CREATE_IRQCHIP, 0)
    vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
    for fd in (vcpu, vm, kvm):
        os.close(fd)
    if i % 100 == 0:
        print(i, flush=True)
print("done", count)
