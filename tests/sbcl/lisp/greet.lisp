;;; Calls a function that only a custom core defines.
(greet)
