/* Give memory back while the agent waits between report cycles.
 *
 * Between cycles the agent only waits, often for hours. Freed heap is
 * returned to the kernel (malloc_trim), and the pages of the program and the
 * shared libraries that a cycle touched (TLS, JSON, TPM marshalling) are
 * unmapped from this process: code that was never written with
 * MADV_DONTNEED (a private file mapping refills from the page cache on the
 * next access), other unwritten file-backed pages with MADV_PAGEOUT. Pages
 * that hold data written by this process are never touched. They come back
 * in milliseconds at the next cycle. Best effort: failures are ignored. */
#ifndef AGENT_MEMTRIM_H
#define AGENT_MEMTRIM_H

void agent_memory_trim(void);

#endif
