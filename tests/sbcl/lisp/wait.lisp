;;; Says it is ready, then waits for a line on stdin: the test looks at
;;; the running VM meanwhile.
(format t "ready~%")
(finish-output)
(read-line *standard-input* nil)
(format t "done~%")
