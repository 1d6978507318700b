/* SPDX-License-Identifier: MIT */
#include "word_list.h"

#include <stdlib.h>
#include <string.h>

char **word_list_split(char *buf, size_t len, size_t *n)
{
	char **words;

	*n = 0;
	for (size_t i = 0; i < len; i++)
		*n += buf[i] == '\0';
	if ((words = calloc(*n + 1, sizeof(char *))) == NULL)
		return NULL;
	for (size_t i = 0, k = 0; i < len; i += strlen(buf + i) + 1)
		words[k++] = buf + i;
	return words;
}
