;;;; SPDX-License-Identifier: MIT
;;;; AF_VSOCK stream sockets for sb-bsd-sockets: an address is a CID and a
;;;; port (struct sockaddr_vm, <linux/vm_sockets.h>).  In a lispvm microVM
;;;; the host is CID 2; a listener bound to +CID-ANY+ takes connections
;;;; that host tools make through the VM's --vsock socket.

(defpackage :lispvm-vsock
  (:use :cl)
  (:export #:vsock-socket #:+cid-any+ #:+cid-host+ #:+port-any+ #:listen-on
           #:watch-resumes))

(in-package :lispvm-vsock)

(defconstant +af-vsock+ 40)
(defconstant +cid-any+ #xffffffff)
(defconstant +cid-host+ 2)
(defconstant +port-any+ #xffffffff)
;;; family (2), reserved (2), port (4), cid (4), flags (1), zero (3)
(defconstant +sockaddr-vm-size+ 16)

(defclass vsock-socket (sb-bsd-sockets:socket)
  ((sb-bsd-sockets::family :initform +af-vsock+))
  (:documentation "An AF_VSOCK socket; its addresses are (CID PORT)."))

(defmethod sb-bsd-sockets::make-sockaddr-for ((socket vsock-socket)
                                              &optional sockaddr &rest address)
  (let* ((sockaddr (or sockaddr (sb-alien:make-alien (sb-alien:unsigned 8)
                                                     +sockaddr-vm-size+)))
         (sap (sb-alien:alien-sap sockaddr)))
    (dotimes (i +sockaddr-vm-size+)
      (setf (sb-sys:sap-ref-8 sap i) 0))
    (setf (sb-sys:sap-ref-16 sap 0) +af-vsock+)
    (when address
      (destructuring-bind (cid port) address
        (setf (sb-sys:sap-ref-32 sap 4) port
              (sb-sys:sap-ref-32 sap 8) cid)))
    (values sockaddr +sockaddr-vm-size+)))

(defmethod sb-bsd-sockets::free-sockaddr-for ((socket vsock-socket) sockaddr)
  (sb-alien:free-alien sockaddr))

(defmethod sb-bsd-sockets::size-of-sockaddr ((socket vsock-socket))
  +sockaddr-vm-size+)

(defmethod sb-bsd-sockets::bits-of-sockaddr ((socket vsock-socket) sockaddr &optional size)
  "The CID and the port of SOCKADDR."
  (declare (ignore size))
  (let ((sap (sb-alien:alien-sap sockaddr)))
    (values (sb-sys:sap-ref-32 sap 8) (sb-sys:sap-ref-32 sap 4))))

(defmethod sb-bsd-sockets::socket-namestring ((socket vsock-socket))
  (ignore-errors
   (multiple-value-bind (cid port) (sb-bsd-sockets:socket-name socket)
     (format nil "vsock:~d:~d" cid port))))

(defmethod sb-bsd-sockets::socket-peerstring ((socket vsock-socket))
  (ignore-errors
   (multiple-value-bind (cid port) (sb-bsd-sockets:socket-peername socket)
     (format nil "vsock:~d:~d" cid port))))

(defun listen-on (port &key (backlog 16))
  "A vsock stream socket listening on PORT of this VM."
  (let ((socket (make-instance 'vsock-socket :type :stream)))
    (handler-bind ((error (lambda (e)
                            (declare (ignore e))
                            (sb-bsd-sockets:socket-close socket))))
      (sb-bsd-sockets:socket-bind socket +cid-any+ port)
      (sb-bsd-sockets:socket-listen socket backlog))
    socket))

;;; A VM resumed from a snapshot of it running (lispvm snapshot) is a copy
;;; of the one snapshotted, and every copy resumed from one file would
;;; draw the same random numbers.  /dev/lispvm-resumed gives a byte per
;;; resume; on each, *random-state* (its global value) is seeded anew from
;;; the host's entropy.

(defvar *resume-watcher* nil)

;;; Not through a stream: an fd-stream fills its buffer, waiting for far
;;; more than the byte one resume gives.
(defun reseed-on-resumes ()
  (let ((fd (sb-unix:unix-open "/dev/lispvm-resumed" sb-unix:o_rdonly 0)))
    (when fd
      (sb-alien:with-alien ((buf (array (sb-alien:unsigned 8) 64)))
        (loop (sb-sys:wait-until-fd-usable fd :input)
              (let ((n (sb-unix:unix-read fd (sb-alien:alien-sap buf) 64)))
                (unless (and n (plusp n))
                  (return))
                (setf *random-state* (make-random-state t))))))))

(defun watch-resumes ()
  "Starts, once, the thread that reseeds *RANDOM-STATE* after each resume."
  (unless *resume-watcher*
    (setf *resume-watcher*
          (sb-thread:make-thread #'reseed-on-resumes :name "lispvm resume watcher"))))
