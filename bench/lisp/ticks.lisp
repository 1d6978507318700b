;;; A long-running program with libraries loaded (bench/snapshot.py's
;;; running-VM figures): it prints a tick every 0.1 s until killed.
(require :asdf)
(asdf:load-system :alexandria)
(asdf:load-system :cl-ppcre)
(loop for i from 0
      do (format t "tick ~d ~a~%" i (cl-ppcre:scan-to-strings "b+" "abbbc"))
         (finish-output)
         (sleep 0.1))
