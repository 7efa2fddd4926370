/*
 * shim.h: the one header of the CLibPQ module.
 *
 * Contract: includes libpq-fe.h from the pkg-config include path, else from
 * Debian's /usr/include/postgresql (libpq-dev), else from the default path.
 * Limits: nothing else is declared here; all calls go through
 * Sources/PostgresLoading/LibPQ.swift.
 */
#ifndef MAILTRAIL_CLIBPQ_SHIM_H
#define MAILTRAIL_CLIBPQ_SHIM_H

#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#elif __has_include("/usr/include/postgresql/libpq-fe.h")
#include "/usr/include/postgresql/libpq-fe.h"
#elif __has_include(<postgresql/libpq-fe.h>)
#include <postgresql/libpq-fe.h>
#else
#error "libpq-fe.h not found: install libpq-dev (Debian/Ubuntu) or libpq (Homebrew)"
#endif

#endif
