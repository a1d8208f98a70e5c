package dev.usher.gate;

import static dev.usher.session.Await.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.Ticket;
import dev.usher.gate.cache.WorkflowCache;
import dev.usher.gate.workspace.WorkspaceAllocator;
import dev.usher.session.HostThreads;
import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A host's thread factory reaches the background threads of the queue and the gate, and close() ends them. */
class HostThreadFactoryTest {
    private static final Duration PATIENCE = Duration.ofSeconds(30);

    @TempDir
    Path root;

    @Test
    void theQueuesThreadComesFromTheHostsFactoryAndEndsWithTheQueue() throws Exception {
        HostThreads host = new HostThreads("host-admission");
        List<String> heardOn = new CopyOnWriteArrayList<>();
        AdmissionQueue queue = AdmissionQueue.builder(1).maxWait(Duration.ofMillis(50)).threadFactory(host).build();
        Permit holder = queue.enter("a").permit().join();
        // The waiter's timeout and its listener call are the queue thread's work.
        Ticket waiter = queue.enter("b", update -> heardOn.add(Thread.currentThread().getName()));
        awaitCondition("the waiter timed out", () -> waiter.state() == Ticket.State.TIMED_OUT);
        awaitCondition("the listener heard it", () -> !heardOn.isEmpty());
        assertThat(host.threads()).isNotEmpty();
        assertThat(heardOn).allSatisfy(name -> assertThat(name).startsWith("host-admission-"));
        holder.close();
        queue.close();
        assertThat(host.allEnded(PATIENCE)).as("close() ended the host's threads").isTrue();
        assertThatThrownBy(() -> AdmissionQueue.builder(1).threadFactory(null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("threadFactory");
    }

    @Test
    void theGatesReleaseThreadComesFromTheHostsFactoryAndEndsWithTheGate() throws Exception {
        HostThreads host = new HostThreads("host-gate");
        SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
        WorkflowCache<String, AutoCloseable> cache = WorkflowCache.<String, AutoCloseable>builder(id -> () -> { })
                .maximumSize(10).build();
        WorkspaceAllocator workspaces = WorkspaceAllocator.builder(root.resolve("ws"), sessions)
                .releaseWhenSessionEnds(false).build();
        WorkflowGate<AutoCloseable> gate = WorkflowGate.builder(sessions, AdmissionQueue.builder(2).build(), cache)
                .workspaces(workspaces).threadFactory(host).build();
        try {
            GateOutcome<AutoCloseable> outcome = gate.enter(new GateRequest(null, "k", "project"), QueueObserver.ignoring());
            assertThat(outcome).isInstanceOf(GateOutcome.Admitted.class);
            GateOutcome.Admitted<AutoCloseable> run = (GateOutcome.Admitted<AutoCloseable>) outcome;
            Path dir = run.workspace().orElseThrow().directory();
            run.close();
            assertThat(gate.sessions().end(run.session().id())).isTrue();
            // The workspace of an ended session is released on the gate's own thread: the host's.
            awaitCondition("the workspace was released", () -> !Files.exists(dir));
            assertThat(host.threads()).hasSize(1);
            assertThat(host.threads().get(0).getName()).isEqualTo("host-gate-1");
        } finally {
            gate.close();
        }
        assertThat(host.allEnded(PATIENCE)).as("close() ended the host's threads").isTrue();
    }
}
