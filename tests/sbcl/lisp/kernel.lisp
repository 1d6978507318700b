;;; What SBCL does with its kernel, each result printed so that a run in
;;; lispvm and a native run can be compared line by line (tests/sbcl).

(defmacro show (name form)
  `(format t "~a: ~s~%" ',name (handler-case ,form (error (e) (type-of e)))))

(defun opaque (x) x) ; keeps the compiler from folding what must trap

;; Conditions from trap instructions and float traps.
(show type-error (car (opaque 5)))
(show undefined-function (funcall (opaque 'no-such-function)))
(show integer-division-by-zero (/ 1 (opaque 0)))
(show float-division-by-zero (/ 1.0 (opaque 0.0)))
(show float-overflow (* most-positive-double-float (opaque 10d0)))
(show float-invalid (- (opaque sb-ext:double-float-positive-infinity)
                       sb-ext:double-float-positive-infinity))
(show traps-masked (sb-int:with-float-traps-masked (:divide-by-zero)
                     (/ 1d0 (opaque 0d0))))
(show array-bounds (aref (opaque (make-array 3)) (opaque 7)))
(show unwind-protect (let ((log nil))
                       (catch 'out
                         (unwind-protect (throw 'out nil) (push :cleanup log)))
                       log))

;; Threads, locks, waitqueues, interrupts, timeouts, GC under load.
(show thread (sb-thread:join-thread (sb-thread:make-thread (lambda () (* 6 7)))))
(show mutex (let ((m (sb-thread:make-mutex)) (n 0))
              (mapc #'sb-thread:join-thread
                    (loop repeat 4 collect
                      (sb-thread:make-thread
                       (lambda () (dotimes (i 1000) (sb-thread:with-mutex (m) (incf n)))))))
              n))
(show waitqueue
      (let* ((m (sb-thread:make-mutex)) (q (sb-thread:make-waitqueue)) (ready nil)
             (th (sb-thread:make-thread
                  (lambda ()
                    (sb-thread:with-mutex (m)
                      (loop until ready do (sb-thread:condition-wait q m))
                      :woken)))))
        (sleep 0.05)
        (sb-thread:with-mutex (m) (setf ready t) (sb-thread:condition-broadcast q))
        (sb-thread:join-thread th)))
(show with-timeout (handler-case (sb-ext:with-timeout 0.2 (loop))
                     (sb-ext:timeout () :timed-out)))
(show interrupt-thread
      (let* ((flag nil)
             (th (sb-thread:make-thread (lambda () (loop until flag) :interrupted))))
        (sleep 0.05)
        (sb-thread:interrupt-thread th (lambda () (setf flag t)))
        (sb-thread:join-thread th)))
(show gc-under-4-threads
      (mapcar #'sb-thread:join-thread
              (loop repeat 4 collect
                (sb-thread:make-thread
                 (lambda () (let ((l nil))
                              (dotimes (i 200000) (push (make-array 4) l))
                              (length l)))))))
(show full-gc (progn (sb-ext:gc :full t) :ok))

;; The compiler at run time.
(show compile (funcall (compile nil '(lambda (x) (* x x))) 12))

;; Files in the guest's /tmp.
(show tmp-file
      (let ((path "/tmp/lispvm-kernel-test.txt"))
        (with-open-file (s path :direction :output :if-exists :supersede)
          (format s "line one~%line two~%"))
        (prog1 (with-open-file (s path) (list (read-line s) (read-line s)))
          (delete-file path))))
