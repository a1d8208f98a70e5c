package dev.usher.spring.boot.autoconfigure;

import dev.usher.session.Durations;
import java.time.Duration;
import java.util.function.Supplier;

/** Checks of {@code usher.*} values, each failing with the property's name, the value and the rule. */
final class Settings {
    private Settings() {
    }

    static long atLeast(String property, long value, long min) {
        if (value < min) {
            throw new UsherConfigurationException(property, "must be at least " + min + " but was " + value);
        }
        return value;
    }

    static int atLeast(String property, int value, int min) {
        return (int) atLeast(property, (long) value, min);
    }

    static Duration atLeast(String property, Duration value, Duration min) {
        if (value == null) {
            throw new UsherConfigurationException(property, "must be set");
        }
        if (value.compareTo(min) < 0) {
            throw new UsherConfigurationException(property, "must be at least " + Durations.format(min) + " but was "
                    + Durations.format(value));
        }
        return value;
    }

    static String required(String property, String value, String when) {
        if (value == null || value.isBlank()) {
            throw new UsherConfigurationException(property, "is required " + when + " but is not set");
        }
        return value;
    }

    /** Runs a component's builder, turning its argument errors into errors that name the property. */
    static <T> T build(String property, Supplier<T> builder) {
        try {
            return builder.get();
        } catch (IllegalArgumentException | IllegalStateException e) {
            if (e instanceof UsherConfigurationException) {
                throw e;
            }
            throw new UsherConfigurationException(property, "is invalid: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new UsherConfigurationException(property, "could not be used: " + e, e);
        }
    }
}
