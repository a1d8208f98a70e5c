package dev.usher.benchmarks;

import java.lang.management.ManagementFactory;
import java.lang.ref.Reference;
import java.util.function.IntFunction;

/**
 * Heap retained per entry: the live heap after full collections, before and after filling a structure with
 * {@code n} entries, divided by {@code n}. Every byte the entries keep alive counts (keys, ids, values,
 * index nodes), which is what a host pays for them.
 */
final class HeapFootprint {
    private HeapFootprint() {
    }

    /** {@code fill} builds and returns the structure holding {@code n} entries. */
    static long bytesPerEntry(int n, IntFunction<Object> fill) {
        long before = liveHeap();
        Object structure = fill.apply(n);
        long after = liveHeap();
        Reference.reachabilityFence(structure);
        return Math.round((double) (after - before) / n);
    }

    private static long liveHeap() {
        long used = Long.MAX_VALUE;
        // Repeated until stable: one collection can leave garbage that a finalizer or a reference queue frees.
        for (int i = 0; i < 10; i++) {
            System.gc();
            long now = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            if (Math.abs(now - used) < 64 * 1024) {
                return now;
            }
            used = now;
        }
        return used;
    }
}
