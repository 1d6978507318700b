;;; Keeps ARGV[1] MiB live, drops it, collects everything and prints what
;;; is left: the guest must give the freed memory back to the host.
(defvar *keep* nil)
(dotimes (i (parse-integer (second sb-ext:*posix-argv*)))
  (push (make-array (/ (* 1024 1024) 8) :element-type '(unsigned-byte 64) :initial-element i)
        *keep*))
(format t "peak ~d MiB~%" (length *keep*))
(setf *keep* nil)
(sb-ext:gc :full t)
(format t "live ~d~%" (sb-kernel:dynamic-usage))
