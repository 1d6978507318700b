;;; A program for lispvm snapshot: it reads running-lines.txt line by
;;; line (the file stays open across the snapshot), prints each with a
;;; count and the wall clock, while a second thread counts *spins*.
(require :sb-posix)

(defvar *n* 0)
(defvar *spins* 0)
(defvar *running* t)

(defvar *worker*
  (sb-thread:make-thread (lambda () (loop while *running* do (incf *spins*) (sleep 0.05)))
                         :name "spinner"))

(with-open-file (f (merge-pathnames "running-lines.txt" *load-truename*))
  (loop for line = (read-line f nil)
        while line
        do (incf *n*)
           (format t "~d ~a ~d~%" *n* line (get-universal-time))
           (finish-output)
           (sleep 0.2)))
(setf *running* nil)
(sb-thread:join-thread *worker*)
(format t "done ~d~%" *n*)
