package dev.usher.session;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A clock that only moves when told to, for expiry tests without sleeps. It starts at the real current
 * time (to the millisecond) so that stores relying on server-side TTLs (Redis) see sensible instants.
 */
public final class TestClock extends Clock {
    private final AtomicLong millis;

    public TestClock() {
        this(Instant.now().truncatedTo(ChronoUnit.MILLIS));
    }

    public TestClock(Instant start) {
        this.millis = new AtomicLong(start.toEpochMilli());
    }

    public void advance(Duration d) {
        millis.addAndGet(d.toMillis());
    }

    @Override
    public Instant instant() {
        return Instant.ofEpochMilli(millis.get());
    }

    @Override
    public long millis() {
        return millis.get();
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException("TestClock is always UTC");
    }
}
