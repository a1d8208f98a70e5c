package dev.usher.gate;

import static dev.usher.session.Await.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.AdmissionStats;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Waiting requests whose clients left are gone from the line although the line does not move: the gate
 * ticks every waiter's observer, the write to a departed client fails, the request leaves. Clients are
 * stand-ins for connections whose writes fail once the peer is gone, as a socket's do.
 */
class WorkflowGateKeepAliveTest {
    private WorkflowGate<AutoCloseable> gate;
    private final List<Thread> threads = new ArrayList<>();

    /** A client connection: writes succeed while connected, fail once it left; a slow one takes its time. */
    static final class Client {
        volatile boolean connected = true;
        volatile int lastPosition;
        final AtomicInteger writes = new AtomicInteger();
        final long writeMillis;

        Client(long writeMillis) {
            this.writeMillis = writeMillis;
        }

        QueueObserver observer() {
            return (session, position, estimate) -> {
                if (!connected) {
                    throw new UncheckedIOException("client went away", new IOException("Broken pipe"));
                }
                if (writeMillis > 0) {
                    try {
                        Thread.sleep(writeMillis);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                lastPosition = position;
                writes.incrementAndGet();
            };
        }
    }

    private WorkflowGate<AutoCloseable> gate(int maxRunning, int maxQueued, Duration keepAlive) {
        SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
        AdmissionQueue queue = AdmissionQueue.builder(maxRunning).maxQueued(maxQueued)
                .notificationPeriod(Duration.ofMillis(100)).initialRunDuration(Duration.ofSeconds(10)).build();
        WorkflowCache<String, AutoCloseable> cache = WorkflowCache.<String, AutoCloseable>builder(id -> () -> { })
                .maximumSize(100).build();
        gate = WorkflowGate.builder(sessions, queue, cache).keepAliveInterval(keepAlive).build();
        return gate;
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        if (gate != null) {
            gate.close();
        }
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(30));
        }
    }

    /** Runs one request through the gate on its own thread, as a server would; records how it ended. */
    private void request(String rateKey, Client client, ConcurrentLinkedQueue<String> outcomes) {
        Thread t = new Thread(() -> {
            try {
                GateOutcome<AutoCloseable> outcome = gate.enter(new GateRequest(null, rateKey, null), client.observer());
                if (outcome instanceof GateOutcome.Admitted<AutoCloseable> run) {
                    run.close();
                    outcomes.add("admitted");
                } else {
                    outcomes.add(outcome.toString());
                }
            } catch (UncheckedIOException e) {
                outcomes.add("left");
            } catch (InterruptedException e) {
                outcomes.add("interrupted");
            } catch (RuntimeException e) {
                outcomes.add("failed: " + e);
            }
        }, "request-" + rateKey);
        t.setDaemon(true);
        t.start();
        threads.add(t);
    }

    private List<GateOutcome.Admitted<AutoCloseable>> runsThatNeverEnd(int n) throws InterruptedException {
        List<GateOutcome.Admitted<AutoCloseable>> runs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            runs.add((GateOutcome.Admitted<AutoCloseable>) gate.enter(new GateRequest(null, "runner-" + i, null),
                    QueueObserver.ignoring()));
        }
        return runs;
    }

    @Test
    @Tag("slow") // seconds of real keep-alive intervals: run by the README test command, not by plain mvn test
    void departedWaitersLeaveWithinTwoKeepAliveIntervalsAndTheRestMoveUp() throws Exception {
        Duration keepAlive = WorkflowGate.DEFAULT_KEEP_ALIVE;
        gate(2, 2_000, keepAlive);
        List<GateOutcome.Admitted<AutoCloseable>> runs = runsThatNeverEnd(2);
        int waiters = 1_000;
        int staying = 10;
        List<Client> clients = new ArrayList<>();
        ConcurrentLinkedQueue<String> outcomes = new ConcurrentLinkedQueue<>();
        for (int i = 0; i < waiters; i++) {
            Client c = new Client(0);
            clients.add(c);
            request("user-" + i, c, outcomes);
        }
        awaitCondition("all " + waiters + " wait and were told so", Duration.ofSeconds(60),
                () -> gate.queue().stats().queued() == waiters && clients.stream().allMatch(c -> c.writes.get() > 0));

        // Everybody leaves but a few spread through the line.
        Set<Client> stay = new HashSet<>();
        for (int i = 0; i < staying; i++) {
            stay.add(clients.get(i * (waiters / staying) + waiters / staying - 1));
        }
        long leftAt = System.nanoTime();
        clients.stream().filter(c -> !stay.contains(c)).forEach(c -> c.connected = false);
        awaitCondition("only the connected wait", Duration.ofSeconds(60), () -> gate.queue().stats().queued() == staying);
        Duration gone = Duration.ofNanos(System.nanoTime() - leftAt);
        assertThat(gone).as("time until the departed had left the line").isLessThanOrEqualTo(keepAlive.multipliedBy(2));
        // The line did not move (the runs never end), yet those still there are told their new places.
        awaitCondition("the remaining waiters are told positions 1.." + staying, Duration.ofSeconds(30),
                () -> stay.stream().map(c -> c.lastPosition).distinct().count() == staying
                        && stay.stream().allMatch(c -> c.lastPosition >= 1 && c.lastPosition <= staying));

        leftAt = System.nanoTime();
        stay.forEach(c -> c.connected = false);
        awaitCondition("nobody waits", Duration.ofSeconds(60), () -> gate.queue().stats().queued() == 0);
        gone = Duration.ofNanos(System.nanoTime() - leftAt);
        assertThat(gone).as("time until the last departed had left the line").isLessThanOrEqualTo(keepAlive.multipliedBy(2));

        awaitCondition("every request returned", Duration.ofSeconds(30), () -> outcomes.size() == waiters);
        assertThat(outcomes).containsOnly("left");
        AdmissionStats stats = gate.queue().stats();
        assertThat(stats.cancelled()).isEqualTo(waiters);
        assertThat(stats.running()).isEqualTo(2);
        assertThat(stats.admitted()).isEqualTo(2);
        runs.forEach(GateOutcome.Admitted::close);
        assertThat(gate.queue().stats().running()).isZero();
    }

    @Test
    void aKeepAliveIntervalBelowTenMillisecondsIsRejectedWithItsName() {
        WorkflowGate<AutoCloseable> built = gate(1, 1, Duration.ofSeconds(1));
        WorkflowGate.Builder<AutoCloseable> builder = WorkflowGate.builder(built.sessions(), built.queue(), built.workflows());
        assertThatThrownBy(() -> builder.keepAliveInterval(Duration.ofMillis(9)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("keepAliveInterval must be at least 10ms but was");
        assertThatThrownBy(() -> builder.keepAliveInterval(null)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("keepAliveInterval");
    }

    @Test
    @Tag("slow") // seconds of real keep-alive intervals: run by the README test command, not by plain mvn test
    void aSlowButConnectedClientIsNeverWithdrawnAndHearsTicksWhileNothingChanges() throws Exception {
        gate(1, 10, Duration.ofMillis(100));
        List<GateOutcome.Admitted<AutoCloseable>> runs = runsThatNeverEnd(1);
        Client fast = new Client(0);
        Client slow = new Client(700); // each write takes seven keep-alive intervals
        ConcurrentLinkedQueue<String> outcomes = new ConcurrentLinkedQueue<>();
        request("fast", fast, outcomes);
        awaitCondition("the fast client waits", Duration.ofSeconds(30), () -> fast.writes.get() > 0);
        request("slow", slow, outcomes);
        // Nothing changes in the line, yet both keep hearing from the gate.
        awaitCondition("ticks reach both clients", Duration.ofSeconds(60), () -> fast.writes.get() >= 20 && slow.writes.get() >= 4);
        assertThat(fast.lastPosition).isEqualTo(1);
        assertThat(slow.lastPosition).isEqualTo(2);
        assertThat(gate.queue().stats().queued()).isEqualTo(2);
        assertThat(gate.queue().stats().cancelled()).isZero();

        runs.get(0).close();
        awaitCondition("the fast client ran", Duration.ofSeconds(30), () -> outcomes.contains("admitted"));
        awaitCondition("the slow client ran", Duration.ofSeconds(30), () -> outcomes.size() == 2);
        assertThat(outcomes).containsExactly("admitted", "admitted");
        assertThat(gate.queue().stats().cancelled()).isZero();
    }
}
