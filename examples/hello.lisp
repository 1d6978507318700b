;;; The first program of lispvm's Quick start: lispvm run examples/hello.lisp
(format t "Hello from ~a ~a in a microVM~%"
        (lisp-implementation-type) (lisp-implementation-version))
