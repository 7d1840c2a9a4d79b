#define _GNU_SOURCE
#include "msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "util.h"

int opskit_verbose;
int opskit_quiet;
static const char *progname = "opskit";

void set_progname(const char *name)
{
	const char *slash = strrchr(name, '/');
	progname = slash ? slash + 1 : name;
}

const char *get_progname(void)
{
	return progname;
}

static void vmessage(const char *prefix, const char *fmt, va_list ap)
{
	char *raw = xvasprintf(fmt, ap);
	char *safe = redact_text(raw);
	fprintf(stderr, "%s: %s%s\n", progname, prefix, safe);
	free(safe);
	free(raw);
}

void errorf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void warnf(const char *fmt, ...)
{
	if (opskit_quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vmessage("warning: ", fmt, ap);
	va_end(ap);
}

void verbosef(int level, const char *fmt, ...)
{
	if (opskit_verbose < level)
		return;
	va_list ap;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void die(int exit_code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
	exit(exit_code);
}
