;;; Four collections, each after writing a new 4 MiB array (1024 pages):
;;; `--stats` counts the pages dirtied from one collection's end to the
;;; next's.  Prints how many after-GC hooks there are: --stats adds one.
(defvar *keep* nil)
(dotimes (i 4)
  (push (make-array (* 4 1024 1024) :element-type '(unsigned-byte 8) :initial-element (1+ i))
        *keep*)
  (sb-ext:gc))
(format t "hooks ~a~%" (length sb-ext:*after-gc-hooks*))
