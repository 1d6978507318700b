# SPDX-License-Identifier: MIT
"""Debian's SBCL in lispvm exec, against native SBCL: the same script on
stdin (`sbcl --script /dev/stdin`), same stdout and exit status.  A first
proof of what the Lisp issues build on: the core maps, threads start and
are preempted, Lisp errors arrive as conditions from traps, with-timeout
(SIGALRM), interrupt-thread (tgkill), GC with allocating threads
(stop-the-world signals) and the compiler work.
Usage: sbcl.py CASE LISPVM"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import describe, expect, main, require_kvm, run  # noqa: E402

SBCL = "/usr/bin/sbcl"

SCRIPT = """
(print (sb-thread:join-thread (sb-thread:make-thread (lambda () (* 6 7)))))
(print (handler-case (car (read-from-string "5")) (error (e) (type-of e))))
(print (handler-case (/ 1 (read-from-string "0")) (error (e) (type-of e))))
(print (handler-case (funcall (read-from-string "no-such-function")) (error (e) (type-of e))))
(print (length (make-list 100000)))
(sb-ext:gc :full t)
(print :gc-ok)
(print (funcall (compile nil '(lambda (x) (* x x))) 12))
(print (let ((m (sb-thread:make-mutex)) (n 0))
         (mapc #'sb-thread:join-thread
               (loop repeat 4 collect
                 (sb-thread:make-thread
                   (lambda () (dotimes (i 100) (sb-thread:with-mutex (m) (incf n)))))))
         n))
(print (handler-case (sb-ext:with-timeout 0.2 (loop)) (sb-ext:timeout () :timed-out)))
(let* ((flag nil)
       (th (sb-thread:make-thread (lambda () (loop until flag) :interrupted))))
  (sleep 0.05)
  (sb-thread:interrupt-thread th (lambda () (setf flag t)))
  (print (sb-thread:join-thread th)))
(print (mapcar #'sb-thread:join-thread
               (loop repeat 4 collect
                 (sb-thread:make-thread
                   (lambda () (let ((l nil)) (dotimes (i 100000) (push i l)) (length l)))))))
(sb-ext:gc :full t)
(terpri)
(sb-ext:exit :code 7)
"""


def script_matches_native(lispvm):
    require_kvm()
    native = subprocess.run([SBCL, "--script", "/dev/stdin"], input=SCRIPT,
                            capture_output=True, text=True, timeout=120)
    expect(native.returncode == 7, f"native SBCL: {describe(native)}")
    tmp = tempfile.mkdtemp(prefix="lispvm-sbcl-test-")
    try:
        image = os.path.join(tmp, "sbcl.erofs")
        built = run([lispvm, "image", "build", "-o", image, "--ldd", SBCL,
                     "/usr/lib/sbcl:/usr/lib/sbcl"], timeout=300)
        expect(built.returncode == 0, f"image build: {describe(built)}")
        proc = run([lispvm, "exec", "--timeout", "240", "--image", image, "--",
                    SBCL, "--script", "/dev/stdin"], input=SCRIPT, timeout=300)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    expect(proc.stdout == native.stdout,
           f"stdout differs\n--- lispvm ---\n{proc.stdout}--- native ---\n{native.stdout}"
           f"--- lispvm stderr ---\n{proc.stderr[-3000:]}")
    expect(proc.returncode == 7, f"expected exit 7: {describe(proc)}")


main({"script_matches_native": script_matches_native})
