;;; Run by lispvmd's test: its arguments, a line on stderr, an exit code.
(format t "args ~s~%" (rest sb-ext:*posix-argv*))
(format *error-output* "to stderr~%")
(finish-output *error-output*)
(sb-ext:exit :code 5)
