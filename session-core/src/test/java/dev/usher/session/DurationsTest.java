package dev.usher.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
    @Test
    void writesDurationsAsPeopleDo() {
        assertThat(Durations.format(Duration.ofSeconds(5))).isEqualTo("5s");
        assertThat(Durations.format(Duration.ofMinutes(30))).isEqualTo("30m");
        assertThat(Durations.format(Duration.ofMillis(250))).isEqualTo("250ms");
        assertThat(Durations.format(Duration.ofMillis(1500))).isEqualTo("1.5s");
        assertThat(Durations.format(Duration.ofMinutes(90))).isEqualTo("1h30m");
        assertThat(Durations.format(Duration.ofHours(48))).isEqualTo("2d");
        assertThat(Durations.format(Duration.ofSeconds(125))).isEqualTo("2m5s");
        assertThat(Durations.format(Duration.ofNanos(30_277_076))).isEqualTo("30.3ms");
        assertThat(Durations.format(Duration.ofNanos(4_476))).isEqualTo("4.5µs");
        assertThat(Durations.format(Duration.ofNanos(12))).isEqualTo("12ns");
        assertThat(Durations.format(Duration.ZERO)).isEqualTo("0s");
        assertThat(Durations.format(Duration.ofSeconds(-5))).isEqualTo("-5s");
        assertThat(Durations.format(null)).isEqualTo("null");
        assertThat(Durations.format(Duration.ofSeconds(Long.MIN_VALUE))).isNotEmpty();
        assertThat(Durations.format(Duration.ofSeconds(Long.MAX_VALUE, 999_999_999))).startsWith("106751991167300d");
    }
}
