package dev.usher.benchmarks;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.Ticket;
import java.time.Duration;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

/**
 * What the queue's operations cost as it grows: {@code AdmissionQueue} with one running slot and
 * {@code waiters} tickets queued, each under its own key (the default fair ordering). Run at one thread;
 * the report sets each size against the smallest.
 *
 * <ul>
 *   <li>{@code enterCancel}: a newcomer joins the back of the queue and leaves it again.</li>
 *   <li>{@code position}: the position of the ticket in the middle of the queue.</li>
 *   <li>{@code admission}: the running permit closes, which admits the head of the queue (its permit is
 *       handed over synchronously), and a newcomer joins the back so the queue keeps its size.</li>
 *   <li>{@code keepAliveTick}: what one keep-alive tick of {@code WorkflowGate} asks of the queue for one
 *       waiter, its position and its estimate (the write to the client is the host's); the gate makes
 *       one to two of these per waiter per keep-alive interval.</li>
 * </ul>
 */
@State(Scope.Thread)
public class AdmissionScaleBenchmark {
    @Param({"100", "1000", "10000", "100000"})
    public int waiters;

    private AdmissionQueue queue;
    private Permit running;
    private Ticket middle;
    private long nextKey;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        queue = AdmissionQueue.builder(1)
                .maxQueued(waiters + 1)
                .maxWait(Duration.ofDays(1))
                .initialRunDuration(Duration.ofSeconds(1)) // so the estimate is computed, not empty
                .name("bench-scale")
                .build();
        running = queue.enter(nextKey()).await(Duration.ofSeconds(1));
        for (int i = 0; i < waiters; i++) {
            Ticket t = enterWaiting();
            if (i == waiters / 2) {
                middle = t;
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        queue.close();
        running.close();
    }

    private String nextKey() {
        return "user-" + nextKey++;
    }

    /** A waiter that, once admitted, becomes the running permit (in the admitting thread: this one). */
    private Ticket enterWaiting() {
        Ticket t = queue.enter(nextKey());
        t.permit().thenAccept(p -> running = p);
        return t;
    }

    @Benchmark
    public boolean enterCancel() {
        return queue.enter(nextKey()).cancel();
    }

    @Benchmark
    public int position() {
        return middle.position();
    }

    @Benchmark
    public void keepAliveTick(Blackhole blackhole) {
        blackhole.consume(middle.position());
        blackhole.consume(middle.estimatedWait());
    }

    @Benchmark
    public Ticket admission() {
        Permit before = running;
        before.close();
        if (running == before) {
            throw new IllegalStateException("closing the running permit admitted nobody: the measurement is void");
        }
        return enterWaiting();
    }
}
