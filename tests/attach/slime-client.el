;;; slime-client.el --- a real SLIME client for lispvm's Swank test -*- lexical-binding: t -*-
;; SPDX-License-Identifier: MIT
;; emacs --batch -l slime-client.el PORT: connects to 127.0.0.1:PORT as
;; M-x slime-connect would, evaluates (+ 1 2) and a form that signals an
;; error, and prints what came back: "result: 3", then the debugger's
;; condition and its backtrace as SLDB shows them; aborts, evaluates once
;; more, and sets the test program's *done*.  Exit 0 when all came.

(require 'slime)
(slime-setup '())

(defvar lispvm-port (string-to-number (car command-line-args-left)))
(setq command-line-args-left nil)

(defun lispvm-wait (what predicate seconds)
  (let ((deadline (+ (float-time) seconds)))
    (while (and (not (funcall predicate)) (< (float-time) deadline))
      (accept-process-output nil 0.1))
    (unless (funcall predicate)
      (princ (format "timeout waiting for %s\n" what))
      (kill-emacs 1))))

;; No questions in batch mode (e.g. about a version mismatch).
(defalias 'yes-or-no-p (lambda (&rest _) t))
(defalias 'y-or-n-p (lambda (&rest _) t))

(slime-connect "127.0.0.1" lispvm-port)
(lispvm-wait "the connection" #'slime-connected-p 120)
(lispvm-wait "the connection's info" (lambda () (slime-lisp-implementation-name)) 60)
(princ (format "connected: %s %s\n" (slime-lisp-implementation-name)
               (slime-lisp-implementation-version)))
(princ (format "result: %s\n" (slime-eval '(cl:+ 1 2))))

(slime-eval-async '(cl:error "lispvm boom ~a" 42) (lambda (_) nil))
(lispvm-wait "the debugger" (lambda () (sldb-get-default-buffer)) 60)
(with-current-buffer (sldb-get-default-buffer)
  (lispvm-wait "the backtrace" (lambda () (save-excursion (goto-char (point-min))
                                                          (search-forward "Backtrace:" nil t)))
               30)
  (princ (format "sldb:\n%s\n" (buffer-substring-no-properties (point-min) (point-max))))
  (sldb-quit))
(lispvm-wait "the debugger to close" (lambda () (not (sldb-get-default-buffer))) 30)
(princ (format "after abort: %s\n" (slime-eval '(cl:* 6 7))))
;; The test's program (busy.lisp) ends when told to, taking the
;; connection with it: no reply to wait for.
(slime-eval-async '(cl:setf cl-user::*done* cl:t) (lambda (_) nil))
(accept-process-output nil 1)
(kill-emacs 0)
