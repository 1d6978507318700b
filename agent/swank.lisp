;;;; SPDX-License-Identifier: MIT
;;;; Swank (SLIME's server, Debian's cl-swank) on a vsock port, for
;;;; `lispvm run --swank PORT`: lispvm bridges 127.0.0.1:PORT on the host
;;;; to it, so M-x slime-connect to that address reaches the program.
;;;; Loaded after Swank itself: only the socket Swank listens on changes.

(defpackage :lispvm-swank
  (:use :cl)
  (:export #:start))

(in-package :lispvm-swank)

(swank/backend:defimplementation swank/backend:create-socket (host port &key backlog)
  (declare (ignore host))
  (lispvm-vsock:listen-on port :backlog (or backlog 5)))

(swank/backend:defimplementation swank/backend:local-port (socket)
  (nth-value 1 (sb-bsd-sockets:socket-name socket)))

(defun start (port)
  "Serves SLIME on vsock PORT, a thread per connection, without the
announcement Swank prints (the program's output is its own)."
  (lispvm-vsock:watch-resumes)
  (let ((swank::*swank-debug-p* nil))
    (swank:create-server :port port :style :spawn :dont-close t)))
