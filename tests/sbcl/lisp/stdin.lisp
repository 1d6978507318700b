;;; Reads stdin to the end, line by line.
(loop for line = (read-line *standard-input* nil)
      while line
      count t into n
      do (format t "~a: ~a~%" n (reverse line))
      finally (format t "~a lines~%" n))
