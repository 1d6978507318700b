;;; Reads the file named by the first argument in 1 MiB pieces.
(let ((buf (make-array (* 1024 1024) :element-type '(unsigned-byte 8)))
      (start (get-internal-real-time)) (total 0))
  (with-open-file (s (second sb-ext:*posix-argv*) :element-type '(unsigned-byte 8))
    (loop for n = (read-sequence buf s) while (plusp n) do (incf total n)))
  (format t "~d~%" (round (* 1000 (- (get-internal-real-time) start))
                          internal-time-units-per-second)))
