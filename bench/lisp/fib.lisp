;;; Compiled recursion, fib(32) ten times: no allocation, no system calls.
(defun fib (n)
  (declare (fixnum n) (optimize speed (safety 0)))
  (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
(let ((start (get-internal-real-time)))
  (dotimes (i 10) (fib 32))
  (format t "~d~%" (round (* 1000 (- (get-internal-real-time) start))
                          internal-time-units-per-second)))
