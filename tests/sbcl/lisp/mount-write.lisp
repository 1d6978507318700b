;;; Writes a file into the directory given as the first argument (a
;;; read-write --mount in lispvm) and reads it back.
(let ((path (format nil "~a/written-by-lisp.txt" (second sb-ext:*posix-argv*))))
  (with-open-file (s path :direction :output :if-exists :supersede)
    (format s "~a~%" (lisp-implementation-version)))
  (format t "wrote and read back: ~a~%" (with-open-file (s path) (read-line s))))
