;;; Keeps everything it allocates: heap exhaustion.
(defvar *kept* nil)
(loop (push (make-array 100000) *kept*))
