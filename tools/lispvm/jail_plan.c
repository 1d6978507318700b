/* SPDX-License-Identifier: MIT */
#include "jail_plan.h"

#include "snapshot_paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add(struct jail_plan *p, const char *path, bool dir, enum jail_access access, char *err,
	       size_t err_size)
{
	for (unsigned int i = 0; i < p->n; i++) {
		if (strcmp(p->paths[i].path, path) != 0)
			continue;
		if (access > p->paths[i].access)
			p->paths[i].access = access;
		return 0;
	}
	if (p->n == JAIL_MAX_PATHS) {
		snprintf(err, err_size, "--jail: more than %d host paths", JAIL_MAX_PATHS);
		return -1;
	}
	p->paths[p->n] = (struct jail_path){.dir = dir, .access = access};
	snprintf(p->paths[p->n].path, sizeof(p->paths[p->n].path), "%s", path);
	p->n++;
	return 0;
}

/* An existing path, made absolute with no symlink left in it. */
static int resolve(const char *path, char *out, const char *what, char *err, size_t err_size)
{
	if (realpath(path, out) != NULL)
		return 0;
	snprintf(err, err_size, "--jail: %s %s: %s", what, path, strerror(errno));
	return -1;
}

/* A file the VM makes (a snapshot): its directory resolved, into dir. */
static int resolve_new(const char *path, char *out, char *dir, const char *what, char *err,
		       size_t err_size)
{
	char copy[PATH_MAX];
	const char *name = path, *parent = ".";
	char *slash;

	snprintf(copy, sizeof(copy), "%s", path);
	if ((slash = strrchr(copy, '/')) != NULL) {
		*slash = '\0';
		parent = copy[0] != '\0' ? copy : "/";
		name = slash + 1;
	}
	if (name[0] == '\0') {
		snprintf(err, err_size, "--jail: %s %s: not a file", what, path);
		return -1;
	}
	if (resolve(parent, dir, what, err, err_size) < 0)
		return -1;
	if ((size_t)snprintf(out, PATH_MAX, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name) >=
	    PATH_MAX) {
		snprintf(err, err_size, "--jail: %s %s: path too long", what, path);
		return -1;
	}
	return 0;
}

static int plan_images(const struct vm_config *c, struct jail_plan *p, char *err, size_t err_size)
{
	for (unsigned int i = 0; i < c->nr_images; i++) {
		if (resolve(c->image_paths[i], p->images[i], "image", err, err_size) < 0 ||
		    add(p, p->images[i], false, JAIL_READ, err, err_size) < 0)
			return -1;
		p->image_ptrs[i] = p->images[i];
	}
	p->config.image_paths = p->image_ptrs;
	return 0;
}

static int plan_mounts(const struct vm_config *c, struct jail_plan *p, char *err, size_t err_size)
{
	for (unsigned int i = 0; i < c->nr_mounts; i++) {
		p->mounts[i] = c->mounts[i];
		if (resolve(c->mounts[i].host_path, p->mount_paths[i], "--mount", err, err_size) <
			    0 ||
		    add(p, p->mount_paths[i], true, c->mounts[i].readonly ? JAIL_READ : JAIL_WRITE,
			err, err_size) < 0)
			return -1;
		p->mounts[i].host_path = p->mount_paths[i];
	}
	p->config.mounts = p->mounts;
	return 0;
}

/* The sockets are made outside the jail and handed in; their directory
 * is there, read-only, for the guest's connections to PATH_port. */
static int plan_sockets(const struct vm_config *c, struct jail_plan *p, char *err, size_t err_size)
{
	char dir[PATH_MAX];

	if (c->vsock_path == NULL)
		return 0;
	if (resolve_new(c->vsock_path, p->vsock, dir, "--vsock", err, err_size) < 0 ||
	    add(p, dir, true, JAIL_READ, err, err_size) < 0)
		return -1;
	p->config.vsock_path = p->vsock;
	if (c->control_path == NULL)
		return 0;
	if (resolve_new(c->control_path, p->control, dir, "control socket", err, err_size) < 0 ||
	    add(p, dir, true, JAIL_READ, err, err_size) < 0)
		return -1;
	p->config.control_path = p->control;
	return 0;
}

static int plan_outputs(const struct vm_config *c, struct jail_plan *p, char *err, size_t err_size)
{
	char dir[PATH_MAX];

	if (c->snapshot_out != NULL &&
	    (resolve_new(c->snapshot_out, p->snapshot_out, dir, "snapshot", err, err_size) < 0 ||
	     add(p, dir, true, JAIL_WRITE, err, err_size) < 0))
		return -1;
	if (c->snapshot_out != NULL)
		p->config.snapshot_out = p->snapshot_out;
	/* The shared kernel text is read where it is cached already; a jail
	 * does not add to the cache (the VM then has its own copy). */
	p->config.kernel_text_cache = NULL;
	if (c->kernel_text_cache != NULL && realpath(c->kernel_text_cache, p->text_cache) != NULL) {
		if (add(p, p->text_cache, true, JAIL_READ, err, err_size) < 0)
			return -1;
		p->config.kernel_text_cache = p->text_cache;
	}
	return 0;
}

/* What a snapshot names is opened by the VMM as the file says, so it is
 * shown at that path, which must be the real path of something that
 * exists: the jail's root is built by joining paths to it, and a crafted
 * name with ".." or a symlink in it would reach out of that root. */
static int add_named(struct jail_plan *p, const char *path, bool dir, enum jail_access access,
		     const char *snapshot, char *err, size_t err_size)
{
	char real[PATH_MAX];

	if (realpath(path, real) == NULL || strcmp(real, path) != 0) {
		snprintf(err, err_size,
			 "--jail: snapshot %s names %s, which is not the real path of a file "
			 "here",
			 snapshot, path);
		return -1;
	}
	return add(p, path, dir, access, err, err_size);
}

static int plan_named(struct jail_plan *p, const struct snapshot_paths *sp, char *err,
		      size_t err_size)
{
	const char *in = p->snapshot_in;

	for (unsigned int i = 1; i < sp->nr_chain; i++)
		if (add_named(p, sp->chain[i], false, JAIL_READ, in, err, err_size) < 0)
			return -1;
	for (unsigned int i = 0; i < sp->nr_images; i++)
		if (add_named(p, sp->images[i], false, JAIL_READ, in, err, err_size) < 0)
			return -1;
	for (unsigned int i = 0; i < sp->nr_mounts; i++)
		if (add_named(p, sp->mounts[i], true,
			      sp->mount_readonly[i] ? JAIL_READ : JAIL_WRITE, in, err,
			      err_size) < 0)
			return -1;
	return 0;
}

/* A VM from a snapshot: the file, what it names, and the working set
 * files read (--prefetch) or written (--record-working-set). */
static int plan_snapshot(const struct vm_config *c, struct jail_plan *p, char *err, size_t err_size)
{
	char dir[PATH_MAX];
	struct snapshot_paths *sp;
	int rc;

	if (c->snapshot_in == NULL)
		return 0;
	if (resolve(c->snapshot_in, p->snapshot_in, "--snapshot", err, err_size) < 0 ||
	    add(p, p->snapshot_in, false, JAIL_READ, err, err_size) < 0)
		return -1;
	p->config.snapshot_in = p->snapshot_in;
	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		snprintf(err, err_size, "--jail: out of memory");
		return -1;
	}
	rc = snapshot_paths_read(p->snapshot_in, sp, err, err_size);
	if (rc == 0)
		rc = plan_named(p, sp, err, err_size);
	free(sp);
	if (rc < 0)
		return -1;
	if (c->prefetch_path != NULL) {
		if (resolve(c->prefetch_path, p->prefetch, "--prefetch", err, err_size) < 0 ||
		    add(p, p->prefetch, false, JAIL_READ, err, err_size) < 0)
			return -1;
		p->config.prefetch_path = p->prefetch;
	}
	if (c->working_set_out != NULL) {
		if (resolve_new(c->working_set_out, p->working_set_out, dir, "working set", err,
				err_size) < 0 ||
		    add(p, dir, true, JAIL_WRITE, err, err_size) < 0)
			return -1;
		p->config.working_set_out = p->working_set_out;
	}
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct jail_path *)a)->path, ((const struct jail_path *)b)->path);
}

int jail_plan_make(const struct vm_config *config, struct jail_plan *plan, char *err,
		   size_t err_size)
{
	memset(plan, 0, sizeof(*plan));
	plan->config = *config;
	if (add(plan, "/dev/kvm", false, JAIL_DEVICE, err, err_size) < 0 ||
	    resolve(config->kernel_path, plan->kernel, "--kernel", err, err_size) < 0 ||
	    add(plan, plan->kernel, false, JAIL_READ, err, err_size) < 0)
		return -1;
	plan->config.kernel_path = plan->kernel;
	if (plan_images(config, plan, err, err_size) < 0 ||
	    plan_mounts(config, plan, err, err_size) < 0 ||
	    plan_sockets(config, plan, err, err_size) < 0 ||
	    plan_outputs(config, plan, err, err_size) < 0 ||
	    plan_snapshot(config, plan, err, err_size) < 0)
		return -1;
	/* A directory before what lies under it. */
	qsort(plan->paths, plan->n, sizeof(plan->paths[0]), by_path);
	return 0;
}
