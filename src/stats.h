/* Stats blocks: plain arrays of uint64_t counters that the core writes in
 * place and JavaScript reads through a BigUint64Array over the same memory,
 * so reading a stat never calls into C.
 *
 * Ownership. An endpoint, session or stream keeps its counters inline until
 * the application first asks for them (most streams never do). Then
 * quic_stats_share moves them to a block with two owners: the object (until
 * it is freed, when it writes its last values and calls quic_stats_release)
 * and the binding's external ArrayBuffer (until the garbage collector or
 * the environment's teardown runs its finalizer, which releases it too).
 * The last owner frees the block, so C never writes into memory JavaScript
 * has dropped and JavaScript never reads memory C has freed. The count is
 * atomic because a finalizer and the core may run on different threads once
 * endpoints are shared with workers. Blocks use the system allocator, not
 * mem.c's counting one: their end depends on the garbage collector, and
 * liveMemory() is meant to reach 0 when every native object is closed. */
#ifndef QUIC_STATS_H
#define QUIC_STATS_H

#include "common.h"

/* counters is the object's current pointer: its inline struct or a block.
 * Returns the block, copied from the inline struct if need be, with one
 * more reference for the caller; the object must point at it from now on.
 * NULL: out of memory, or the block was already handed out (one view
 * each, since one external ArrayBuffer per memory is all V8 allows). */
void *quic_stats_share(void *counters, const void *inline_counters, size_t size);
/* Drops one reference to a shared block (no-op for inline counters). */
void quic_stats_release(void *counters, const void *inline_counters);

#endif
