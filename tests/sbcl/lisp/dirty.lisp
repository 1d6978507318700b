;;; Writes a 32 MiB vector's every page four times, a round at a time
;;; with a pause between, so that KVM's dirty log sees each round.
(let ((v (make-array (* 32 1024 1024) :element-type '(unsigned-byte 8))))
  (dotimes (round 4)
    (fill v (1+ round))
    (sleep 0.3))
  (format t "last ~a~%" (aref v 12345)))
