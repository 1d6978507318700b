/* SPDX-License-Identifier: MIT */
/* lispvmd's operations: the routes of /v1 (docs/daemon.md). */
#ifndef LISPVM_DAEMON_API_H
#define LISPVM_DAEMON_API_H

#include "http_server.h"

http_route_fn api_route(const char *method, const char *path, char *param, unsigned int *status,
			const char **allow);

#endif
