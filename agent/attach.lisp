;;;; SPDX-License-Identifier: MIT
;;;; The attach agent: `lispvm run --attachable` starts it before the
;;;; program, and `lispvm attach` talks to it over vsock.  Each connection
;;;; is a session: a REPL thread of its own, with SBCL's debugger on the
;;;; session's stream, so evaluating, inspecting and debugging work while
;;;; the program goes on computing in its own threads.
;;;;
;;;; The stream carries text lines both ways.  A line holding only ETX
;;;; (Ctrl-C, code 3) interrupts whatever the session is waiting on into
;;;; the debugger; every other line is input.  A reader thread takes the
;;;; lines off the socket as they come, so an interrupt gets through while
;;;; an evaluation runs.

(defpackage :lispvm-attach
  (:use :cl)
  (:export #:start #:stop))

(in-package :lispvm-attach)

(defconstant +interrupt-char+ (code-char 3))

;;; ---- the session's stream ----
;;; One bidirectional stream serves as every standard stream of a session:
;;; input is the lines the reader thread hands over, output goes to the
;;; socket.  (A two-way stream with a Gray input side would have SBCL ask
;;; that side about output, which it cannot answer.)

(defclass session-stream (sb-gray:fundamental-character-input-stream
                          sb-gray:fundamental-character-output-stream)
  ((lock :initform (sb-thread:make-mutex :name "lispvm attach input") :reader input-lock)
   (ready :initform (sb-thread:make-waitqueue) :reader input-ready)
   (text :initform (make-string 0) :accessor input-text)
   (pos :initform 0 :accessor input-pos)
   (eof :initform nil :accessor input-eof)
   (output :initarg :output :reader output)
   ;; The REPL and the threads it interrupts all write here.
   (output-lock :initform (sb-thread:make-mutex :name "lispvm attach output")
                :reader output-lock)))

(defun feed (stream line)
  "Adds LINE and a newline to what STREAM has to read."
  (sb-thread:with-mutex ((input-lock stream))
    (setf (input-text stream) (concatenate 'string (subseq (input-text stream) (input-pos stream))
                                           line (string #\Newline))
          (input-pos stream) 0)
    (sb-thread:condition-broadcast (input-ready stream))))

(defun end-input (stream)
  (sb-thread:with-mutex ((input-lock stream))
    (setf (input-eof stream) t)
    (sb-thread:condition-broadcast (input-ready stream))))

(defmethod sb-gray:stream-read-char ((stream session-stream))
  ;; As a terminal's: the debugger and the inspector print a prompt and
  ;; read without finishing their output.  Not under the input lock, which
  ;; the reader thread needs even while the client does not read.
  (unless (sb-gray:stream-listen stream)
    (ignore-errors (finish-output stream)))
  (sb-thread:with-mutex ((input-lock stream))
    (loop
      (when (< (input-pos stream) (length (input-text stream)))
        (return (prog1 (char (input-text stream) (input-pos stream))
                  (incf (input-pos stream)))))
      (when (input-eof stream)
        (return :eof))
      (sb-thread:condition-wait (input-ready stream) (input-lock stream)))))

(defmethod sb-gray:stream-unread-char ((stream session-stream) character)
  (declare (ignore character))
  (sb-thread:with-mutex ((input-lock stream))
    (decf (input-pos stream)))
  nil)

(defmethod sb-gray:stream-read-char-no-hang ((stream session-stream))
  (sb-thread:with-mutex ((input-lock stream))
    (cond ((< (input-pos stream) (length (input-text stream)))
           (prog1 (char (input-text stream) (input-pos stream))
             (incf (input-pos stream))))
          ((input-eof stream) :eof))))

(defmethod sb-gray:stream-listen ((stream session-stream))
  (sb-thread:with-mutex ((input-lock stream))
    (< (input-pos stream) (length (input-text stream)))))

(defmethod sb-gray:stream-clear-input ((stream session-stream))
  (sb-thread:with-mutex ((input-lock stream))
    (setf (input-text stream) (make-string 0) (input-pos stream) 0))
  nil)

(defmacro with-output ((stream) &body body)
  `(sb-thread:with-recursive-lock ((output-lock ,stream)) ,@body))

(defmethod sb-gray:stream-write-char ((stream session-stream) character)
  (with-output (stream) (write-char character (output stream))))

(defmethod sb-gray:stream-write-string ((stream session-stream) string &optional (start 0) end)
  (with-output (stream) (write-string string (output stream) :start start :end end)))

(defmethod sb-gray:stream-line-column ((stream session-stream))
  (sb-kernel:charpos (output stream)))

(defmethod sb-gray:stream-line-length ((stream session-stream))
  nil)

(defmethod sb-gray:stream-force-output ((stream session-stream))
  (with-output (stream) (force-output (output stream))))

(defmethod sb-gray:stream-finish-output ((stream session-stream))
  (with-output (stream) (finish-output (output stream))))

;;; ---- sessions ----

(defstruct (session (:constructor %make-session))
  socket
  stream         ; the socket's character stream
  io             ; the session-stream over it
  repl-thread
  (target nil))  ; the thread the session's input now drives, if not the REPL's

(defmacro with-session-io ((session) &body body)
  "BODY with every standard stream on SESSION and SBCL's debugger enabled
\(sbcl --script disables it for the program), in a terminal session of
its own: SBCL's debugger otherwise waits for the main thread to give up
the terminal, which a program's main thread never does."
  (let ((s (gensym)))
    `(sb-thread:with-new-session ()
      (let* ((,s ,session)
            (*standard-input* (session-io ,s))
            (*standard-output* (session-io ,s))
            (*error-output* (session-io ,s))
            (*trace-output* (session-io ,s))
            (*terminal-io* (session-io ,s))
            (*debug-io* (session-io ,s))
            (*query-io* (session-io ,s))
            (sb-ext:*invoke-debugger-hook* nil)
            (*debugger-hook* nil))
       ,@body))))

(defun thread-id (thread)
  (sb-thread:thread-os-tid thread))

(defun find-thread (id)
  (or (find id (sb-thread:list-all-threads) :key #'thread-id)
      (error "No thread ~a (:threads lists them)." id)))

(defun thread-state (thread)
  (cond ((not (sb-thread:thread-alive-p thread)) "finished")
        ((sb-thread::thread-waiting-for thread)
         (let ((what (sb-thread::thread-waiting-for thread)))
           (format nil "waiting on ~a"
                   (typecase what
                     (sb-thread:mutex (or (sb-thread:mutex-name what) "a mutex"))
                     (t (type-of what))))))
        (t "running")))

(defun list-threads (session)
  (dolist (thread (sort (copy-list (sb-thread:list-all-threads)) #'< :key #'thread-id))
    (format t "~&~8d  ~a~:[~; (main)~]~:[~; (this session)~]  ~a~%"
            (thread-id thread) (sb-thread:thread-name thread)
            (sb-thread:main-thread-p thread)
            (eq thread (session-repl-thread session))
            (thread-state thread))))

(defun in-thread (thread function &key (timeout 10))
  "Runs FUNCTION in THREAD (interrupting it), waiting up to TIMEOUT
seconds; the current thread runs it itself."
  (if (eq thread sb-thread:*current-thread*)
      (funcall function)
      (let ((done (sb-thread:make-semaphore :name "lispvm attach")))
        (sb-thread:interrupt-thread thread (lambda ()
                                             (unwind-protect (funcall function)
                                               (sb-thread:signal-semaphore done))))
        (unless (sb-thread:wait-on-semaphore done :timeout timeout)
          (format t "~&Thread ~a did not answer within ~as (is it in a foreign call?).~%"
                  (thread-id thread) timeout)))))

(defun backtrace (session id &optional (count 30))
  (let ((thread (if id (find-thread id) (session-repl-thread session)))
        (out *standard-output*))
    (format out "~&Backtrace of thread ~a (~a):~%" (thread-id thread) (sb-thread:thread-name thread))
    ;; In the target thread, where the program's handlers (or, under
    ;; --script, its exit on any error) would see our errors.
    (in-thread thread (lambda ()
                        (handler-case (sb-debug:print-backtrace :stream out :count count)
                          (error () nil))))
    (finish-output out)))

(defun stop-here (session reason &key (abort-resumes t))
  "The debugger, in this thread, on the session; CONTINUE resumes the
thread.  In a thread of the program the innermost ABORT resumes it too:
SBCL's debugger aborts at the end of its input (a detach), which must
not end a thread of the program.  The REPL's own thread keeps its ABORT,
back to the prompt."
  (flet ((debug ()
           (invoke-debugger (make-condition 'simple-condition :format-control reason
                                                               :format-arguments nil))))
    (with-session-io (session)
      (restart-case (if abort-resumes
                        (restart-case (debug)
                          (abort ()
                            :report "Resume this thread (the next ABORT is the program's own)."
                            nil))
                        (debug))
        (continue ()
          :report "Resume this thread where it was."
          nil)))))

(defun debug-thread (session thread reason)
  "THREAD enters SBCL's debugger on the session; the REPL waits until it
leaves (a CONTINUE restart resumes the thread where it was)."
  (setf (session-target session) thread)
  (unwind-protect
       (in-thread thread
                  (lambda () (stop-here session reason))
                  :timeout nil)
    (setf (session-target session) nil)))

(defun interrupt-thread (session id)
  (let ((thread (find-thread id)))
    (when (or (eq thread (session-repl-thread session))
              (eql 0 (search "lispvm attach" (or (sb-thread:thread-name thread) ""))))
      (error "Thread ~a is the attach agent's own." id))
    (debug-thread session thread
                  (format nil "Thread ~a (~a) interrupted by lispvm attach."
                          (thread-id thread) (sb-thread:thread-name thread)))))

(defparameter *help*
  "Forms are evaluated in this session's own thread; the program runs on.
  :threads            list the threads: id, name, state
  :bt [ID [COUNT]]    backtrace of thread ID (default: this session's)
  :interrupt ID       stop thread ID in the debugger (CONTINUE resumes it)
  :inspect FORM       inspect FORM's value
  :detach             leave; the program goes on (so does end of input)
Ctrl-C interrupts the evaluation in progress into the debugger.")

(defun read-line-args ()
  "The rest of the input line, read as forms."
  (let ((line (read-line *standard-input* nil "")))
    (with-input-from-string (s line)
      (loop with eof = '#:eof for form = (read s nil eof) until (eq form eof) collect form))))

(defun command (session keyword)
  "Runs a :command; NIL when it ends the session."
  (let ((args (read-line-args)))
    (case keyword
      (:help (format t "~a~%" *help*))
      (:threads (list-threads session))
      (:bt (apply #'backtrace session args))
      (:interrupt (interrupt-thread session (first args)))
      (:inspect (inspect (eval (first args))))
      (:detach (return-from command nil))
      (t (format t "~&Unknown command ~s; :help lists them.~%" keyword))))
  t)

(defun print-values (values)
  (if values
      (dolist (v values) (format t "~s~%" v))
      (format t "; No values~%")))

(defun repl (session)
  (with-session-io (session)
    (let ((*package* (find-package :cl-user))
          (eof '#:eof))
      (format t "lispvm attach: ~a, ~d threads. :help lists the commands.~%"
              (or (first sb-ext:*posix-argv*) "sbcl") (length (sb-thread:list-all-threads)))
      (loop
        (with-simple-restart (abort "Return to the lispvm attach REPL.")
          (format t "~&* ")
          (finish-output)
          ;; Preserving the newline: a :command reads the rest of its line.
          (let ((form (read-preserving-whitespace *standard-input* nil eof)))
            (cond ((eq form eof) (return))
                  ((and (keywordp form) (not (command session form))) (return))
                  ((keywordp form))
                  (t (let ((values (multiple-value-list (eval form))))
                       (setf *** ** ** * * (first values)
                             /// // // / / values
                             +++ ++ ++ + + form)
                       (print-values values))))))))))

(defun interrupt-session (session)
  "Ctrl-C: the thread the session now drives enters the debugger."
  (let ((thread (or (session-target session) (session-repl-thread session))))
    (when (and thread (sb-thread:thread-alive-p thread))
      (sb-thread:interrupt-thread
       thread (lambda ()
                (stop-here session "Interrupted by Ctrl-C."
                           :abort-resumes (not (eq thread (session-repl-thread session)))))))))

(defun read-lines (session)
  "The reader thread: lines to the session's input, ETX lines as
interrupts, until the peer goes (or the stream fails: under --script an
error left unhandled here would end the program)."
  (unwind-protect
       (handler-case
           (loop for line = (read-line (session-stream session) nil nil)
                 while line
                 do (if (string= (string-right-trim '(#\Return) line)
                                 (string +interrupt-char+))
                        (interrupt-session session)
                        (feed (session-io session) line)))
         (error () nil))
    (end-input (session-io session))))

(defun serve (socket)
  (let* ((stream (sb-bsd-sockets:socket-make-stream
                  socket :input t :output t :element-type 'character
                         :external-format '(:utf-8 :replacement #\?) :buffering :full))
         (session (%make-session :socket socket :stream stream
                                 :io (make-instance 'session-stream :output stream)))
         (reader nil))
    (setf (session-repl-thread session) sb-thread:*current-thread*)
    (unwind-protect
         (progn
           (setf reader (sb-thread:make-thread #'read-lines :name "lispvm attach reader"
                                                            :arguments (list session)))
           ;; Errors in forms go to the debugger; only the client's
           ;; stream failing (it went away) ends the session.
           (block session
             (handler-bind ((stream-error
                              (lambda (e)
                                (when (eq (stream-error-stream e) stream)
                                  (return-from session)))))
               (repl session))))
      (ignore-errors (finish-output stream))
      ;; The reader sees its end before the descriptor goes away.
      (ignore-errors (sb-bsd-sockets:socket-shutdown socket :direction :io))
      (when reader
        (ignore-errors (sb-thread:join-thread reader :default nil)))
      (ignore-errors (sb-bsd-sockets:socket-close socket :abort t)))))

(defvar *listener* nil)

(defun accept-loop (listener)
  (loop while (eq listener *listener*)
        do (handler-case
               (let ((socket (sb-bsd-sockets:socket-accept listener)))
                 (when socket
                   (sb-thread:make-thread #'serve :name "lispvm attach session"
                                                  :arguments (list socket))))
             ;; A transient failure (no memory, no descriptor) is not the
             ;; end of attaching; STOP is.
             (error () (sleep 0.1)))))

(defun start (&key (port 1025))
  "Listens for lispvm attach on vsock PORT, in a thread of its own."
  (lispvm-vsock:watch-resumes)
  (unless *listener*
    (setf *listener* (lispvm-vsock:listen-on port))
    (sb-thread:make-thread #'accept-loop :name "lispvm attach listener"
                                         :arguments (list *listener*)))
  port)

(defun stop ()
  (when *listener*
    (sb-bsd-sockets:socket-close *listener* :abort t)
    (setf *listener* nil)))
