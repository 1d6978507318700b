;;; Allocates ARG MiB, keeps none of it, then idles: with no collection
;;; since (the threshold is raised first), the garbage stays resident until
;;; someone asks for a full GC, as lispvmd does when the host runs short.
(defvar *sink* nil)
(setf (sb-ext:bytes-consed-between-gcs) (* 256 1024 1024))
(sb-ext:gc) ; the new threshold counts from the next collection
(dotimes (i (parse-integer (second sb-ext:*posix-argv*)))
  (setf *sink* (make-array (* 1024 1024) :element-type '(unsigned-byte 8)
                                         :initial-element 1)))
(setf *sink* nil)
(format t "ready~%")
(finish-output)
(loop (sleep 1))
