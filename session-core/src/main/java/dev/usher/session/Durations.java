package dev.usher.session;

import java.time.Duration;

/**
 * Writes durations the way people write them in configuration and messages: {@code 250ms}, {@code 5s},
 * {@code 1.5s}, {@code 30m}, {@code 1h30m}, {@code 2d}, rather than ISO-8601's {@code PT5S}. Every Usher
 * message that names a duration uses this one form. Stateless and thread-safe.
 */
public final class Durations {
    private Durations() {
    }

    /** {@code d} as people write it; {@code null} as {@code "null"}. */
    public static String format(Duration d) {
        if (d == null) {
            return "null";
        }
        if (d.isNegative()) {
            if (d.getSeconds() == Long.MIN_VALUE) {
                return d.toString(); // the one duration that has no positive counterpart
            }
            return "-" + format(d.negated());
        }
        if (d.isZero()) {
            return "0s";
        }
        long nanos = d.toNanosPart();
        long seconds = d.getSeconds();
        if (seconds == 0) {
            if (nanos >= 1_000_000) {
                return decimal(nanos, 1_000_000) + "ms";
            }
            return nanos >= 1_000 ? decimal(nanos, 1_000) + "µs" : nanos + "ns";
        }
        if (seconds < 60 && nanos != 0) {
            // 1.5s, 2.25s: seconds with their fraction, trailing zeros dropped.
            String fraction = String.format("%09d", nanos).replaceFirst("0+$", "");
            return seconds + "." + fraction + "s";
        }
        StringBuilder out = new StringBuilder();
        append(out, seconds / 86_400, "d");
        append(out, seconds / 3_600 % 24, "h");
        append(out, seconds / 60 % 60, "m");
        append(out, seconds % 60, "s");
        if (nanos != 0) {
            append(out, Math.max(1, nanos / 1_000_000), "ms");
        }
        return out.toString();
    }

    /**
     * {@code value}, checked for a setting that must be at least {@code min}; builders call this so that
     * every such refusal reads alike: {@code "<setting> must be at least <min> but was <value>"}.
     *
     * @throws NullPointerException     if {@code value} is null (the message names the setting)
     * @throws IllegalArgumentException if {@code value} is shorter than {@code min}
     */
    public static Duration requireAtLeast(String setting, Duration value, Duration min) {
        if (value == null) {
            throw new NullPointerException(setting);
        }
        if (value.compareTo(min) < 0) {
            throw new IllegalArgumentException(setting + " must be at least " + format(min) + " but was "
                    + format(value));
        }
        return value;
    }

    /** {@code amount / unit} with at most one decimal, and none when it is zero: 30ms, 1.5ms. */
    private static String decimal(long amount, long unit) {
        long tenths = Math.round(amount * 10.0 / unit);
        return tenths % 10 == 0 ? Long.toString(tenths / 10) : tenths / 10 + "." + tenths % 10;
    }

    private static void append(StringBuilder out, long amount, String unit) {
        if (amount != 0) {
            out.append(amount).append(unit);
        }
    }
}
