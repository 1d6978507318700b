;;; Memory a restored VM frees and allocates again reads zero, as fresh
;;; memory must: the prepared ballast (8 MiB of #xA5, stored in the
;;; snapshot) is dropped and collected, so its pages go back to the host,
;;; and new vectors, which SBCL does not clear, land on them.
(setf cl-user::*ballast* nil)
(sb-ext:gc :full t)
(let ((dirty 0))
  (dotimes (i 8)
    (let ((v (make-array (* 4 1024 1024) :element-type '(unsigned-byte 8))))
      (incf dirty (count 0 v :test-not #'=))))
  (format t "nonzero ~a~%" dirty))
