;;; Grows the heap in 4 MiB steps until SBCL says it is exhausted; with
;;; "handle", catches that and reports it.
(defvar *keep* nil)
(defun grow ()
  (loop (push (make-array (/ (* 4 1024 1024) 8) :element-type '(unsigned-byte 64)
                                                 :initial-element 1)
              *keep*)))
(if (equal (second sb-ext:*posix-argv*) "handle")
    (handler-case (grow)
      (storage-condition (c)
        (setf *keep* nil)
        (format t "caught ~a~%" (type-of c))))
    (grow))
