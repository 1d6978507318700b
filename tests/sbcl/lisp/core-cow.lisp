;;; Maps the first page of SBCL's core copy-on-write and, with "write",
;;; changes its first byte and waits for a line on stdin before looking
;;; again; with "read", only says what it sees.
(require :sb-posix)
(let* ((fd (sb-posix:open (namestring sb-ext:*core-pathname*) sb-posix:o-rdonly))
       (sap (sb-posix:mmap nil 4096 (logior sb-posix:prot-read sb-posix:prot-write)
                           sb-posix:map-private fd 0))
       (original (sb-sys:sap-ref-8 sap 0)))
  (format t "seen ~d~%" original)
  (when (string= (second sb-ext:*posix-argv*) "write")
    (setf (sb-sys:sap-ref-8 sap 0) (logxor original #xff))
    (format t "wrote ~d~%" (sb-sys:sap-ref-8 sap 0))
    (finish-output)
    (read-line *standard-input* nil)
    (format t "still ~d~%" (sb-sys:sap-ref-8 sap 0))))
