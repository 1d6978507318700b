;;; Never ends: for --timeout.
(loop)
