package dev.usher.gate.admission;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RankedTreeTest {

    @Test
    void operationsCostLogarithmicComparisons() {
        // Counted, not timed: the number of comparisons per operation on 100,000 elements stays within a small
        // multiple of log2(n) ~ 17, where a scan would need tens of thousands.
        AtomicLong comparisons = new AtomicLong();
        Comparator<Integer> counting = (a, b) -> {
            comparisons.incrementAndGet();
            return Integer.compare(a, b);
        };
        RankedTree<Integer> tree = new RankedTree<>(counting);
        Random random = new Random(3);
        int n = 100_000;
        for (int i = 0; i < n; i++) {
            tree.add(random.nextInt());
        }
        comparisons.set(0);
        int ops = 10_000;
        for (int i = 0; i < ops; i++) {
            int value = random.nextInt();
            tree.rank(value);
            tree.add(value);
            tree.remove(value);
        }
        double log2 = Math.log(n) / Math.log(2);
        assertThat(comparisons.get() / (3.0 * ops)).isLessThan(4 * log2);
    }

    @Test
    void agreesWithASortedListUnderRandomInsertsAndRemovals() {
        Random random = new Random(42);
        RankedTree<Integer> tree = new RankedTree<>(Comparator.naturalOrder());
        List<Integer> sorted = new ArrayList<>();
        for (int step = 0; step < 20_000; step++) {
            int value = random.nextInt(2_000);
            int at = Collections.binarySearch(sorted, value);
            if (at >= 0) {
                assertThat(tree.remove(value)).isTrue();
                sorted.remove(at);
            } else {
                tree.add(value);
                sorted.add(-at - 1, value);
            }
            assertThat(tree.remove(-1)).isFalse();
            assertThat(tree.size()).isEqualTo(sorted.size());
            int probe = random.nextInt(2_000);
            int expectedRank = Collections.binarySearch(sorted, probe);
            assertThat(tree.rank(probe)).isEqualTo(expectedRank >= 0 ? expectedRank : -expectedRank - 1);
            int higherIndex = expectedRank >= 0 ? expectedRank + 1 : -expectedRank - 1;
            assertThat(tree.higher(probe)).isEqualTo(higherIndex < sorted.size() ? sorted.get(higherIndex) : null);
            assertThat(tree.first()).isEqualTo(sorted.isEmpty() ? null : sorted.get(0));
            int index = random.nextInt(sorted.size() + 2) - 1;
            assertThat(tree.select(index)).isEqualTo(index >= 0 && index < sorted.size() ? sorted.get(index) : null);
        }
    }
}
