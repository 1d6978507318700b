;;; What a restored VM has of its own: randomness (new threads' stack
;;; canaries too), the clock, its own copy of the heap.  With WRITE set, it first changes a prepared value.
(when (sb-ext:posix-getenv "WRITE")
  (setf cl-user::*prepared* 7))
(format t "prepared ~a~%" cl-user::*prepared*)
(format t "random ~a~%" (random 1000000))
(format t "urandom ~a~%"
        (with-open-file (s "/dev/urandom" :element-type '(unsigned-byte 8))
          (let ((v (make-array 16 :element-type '(unsigned-byte 8))))
            (read-sequence v s)
            (map 'string (lambda (b) (char "0123456789abcdef" (mod b 16))) v))))
(defun stack-guard ()
  "The stack protector's canary of this thread: glibc's TCB, which
pthread_self returns, holds it at 0x28."
  (sb-sys:sap-ref-64
   (sb-sys:int-sap (sb-alien:alien-funcall
                    (sb-alien:extern-alien "pthread_self" (function sb-alien:unsigned-long))))
   #x28))
(format t "main-guard ~x~%" (stack-guard))
(format t "thread-guard ~x~%" (sb-thread:join-thread (sb-thread:make-thread #'stack-guard)))
(format t "time ~a~%" (- (get-universal-time) #.(encode-universal-time 0 0 0 1 1 1970 0)))
(format t "ready~%")
(finish-output)
(read-line *standard-input* nil)
(format t "done~%")
