;;; Runs one library's own test suite, shipped by its Debian cl-* package,
;;; so that lispvm and native SBCL can be compared on what the suite says.
;;; Arguments: SYSTEM TEST-SYSTEM.  Loading and compiling happen first with
;;; their output discarded (it depends on what is already compiled); then
;;; only the test run's output reaches stdout.
(require :asdf)
(destructuring-bind (system test-system) (rest sb-ext:*posix-argv*)
  (handler-case
      (let ((*standard-output* (make-broadcast-stream))
            (*error-output* (make-broadcast-stream))
            (*trace-output* (make-broadcast-stream)))
        (asdf:load-system system)
        (asdf:load-system test-system))
    (error (e)
      (format t "loading ~a signalled ~a: ~a~%" test-system (type-of e) e)
      (sb-ext:exit :code 3)))
  (format t "~&==== ~a test output~%" system)
  (handler-case (asdf:test-system system)
    (error (e) (format t "~&test-system signalled ~a: ~a~%" (type-of e) e)))
  (format t "~&==== end~%"))
