/* SPDX-License-Identifier: MIT */
#include "process_start.h"

#include <stdio.h>
#include <string.h>

int process_stat_read(pid_t pid, struct process_stat *out)
{
	char path[64], buf[1024], *p;
	unsigned long long utime, stime, start;
	int rc = -1, ppid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	/* The command (field 2) may hold anything: fields count from its ')'. */
	if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL &&
	    sscanf(p + 2,
		   "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
		   "%*d %*d %llu",
		   &ppid, &utime, &stime, &start) == 4) {
		*out = (struct process_stat){
			.ppid = ppid, .utime = utime, .stime = stime, .start = start};
		rc = 0;
	}
	fclose(f);
	return rc;
}

uint64_t process_start_time(pid_t pid)
{
	struct process_stat st;

	return process_stat_read(pid, &st) == 0 ? st.start : 0;
}
