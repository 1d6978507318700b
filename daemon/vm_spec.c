/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "vm_spec.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "size_parse.h"

bool vm_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > VM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool alnum =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

enum field_kind { STRING, PATH, BOOL, STRINGS, STRING_MAP, MOUNTS, NAME, SIZE };

static const struct field {
	const char *name;
	enum field_kind kind;
} fields[] = {
	{"name", NAME},	     {"program", PATH},	 {"eval", STRING},     {"args", STRINGS},
	{"env", STRING_MAP}, {"cwd", PATH},	 {"mounts", MOUNTS},   {"memory", SIZE},
	{"core", PATH},	     {"snapshot", PATH}, {"attachable", BOOL}, {"labels", STRING_MAP},
};

static int bad(char *err, size_t err_size, const char *field, const char *why)
{
	snprintf(err, err_size, "%s: %s", field, why);
	return -1;
}

bool vm_spec_is_path(struct json_object *v)
{
	return json_object_is_type(v, json_type_string) && json_object_get_string(v)[0] == '/' &&
	       strlen(json_object_get_string(v)) < 4096;
}

static bool is_text(struct json_object *v)
{
	return json_object_is_type(v, json_type_string) &&
	       strlen(json_object_get_string(v)) == (size_t)json_object_get_string_len(v);
}

static int check_strings(struct json_object *v, const char *name, char *err, size_t err_size)
{
	if (!json_object_is_type(v, json_type_array))
		return bad(err, err_size, name, "must be an array of strings");
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (!is_text(json_object_array_get_idx(v, i)))
			return bad(err, err_size, name, "must be an array of strings");
	return 0;
}

static int check_map(struct json_object *v, const char *name, char *err, size_t err_size)
{
	if (!json_object_is_type(v, json_type_object))
		return bad(err, err_size, name, "must be an object of strings");
	json_object_object_foreach(v, key, value)
	{
		if (!is_text(value) || key[0] == '\0' ||
		    (strcmp(name, "env") == 0 && strchr(key, '=') != NULL))
			return bad(err, err_size, name,
				   "must be an object of strings (keys not empty; env keys "
				   "without '=')");
	}
	return 0;
}

/* A mount's max_size: a size as for memory, more than 0, and only on a
 * read-write mount (as lispvm's --mount rw,max-size=). */
static bool good_max_size(struct json_object *m, struct json_object *v)
{
	struct json_object *ro;
	uint64_t bytes;

	return json_object_is_type(v, json_type_string) &&
	       size_parse(json_object_get_string(v), &bytes) == 0 && bytes > 0 &&
	       !(json_object_object_get_ex(m, "readonly", &ro) && json_object_get_boolean(ro));
}

static int check_mounts(struct json_object *v, char *err, size_t err_size)
{
	static const char why[] = "must be an array of {\"host\": PATH, \"guest\": PATH, "
				  "\"readonly\": BOOL, \"max_size\": SIZE (read-write only)}";

	if (!json_object_is_type(v, json_type_array))
		return bad(err, err_size, "mounts", why);
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		struct json_object *m = json_object_array_get_idx(v, i), *x;

		if (!json_object_is_type(m, json_type_object))
			return bad(err, err_size, "mounts", why);
		json_object_object_foreach(m, key, value)
		{
			bool path = strcmp(key, "host") == 0 || strcmp(key, "guest") == 0;

			if (strcmp(key, "max_size") == 0 ? !good_max_size(m, value)
			    : path			 ? !vm_spec_is_path(value) ||
					     strchr(json_object_get_string(value), ':')
				   : strcmp(key, "readonly") != 0 ||
					     !json_object_is_type(value, json_type_boolean))
				return bad(err, err_size, "mounts", why);
		}
		if (!json_object_object_get_ex(m, "host", &x) ||
		    !json_object_object_get_ex(m, "guest", &x))
			return bad(err, err_size, "mounts", why);
	}
	return 0;
}

static int check_field(const struct field *f, struct json_object *v, char *err, size_t err_size)
{
	uint64_t bytes;

	switch (f->kind) {
	case STRING:
		return is_text(v) ? 0 : bad(err, err_size, f->name, "must be a string");
	case PATH:
		return vm_spec_is_path(v) ? 0
					  : bad(err, err_size, f->name, "must be an absolute path");
	case BOOL:
		return json_object_is_type(v, json_type_boolean)
			       ? 0
			       : bad(err, err_size, f->name, "must be true or false");
	case NAME:
		return is_text(v) && vm_name_valid(json_object_get_string(v))
			       ? 0
			       : bad(err, err_size, f->name,
				     "must be 1-63 of A-Z a-z 0-9 _ . -, not starting with _ . "
				     "or -");
	case SIZE:
		return is_text(v) && size_parse(json_object_get_string(v), &bytes) == 0
			       ? 0
			       : bad(err, err_size, f->name, "must be a size such as \"512M\"");
	case STRINGS:
		return check_strings(v, f->name, err, err_size);
	case STRING_MAP:
		return check_map(v, f->name, err, err_size);
	case MOUNTS:
		return check_mounts(v, err, err_size);
	}
	return -1;
}

static const struct field *field_named(const char *name)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].name, name) == 0)
			return &fields[i];
	return NULL;
}

/* A snapshot with no program resumes a saved VM as it was: what it runs,
 * with what, and where, are the snapshot's (lispvm run --snapshot FILE). */
static int check_resume(struct json_object *body, char *err, size_t err_size)
{
	static const char *const not_with[] = {"args", "env", "cwd", "mounts", "core", NULL};
	struct json_object *unused;

	for (size_t i = 0; not_with[i] != NULL; i++)
		if (json_object_object_get_ex(body, not_with[i], &unused))
			return bad(err, err_size, not_with[i],
				   "a saved VM resumes as it was: a snapshot without a program "
				   "takes no args, env, cwd, mounts or core");
	if (json_object_object_get_ex(body, "attachable", &unused) &&
	    !json_object_get_boolean(unused))
		return bad(err, err_size, "attachable",
			   "a saved VM resumes as it was, with its attach agent");
	return 0;
}

int vm_spec_check(struct json_object *body, char *err, size_t err_size)
{
	struct json_object *program, *eval, *unused;

	if (body == NULL)
		return bad(err, err_size, "body", "a JSON object with program or eval is needed");
	json_object_object_foreach(body, key, value)
	{
		const struct field *f = field_named(key);

		if (f == NULL) {
			snprintf(err, err_size, "unknown field %.64s", key);
			return -1;
		}
		if (check_field(f, value, err, err_size) < 0)
			return -1;
	}
	bool has_program = json_object_object_get_ex(body, "program", &program);
	bool has_eval = json_object_object_get_ex(body, "eval", &eval);

	if (!has_program && !has_eval && json_object_object_get_ex(body, "snapshot", &unused))
		return check_resume(body, err, err_size);
	if (has_program == has_eval)
		return bad(err, err_size, "program",
			   "give exactly one of program and eval (or a snapshot alone, to resume "
			   "a saved VM)");
	if (has_eval && json_object_object_get_ex(body, "args", &unused))
		return bad(err, err_size, "args", "go with program, not eval");
	if (json_object_object_get_ex(body, "snapshot", &unused) &&
	    json_object_object_get_ex(body, "core", &unused))
		return bad(err, err_size, "core", "a snapshot has its core; not both");
	return 0;
}

/* ---- the command line ---- */

struct argv_builder {
	const char **argv;
	size_t n, max;
	char **owned;
	size_t nr_owned;
	bool full;
};

static void push(struct argv_builder *b, const char *word)
{
	if (b->n + 1 >= b->max) {
		b->full = true;
		return;
	}
	b->argv[b->n++] = word;
}

/* A word made here ("K=V", "HOST:GUEST:ro"): kept to free later. */
static void push_owned(struct argv_builder *b, char *word)
{
	if (word == NULL || b->full) {
		free(word);
		b->full = true;
		return;
	}
	b->owned[b->nr_owned++] = word;
	push(b, word);
}

static const char *string_of(struct json_object *spec, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(spec, key, &v) ? json_object_get_string(v) : NULL;
}

static void push_option(struct argv_builder *b, struct json_object *spec, const char *key,
			const char *option)
{
	const char *value = string_of(spec, key);

	if (value != NULL) {
		push(b, option);
		push(b, value);
	}
}

static void push_env_and_mounts(struct argv_builder *b, struct json_object *spec)
{
	struct json_object *env, *mounts;

	if (json_object_object_get_ex(spec, "env", &env)) {
		json_object_object_foreach(env, key, value)
		{
			char *word;

			push(b, "--env");
			push_owned(b,
				   asprintf(&word, "%s=%s", key, json_object_get_string(value)) < 0
					   ? NULL
					   : word);
		}
	}
	if (!json_object_object_get_ex(spec, "mounts", &mounts))
		return;
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		struct json_object *m = json_object_array_get_idx(mounts, i), *ro;
		bool readonly = json_object_object_get_ex(m, "readonly", &ro) &&
				json_object_get_boolean(ro);
		const char *cap = string_of(m, "max_size");
		char *word;

		push(b, "--mount");
		push_owned(b, asprintf(&word, "%s:%s:%s%s%s", string_of(m, "host"),
				       string_of(m, "guest"), readonly ? "ro" : "rw",
				       cap ? ",max-size=" : "", cap ? cap : "") < 0
				      ? NULL
				      : word);
	}
}

bool vm_spec_attachable(struct json_object *spec)
{
	struct json_object *v;

	if (json_object_object_get_ex(spec, "attachable", &v) && json_object_get_boolean(v))
		return true;
	/* A resumed VM is as attachable as the VM it was saved from. */
	return string_of(spec, "program") == NULL && string_of(spec, "eval") == NULL;
}

int vm_spec_argv(struct json_object *spec, const char *lispvm, const char *vm_name,
		 uint64_t memory_cap, bool jail, const char **argv, size_t max, char ***owned)
{
	struct argv_builder b = {.argv = argv, .max = max};
	struct json_object *args;
	const char *program = string_of(spec, "program");

	*owned = NULL;
	b.owned = calloc(max, sizeof(char *));
	if (b.owned == NULL)
		return -1;
	push(&b, lispvm);
	push(&b, string_of(spec, "eval") != NULL ? "eval" : "run");
	if (jail)
		push(&b, "--jail");
	if (vm_spec_attachable(spec)) {
		/* lispvm attach finds it by this name. */
		push(&b, "--attachable");
		push(&b, "--name");
		push(&b, vm_name);
	}
	push_option(&b, spec, "memory", "--memory");
	/* A snapshot has its own memory size, which lispvm checks only
	 * against an explicit --memory: under a memory quota, the size the
	 * quota counted must bound it. */
	if (memory_cap != 0 && string_of(spec, "memory") == NULL &&
	    string_of(spec, "snapshot") != NULL) {
		char *cap = NULL;

		push(&b, "--memory");
		if (asprintf(&cap, "%" PRIu64, memory_cap) < 0)
			cap = NULL;
		push_owned(&b, cap);
	}
	push_option(&b, spec, "cwd", "--cwd");
	push_option(&b, spec, "core", "--core");
	push_option(&b, spec, "snapshot", "--snapshot");
	push_env_and_mounts(&b, spec);
	if (program != NULL) {
		push(&b, program);
		if (json_object_object_get_ex(spec, "args", &args))
			for (size_t i = 0; i < json_object_array_length(args); i++)
				push(&b,
				     json_object_get_string(json_object_array_get_idx(args, i)));
	} else if (string_of(spec, "eval") != NULL) {
		push(&b, string_of(spec, "eval"));
	} /* else a saved VM resumed: run --snapshot FILE alone */
	argv[b.n] = NULL;
	*owned = b.owned;
	if (b.full) {
		vm_spec_free_argv(b.owned);
		*owned = NULL;
		return -1;
	}
	return 0;
}

void vm_spec_free_argv(char **owned)
{
	if (owned == NULL)
		return;
	for (size_t i = 0; owned[i] != NULL; i++)
		free(owned[i]);
	free(owned);
}
