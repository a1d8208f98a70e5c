package dev.usher.gate.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WaitHistogramTest {

    @Test
    void percentilesAreAtMostOneSixteenthAboveTheExactValue() {
        Random random = new Random(7);
        WaitHistogram histogram = new WaitHistogram();
        long[] values = new long[10_000];
        for (int i = 0; i < values.length; i++) {
            values[i] = (long) Math.exp(random.nextDouble() * 30); // 1 ns .. ~10 s, spread over decades
            histogram.record(values[i]);
        }
        Arrays.sort(values);
        for (double fraction : new double[] {0.5, 0.95, 0.99, 1.0}) {
            long exact = values[(int) Math.ceil(fraction * values.length) - 1];
            long reported = histogram.percentile(fraction).toNanos();
            assertThat(reported).isBetween(exact, exact + exact / 16);
        }
    }

    @Test
    void emptyHistogramReportsZeroAndBucketsTileTheRange() {
        assertThat(new WaitHistogram().percentile(0.99)).isEqualTo(Duration.ZERO);
        for (int i = 1; i < 900; i++) {
            assertThat(WaitHistogram.index(WaitHistogram.upperBound(i - 1) + 1)).isEqualTo(i);
            assertThat(WaitHistogram.index(WaitHistogram.upperBound(i))).isEqualTo(i);
        }
    }
}
