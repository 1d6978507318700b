;;;; SPDX-License-Identifier: MIT
;;;; AF_VSOCK stream sockets for sb-bsd-sockets: an address is a CID and a
;;;; port (struct sockaddr_vm, <linux/vm_sockets.h>).  In a lispvm microVM
;;;; the host is CID 2; a listener bound to +CID-ANY+ takes connections
;;;; that host tools make through the VM's --vsock socket.

(defpackage :lispvm-vsock
  (:use :cl)
  (:export #:vsock-socket #:+cid-any+ #:+cid-host+ #:+port-any+ #:listen-on))

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
