;;;; SPDX-License-Identifier: MIT
;;;; A program to attach to: one thread computes without pause (counting
;;;; its rounds in *spins*), the main thread waits until someone sets
;;;; *done*, then exits with status 7.

(defvar *spins* 0)
(defvar *done* nil)

(defun spin (n)
  (loop (setf n (mod (1+ (* n 7)) 1000003))
        (when (zerop n) (return n))))

(defun busy-worker ()
  (loop (spin 1) (incf *spins*)))

(sb-thread:make-thread #'busy-worker :name "busy worker")
(format t "ready~%")
(finish-output)
(loop until *done* do (sleep 0.1))
(format t "main exits~%")
(finish-output)
(sb-ext:exit :code 7 :abort t)
