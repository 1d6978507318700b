;;; Run by lispvmd's pool test: its arguments, a variable of its
;;; environment, a number from a random state seeded now (a warm VM's
;;; entropy must be its own), a line on stderr, an exit code.
(format t "args ~s~%" (rest sb-ext:*posix-argv*))
(format t "env ~a~%" (sb-ext:posix-getenv "POOL_TEST"))
(format t "random ~d~%" (random (expt 2 62) (make-random-state t)))
(format *error-output* "to stderr~%")
(finish-output *error-output*)
(sb-ext:exit :code 7)
