;;; Four threads pass a token around a ring with a mutex and a condition
;;; variable, 4000 hand-offs in all.
(let* ((m (sb-thread:make-mutex)) (q (sb-thread:make-waitqueue))
       (turn 0) (rounds 1000) (start (get-internal-real-time)))
  (mapc #'sb-thread:join-thread
        (loop for id below 4 collect
          (let ((id id))
            (sb-thread:make-thread
             (lambda ()
               (dotimes (r rounds)
                 (sb-thread:with-mutex (m)
                   (loop until (= turn id) do (sb-thread:condition-wait q m))
                   (setf turn (mod (1+ turn) 4))
                   (sb-thread:condition-broadcast q))))))))
  (format t "~d~%" (round (* 1000 (- (get-internal-real-time) start))
                          internal-time-units-per-second)))
