;;; An error nobody handles: under --script SBCL prints it with a
;;; backtrace on stderr and exits 1.
(format t "before~%")
(finish-output)
(car (read-from-string "5"))
