;;; A program that uses alexandria and cl-ppcre: natively it loads them
;;; (from ASDF's fasl cache), from a prepared snapshot they are loaded.
(require :asdf)
(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :alexandria)
  (asdf:load-system :cl-ppcre))
(format t "~a ~a~%" (alexandria:flatten '(1 (2 3)))
        (cl-ppcre:regex-replace-all "a+" "banana" "o"))
