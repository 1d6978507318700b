;;; A program for `lispvm snapshot --gc`: it drops a 48 MiB array (written,
;;; so its pages are the host's) and waits until *go* is set through
;;; `lispvm attach`.  No collection comes on its own: the GC's trigger is
;;; set far above what the program allocates.
(setf (sb-ext:bytes-consed-between-gcs) (* 512 1024 1024))
(defvar *kept* (make-list 1000 :initial-element :kept))
(defvar *go* nil)

(let ((junk (make-array (* 48 1024 1024) :element-type '(unsigned-byte 8)
                                          :initial-element #x5a)))
  (format t "dropped ~d~%" (length junk)))
(format t "ready~%")
(finish-output)
(loop until *go* do (sleep 0.1))
(format t "kept ~d~%" (length *kept*))
