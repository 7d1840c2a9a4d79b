/* ops-promote — not implemented yet: parses the common options and exits 3. */
#include <stdio.h>

#include "cli.h"
#include "config.h"

static const struct cli_tool tool = {
	.name = "ops-promote",
	.usage = "usage: ops-promote [--config file] [--format text|json|prometheus|nagios]\n"
		 "       [-o file] [-qv] [options] SOURCE TARGET\n"
		 "       ops-promote -h | -V\n",
	.formats = FMT_MASK_SHARED,
};

int main(int argc, char **argv)
{
	struct cli_common common;
	cli_parse(&tool, argc, argv, NULL, NULL, NULL, NULL, &common);
	config_free(cli_load_config(&tool, &common));
	cli_fail_unknown(&tool, &common, "not-implemented", "%s is not implemented yet", tool.name);
}
