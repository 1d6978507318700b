;;; Runs until a signal ends it: lispvmd's stop reaches it as SIGTERM.
(format t "ready~%")
(finish-output)
(loop (sleep 1))
