/* SPDX-License-Identifier: MIT */
/* `lispvm image`: the command-line front end of the image builder. */
#ifndef LISPVM_IMAGE_COMMAND_H
#define LISPVM_IMAGE_COMMAND_H

/* Runs `lispvm image ...`; argv[0] is "image" (the command's own name),
 * argv[1] on its arguments. Returns the exit status: 0, LISPVM_EXIT_USAGE
 * (2) for a usage error, LISPVM_EXIT_HOST_ERROR (125) for a failed build,
 * each failure reported as one "lispvm: " line on stderr. */
int image_command_main(int argc, char **argv);

#endif
