package dev.usher.gate;

import static dev.usher.session.Await.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.Ticket;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The gate's wait for admission on its own: updates relayed to the observer on the waiting thread, the
 * permit handed over on admission, and an interrupt that withdraws the ticket, with a real queue of one slot.
 */
class AdmissionWaitTest {
    private static final long KEEP_ALIVE_NANOS = Duration.ofMinutes(10).toNanos();

    private SessionManager sessions;
    private AdmissionQueue queue;
    private ExecutorService waiters;

    @BeforeEach
    void setUp() {
        sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
        queue = AdmissionQueue.builder(1).name("admission-wait-test").build();
        waiters = Executors.newSingleThreadExecutor();
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        waiters.shutdownNow();
        assertThat(waiters.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        queue.close();
        sessions.close();
    }

    @Test
    void anAdmittedTicketHandsOverItsPermitWithoutCallingTheObserver() throws Exception {
        AdmissionWait wait = new AdmissionWait();
        Ticket ticket = queue.enter("alone", wait);
        List<Integer> positions = new CopyOnWriteArrayList<>();
        Permit permit = wait.await(ticket, new SessionOnDemand(sessions, null),
                (session, position, estimate) -> positions.add(position), KEEP_ALIVE_NANOS);
        assertThat(permit).isNotNull();
        assertThat(permit.key()).isEqualTo("alone");
        assertThat(positions).isEmpty();
        permit.close();
        assertThat(queue.stats().running()).isZero();
    }

    @Test
    void aWaitingTicketRelaysItsPositionAndIsAdmittedWhenTheSlotFrees() throws Exception {
        Permit holder = queue.enter("holder").await(Duration.ofSeconds(30));
        AdmissionWait wait = new AdmissionWait();
        Ticket ticket = queue.enter("waiter", wait);
        List<Integer> positions = new CopyOnWriteArrayList<>();
        AtomicReference<Thread> observerThread = new AtomicReference<>();
        Future<Thread> waiterThread = waiters.submit(Thread::currentThread);
        Future<Permit> admitted = waiters.submit(() -> wait.await(ticket, new SessionOnDemand(sessions, null),
                (session, position, estimate) -> {
                    observerThread.set(Thread.currentThread());
                    positions.add(position);
                }, KEEP_ALIVE_NANOS));
        awaitCondition(() -> !positions.isEmpty());
        assertThat(positions.get(0)).isEqualTo(1);
        assertThat(observerThread.get()).isSameAs(waiterThread.get());
        assertThat(admitted.isDone()).isFalse();

        holder.close();
        Permit permit = admitted.get(30, TimeUnit.SECONDS);
        assertThat(permit.key()).isEqualTo("waiter");
        assertThat(ticket.state()).isEqualTo(Ticket.State.ADMITTED);
        permit.close();
    }

    @Test
    void anInterruptWithdrawsTheWaitingTicket() throws Exception {
        Permit holder = queue.enter("holder").await(Duration.ofSeconds(30));
        AdmissionWait wait = new AdmissionWait();
        Ticket ticket = queue.enter("waiter", wait);
        AtomicReference<Thread> waiting = new AtomicReference<>();
        Future<Object> outcome = waiters.submit(() -> {
            waiting.set(Thread.currentThread());
            try {
                return wait.await(ticket, new SessionOnDemand(sessions, null), QueueObserver.ignoring(), KEEP_ALIVE_NANOS);
            } catch (InterruptedException e) {
                return e;
            }
        });
        awaitCondition(() -> waiting.get() != null && waiting.get().getState() == Thread.State.TIMED_WAITING);
        waiting.get().interrupt();
        assertThat(outcome.get(30, TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
        assertThat(ticket.state()).isEqualTo(Ticket.State.CANCELLED);
        assertThat(queue.stats().queued()).isZero();
        holder.close();
        assertThat(queue.stats().running()).isZero();
    }
}
