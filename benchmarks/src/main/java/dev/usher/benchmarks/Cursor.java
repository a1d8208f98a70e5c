package dev.usher.benchmarks;

import java.util.concurrent.ThreadLocalRandom;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * Each benchmark thread's walk over the prepared keys: a cheap step from a random start, so threads touch
 * different entries and the cost of picking a key stays out of the measurement.
 */
@State(Scope.Thread)
public class Cursor {
    private int next = ThreadLocalRandom.current().nextInt(1 << 20);

    /** The next index in {@code [0, size)}; {@code size} is a power of two. */
    int next(int size) {
        next += 7;
        return next & (size - 1);
    }
}
