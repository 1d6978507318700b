/* SPDX-License-Identifier: MIT */
/* `image_tool_test image ARGS...` runs `lispvm image ARGS...` without
 * needing the lispvm executable: the tests exercise the command itself. */
#include "image_command.h"

int main(int argc, char **argv)
{
	return image_command_main(argc - 1, argv + 1);
}
