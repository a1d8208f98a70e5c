package dev.usher.session;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A nanosecond ticker that only moves when a test moves it, for the components that read elapsed time from a
 * ticker rather than a {@link java.time.Clock} (that is {@link TestClock}): the {@code ticker(LongSupplier)} of
 * the admission queue, the workflow cache and the rate limiter. Thread-safe.
 */
public final class FakeTicker implements LongSupplier {
    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

    @Override
    public long getAsLong() {
        return nanos.get();
    }

    public void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
    }
}
