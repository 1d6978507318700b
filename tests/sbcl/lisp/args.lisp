;;; Arguments and exit status: prints the arguments, exits with the first
;;; one as its status.
(format t "~s~%" sb-ext:*posix-argv*)
(sb-ext:exit :code (parse-integer (second sb-ext:*posix-argv*)))
