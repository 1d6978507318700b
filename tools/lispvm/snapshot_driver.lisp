;;;; SPDX-License-Identifier: MIT
;;;; The snapshot driver of `lispvm prepare`, loaded from a string by
;;;; SBCL's --eval.  It loads the systems and evaluates the forms it is
;;;; given (the arguments after itself: "load:SYSTEM" or "eval:FORMS", in
;;;; order), collects all garbage and reads /dev/lispvm-snapshot, where the
;;;; guest runtime saves the VM.  Every VM restored from that file returns
;;;; from the read with the restoring command's invocation and does here
;;;; what SBCL's toplevel would have done with that command line: --script
;;;; (run), --eval ... --end-toplevel-options (eval), or the REPL.

(defpackage "LISPVM-SNAPSHOT"
  (:use "COMMON-LISP")
  (:export "PREPARE"))

(in-package "LISPVM-SNAPSHOT")

(defun split-nul (octets)
  "The NUL-terminated strings in OCTETS, decoded as UTF-8."
  (loop with start = 0
        for end = (position 0 octets :start start)
        while end
        collect (sb-ext:octets-to-string octets :external-format :utf-8
                                                :start start :end end)
        do (setf start (1+ end))))

(defun read-invocation ()
  "Takes the snapshot; in a restored VM, returns argv, env and cwd."
  (let* ((octets (with-open-file (s "/dev/lispvm-snapshot" :element-type '(unsigned-byte 8))
                   (let ((buffer (make-array 0 :element-type '(unsigned-byte 8)
                                               :adjustable t :fill-pointer 0)))
                     (loop for byte = (read-byte s nil)
                           while byte do (vector-push-extend byte buffer))
                     (coerce buffer '(simple-array (unsigned-byte 8) (*))))))
         (fields (split-nul octets))
         (argc (parse-integer (pop fields)))
         (argv (loop repeat argc collect (pop fields)))
         (envc (parse-integer (pop fields)))
         (env (loop repeat envc collect (pop fields))))
    (values argv env (pop fields))))

(defun set-environment (env)
  (sb-alien:alien-funcall (sb-alien:extern-alien "clearenv" (function sb-alien:int)))
  (dolist (entry env)
    (let ((eq (position #\= entry)))
      (when (and eq (plusp eq))
        (sb-alien:alien-funcall
         (sb-alien:extern-alien "setenv" (function sb-alien:int sb-alien:c-string
                                                   sb-alien:c-string sb-alien:int))
         (subseq entry 0 eq) (subseq entry (1+ eq)) 1)))))

;;; SBCL's runtime options, with whether each takes a value: they were
;;; spent when the prepared VM started and cannot change now.
(defparameter *runtime-options*
  '(("--core" . t) ("--dynamic-space-size" . t) ("--control-stack-size" . t)
    ("--tls-limit" . t) ("--merge-core-pages" . nil) ("--no-merge-core-pages" . nil)
    ("--noinform" . nil) ("--disable-ldb" . nil) ("--lose-on-corruption" . nil)
    ("--end-runtime-options" . nil) ("--debug-environment" . nil)))

(defun toplevel-arguments (argv)
  "ARGV without argv[0] and SBCL's runtime options."
  (let ((args (rest argv)))
    (loop for option = (and args (assoc (first args) *runtime-options* :test #'string=))
          while option
          do (setf args (nthcdr (if (cdr option) 2 1) args)))
    args))

(defun run-script (file args)
  (setf sb-ext:*posix-argv* (list* "sbcl" args))
  (sb-impl::process-script file))

(defun run-evals (args)
  "--no-sysinit ... --eval FORM ... --end-toplevel-options ARGS, as
lispvm eval gives them; then quit, as --non-interactive does."
  (let ((evals '()))
    (loop for arg = (pop args)
          until (or (null arg) (string= arg "--end-toplevel-options"))
          when (string= arg "--eval")
            do (push (cons :eval (pop args)) evals))
    (setf sb-ext:*posix-argv* (list* "sbcl" args))
    (sb-impl::process-eval/load-options (nreverse evals))
    (sb-ext:exit)))

(defun run-repl ()
  (sb-ext:enable-debugger)
  (sb-impl::toplevel-repl nil))

(defparameter *prepare-form*
  "(load (make-string-input-stream (second sb-ext:*posix-argv*)))"
  "The --eval by which lispvm prepare loads this driver (lisp_run.c).")

(defun prepare-steps (args)
  "The steps of a lispvm prepare invocation (--eval *PREPARE-FORM*
--end-toplevel-options DRIVER STEPS...), or :NONE."
  (let ((eval (member "--eval" args :test #'string=))
        (end (member "--end-toplevel-options" args :test #'string=)))
    (if (and eval end (string= (second eval) *prepare-form*))
        (cddr end)
        :none)))

;;; Defined below; declared so that loading the driver warns of nothing.
(declaim (ftype function prepare))

(defun resume (argv env cwd)
  (set-environment env)
  (setf *default-pathname-defaults*
        (sb-ext:parse-native-namestring (if (string= cwd "/") cwd (concatenate 'string cwd "/"))))
  (setf *random-state* (make-random-state t))
  (let* ((args (toplevel-arguments argv))
         (script (member "--script" args :test #'string=))
         (*package* (find-package "COMMON-LISP-USER"))
         (*readtable* (copy-readtable nil)))
    (cond (script (run-script (second script) (cddr script)))
          ((not (eq (prepare-steps args) :none))
           ;; prepare --snapshot: this driver is loaded already.
           (prepare (prepare-steps args)))
          ((member "--eval" args :test #'string=) (run-evals args))
          (t (run-repl)))))

;;; How many snapshots this VM has taken: the first collects everything,
;;; a later one (a diff over the snapshot it was restored from) only the
;;; nursery, since a full collection moves every object and so would
;;; rewrite every page of the heap into the diff.  Loading the driver
;;; again keeps the count.
(defvar *snapshots-taken* 0)

(defun prepare (steps)
  (dolist (step steps)
    (let ((colon (position #\: step)))
      (cond ((string= step "load:" :end1 (1+ colon))
             (require "ASDF")
             (funcall (intern "LOAD-SYSTEM" "ASDF") (subseq step (1+ colon))))
            (t
             (with-input-from-string (s step :start (1+ colon))
               (let ((*package* (find-package "COMMON-LISP-USER")))
                 (loop with eof = '#:eof
                       for form = (read s nil eof)
                       until (eq form eof)
                       do (eval form))))))))
  (if (zerop *snapshots-taken*) (sb-ext:gc :full t) (sb-ext:gc))
  (incf *snapshots-taken*)
  (finish-output *standard-output*)
  (finish-output *error-output*)
  (multiple-value-call #'resume (read-invocation)))

(prepare (cddr sb-ext:*posix-argv*))
