package dev.usher.gate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.Ticket;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The ADMITTED update wakes a waiter wherever it is in its wait: the slot is freed at a random moment
 * relative to the waiter's parking, many times. The keep-alive interval is ten minutes, so a lost wake-up
 * would leave the waiter parked past the test's bound rather than be rescued by a tick.
 */
class AdmissionWaitWakeTest {
    private static final long KEEP_ALIVE_NANOS = Duration.ofMinutes(10).toNanos();

    @Test
    void admissionWakesTheWaiterWhateverItsMomentInTheWait() throws Exception {
        Random random = new Random(16);
        ExecutorService waiters = Executors.newSingleThreadExecutor();
        try (SessionManager sessions = SessionManager.builder(new InMemorySessionStore())
                .sweepInterval(Duration.ZERO).build();
                AdmissionQueue queue = AdmissionQueue.builder(1).name("admission-wait-wake-test").build()) {
            for (int round = 0; round < 300; round++) {
                Permit holder = queue.enter("holder").await(Duration.ofSeconds(30));
                AdmissionWait wait = new AdmissionWait();
                Ticket ticket = queue.enter("waiter", wait);
                assertThat(ticket.state()).isEqualTo(Ticket.State.QUEUED);
                Future<Permit> admitted = waiters.submit(() -> wait.await(ticket, new SessionOnDemand(sessions, null),
                        QueueObserver.ignoring(), KEEP_ALIVE_NANOS));
                long spinUntil = System.nanoTime() + random.nextInt(300_000);
                while (System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                }
                holder.close();
                Permit permit = admitted.get(60, TimeUnit.SECONDS);
                assertThat(permit.key()).as("round %d", round).isEqualTo("waiter");
                permit.close();
            }
            assertThat(queue.stats().running()).isZero();
        } finally {
            waiters.shutdownNow();
            assertThat(waiters.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
    }
}
