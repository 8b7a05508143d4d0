/* The configuration collectors use when the agent's configuration is silent. */
#include "collector.h"

static const char *const col_default_tools[] = {
    "cc",  "gcc", "clang", "ld",    "as",    "make", "cmake",   "ninja",
    "git", "go",  "rustc", "cargo", "javac", "node", "python3",
};

static const struct col_config col_defaults = {
    .toolchain = col_default_tools,
    .n_toolchain = sizeof(col_default_tools) / sizeof(col_default_tools[0]),
    .path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
};

const struct col_config *col_default_config(void)
{
    return &col_defaults;
}
