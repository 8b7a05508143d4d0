/* The entry points every fuzz target defines: libFuzzer calls them, and so
 * does replay_main.c when a corpus is replayed as an ordinary test. */
#ifndef DA_FUZZ_TARGET_H
#define DA_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: targets without one leave it undefined. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#endif
