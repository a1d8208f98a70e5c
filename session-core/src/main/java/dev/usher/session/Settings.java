package dev.usher.session;

import java.time.Duration;
import java.util.Objects;

/**
 * The checks of session-core's builders, so that each setter validates in one line and every message reads
 * "{@code <setting> must be ... but was ...}". Stateless.
 */
final class Settings {
    private Settings() {
    }

    static int atLeast(String name, int min, int value) {
        if (value < min) {
            throw new IllegalArgumentException(name + " must be at least " + min + " but was " + value);
        }
        return value;
    }

    /** A duration of at least one millisecond, the precision every backend keeps. */
    static Duration atLeastOneMilli(String name, Duration d) {
        Objects.requireNonNull(d, name);
        if (d.isNegative() || d.isZero() || d.toMillis() == 0) {
            throw new IllegalArgumentException(name + " must be at least 1ms but was " + Durations.format(d));
        }
        return d;
    }

    static Duration notNegative(String name, Duration d) {
        Objects.requireNonNull(d, name);
        if (d.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative but was " + Durations.format(d));
        }
        return d;
    }

    /** A fraction in [0, 1). */
    static double fraction(String name, double value) {
        if (!(value >= 0 && value < 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1) but was " + value);
        }
        return value;
    }
}
