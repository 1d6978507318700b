/* SPDX-License-Identifier: MIT */
/* Removing the staging tree. */
#ifndef LISPVM_TREE_REMOVE_H
#define LISPVM_TREE_REMOVE_H

/* Removes path and everything below it, never following a symlink out of
 * it. Returns 0 (also when path does not exist) or the first errno value. */
int tree_remove(const char *path);

#endif
