package dev.usher.session;

import static dev.usher.session.Await.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The circuit on its own: the stores' outage tests show it against real servers. */
class StoreCircuitTest {
    @Test
    void opensOnATripFailsFastWithTheCauseAndClosesWhenTheProbeSucceeds() throws Exception {
        AtomicBoolean reachable = new AtomicBoolean(false);
        AtomicInteger probes = new AtomicInteger();
        try (StoreCircuit circuit = StoreCircuit.create("test store", Duration.ofMillis(10), () -> {
            probes.incrementAndGet();
            if (!reachable.get()) {
                throw new IOException("refused");
            }
        })) {
            circuit.throwIfOpen();
            IOException cause = new IOException("connection refused");
            assertThat(circuit.trip(cause)).isTrue();
            assertThat(circuit.trip(new IOException("again"))).as("already open").isFalse();
            assertThatThrownBy(circuit::throwIfOpen).isInstanceOf(StoreUnavailableException.class)
                    .hasCause(cause).hasMessageContaining("test store")
                    .satisfies(e -> assertThat(((StoreUnavailableException) e).retryAfter()).contains(Duration.ofMillis(10)));
            awaitCondition(() -> probes.get() >= 3);
            assertThat(circuit.isOpen()).as("still down").isTrue();
            reachable.set(true);
            awaitCondition(() -> !circuit.isOpen());
            circuit.throwIfOpen();
            assertThat(circuit.trip(cause)).as("a second outage opens it again").isTrue();
            awaitCondition(() -> !circuit.isOpen());
        }
    }

    @Test
    void closeStopsTheProbeThreadAndLaterTripsAreIgnored() throws Exception {
        StoreCircuit circuit = StoreCircuit.create("closing store", Duration.ofMillis(5), () -> {
            throw new IOException("down");
        });
        circuit.trip(new IOException("down"));
        circuit.close();
        awaitCondition(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().equals("usher-probe-closing-store")));
        assertThat(circuit.trip(new IOException("after close"))).isFalse();
    }

    @Test
    void noProbeThreadRunsWhileTheStoreIsUp() throws Exception {
        AtomicBoolean reachable = new AtomicBoolean(false);
        try (StoreCircuit circuit = StoreCircuit.create("recovering store", Duration.ofMillis(5), () -> {
            if (!reachable.get()) {
                throw new IOException("down");
            }
        })) {
            circuit.trip(new IOException("down"));
            awaitCondition(() -> probeThreadAlive("usher-probe-recovering-store"));
            reachable.set(true);
            awaitCondition(() -> !circuit.isOpen());
            awaitCondition(() -> !probeThreadAlive("usher-probe-recovering-store"));
        }
    }

    private static boolean probeThreadAlive(String name) {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals(name) && t.isAlive());
    }

    @Test
    void rejectsAProbeIntervalOutOfRangeNamingIt() {
        assertThatThrownBy(() -> StoreCircuit.create("s", Duration.ZERO, () -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("probeInterval").hasMessageContaining("0s");
    }
}
