/* err.c - fy_strerror() from the one X-macro list.  GPL-2.0-or-later */
#include <string.h>
#include "common.h"

const char *
fy_strerror(int e)
{
	switch (e) {
#define FY_ERR_STR(name, val, str) case (val): return (str);
	FY_ERRORS(FY_ERR_STR)
#undef FY_ERR_STR
	}
	return "unknown error";
}

const char *
fy_errname(int e)
{
	switch (e) {
#define FY_ERR_NAME(name, val, str) case (val): return (#name) + (sizeof("FY_ERR_") - 1);
	FY_ERRORS(FY_ERR_NAME)
#undef FY_ERR_NAME
	}
	return "UNKNOWN";
}

int
fy_errcode(const char *name, size_t len)
{
#define FY_ERR_CODE(nm, val, str) \
	if (len == strlen(#nm) - (sizeof("FY_ERR_") - 1) && \
	    strncmp(name, (#nm) + (sizeof("FY_ERR_") - 1), len) == 0) \
		return (val);
	FY_ERRORS(FY_ERR_CODE)
#undef FY_ERR_CODE
	return FY_ERR_PEER;
}
