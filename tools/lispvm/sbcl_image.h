/* SPDX-License-Identifier: MIT */
/*
 * Debian's SBCL and the Lisp libraries of the cl-* packages
 * (/usr/share/common-lisp) as one read-only image, built once and kept in
 * lispvm's cache directory.  The image's name is a hash of the identity
 * (device, inode, size, mtime) of SBCL's binary, core and library
 * directories and of the library directories, so installing, removing or
 * upgrading a package makes a new image, and the old one is deleted.
 * In an image, lookups never leave the guest (a host mount costs an exit
 * per path component), which makes ASDF's scans of the libraries cheap.
 */
#ifndef LISPVM_TOOLS_SBCL_IMAGE_H
#define LISPVM_TOOLS_SBCL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define SBCL_BINARY  "/usr/bin/sbcl"
#define SBCL_LIBRARY "/usr/lib/sbcl"
/* Where Debian keeps Lisp libraries (the cl-* packages). */
#define LISP_LIBRARIES_DIR "/usr/share/common-lisp"

/* lispvm's cache directory: `option` (--cache), else $XDG_CACHE_HOME/lispvm,
 * else $HOME/.cache/lispvm; created if missing.  0, or -1 with err. */
int lisp_cache_dir(const char *option, char *out, size_t size, char *err, size_t err_size);

/* A hash of what SBCL and the Lisp libraries installed are (the image's
 * key); -1 with err when SBCL is not installed. */
int sbcl_identity_key(uint64_t *key, char *err, size_t err_size);

/* The path of SBCL's image under cache_dir/images, built first if it is
 * not there.  0, or -1 with err (SBCL not installed, build failed). */
int sbcl_image_ensure(const char *cache_dir, char *out, size_t size, char *err, size_t err_size);

/* Where custom cores appear in the guest: a directory no mount can
 * shadow (the program's directory and the cwd are mounted from the host,
 * and a core read through a mount would be copied, not shared). */
#define SBCL_GUEST_CORES "/lispvm/cores"

/* The same for a custom core (save-lisp-and-die): an image holding just
 * the file `core` (absolute, canonical) as SBCL_GUEST_CORES/its name,
 * which goes to guest_core, under cache_dir/images.  Shared by every VM
 * that runs with that core. */
int sbcl_core_image_ensure(const char *cache_dir, const char *core, char *guest_core,
			   size_t guest_size, char *out, size_t size, char *err, size_t err_size);

#endif
