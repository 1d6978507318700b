;;; uselibs.lisp as a program written for a prepared snapshot: the
;;; libraries are loaded already, so it does not ask ASDF again.
(format t "~a ~a~%" (alexandria:flatten '(1 (2 3)))
        (cl-ppcre:regex-replace-all "a+" "banana" "o"))
