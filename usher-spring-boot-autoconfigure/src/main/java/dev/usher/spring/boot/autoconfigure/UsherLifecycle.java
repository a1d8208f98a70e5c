package dev.usher.spring.boot.autoconfigure;

import dev.usher.gate.WorkflowGate;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Graceful shutdown: stops admitting (new requests get 503 with Retry-After, and the queue is closed, so
 * requests still waiting are turned away rather than started), lets the runs in flight finish for up to
 * {@code usher.shutdown.timeout}, then closes the gate, which closes the queue, the
 * workflows, the workspaces and the sessions in that order. Its phase is above the web server's graceful
 * shutdown, so this happens while the server still answers, and the server then finds no run left.
 */
final class UsherLifecycle implements SmartLifecycle {
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;
    private static final Logger log = LoggerFactory.getLogger(UsherLifecycle.class);

    private final WorkflowGate<?> gate;
    private final List<Admitting> entrances;
    private final Duration timeout;
    private volatile boolean running;

    /** Where requests come in (the Servlet filter), kept free of Servlet types. */
    interface Admitting {
        /** From now on, refuse new requests. */
        void stop();

        /** Requests admitted and not yet released. */
        int inFlight();
    }

    UsherLifecycle(WorkflowGate<?> gate, List<Admitting> entrances, Duration timeout) {
        this.gate = gate;
        this.entrances = entrances;
        this.timeout = timeout;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        entrances.forEach(Admitting::stop);
        gate.queue().close(); // waiters leave now (503 or a "rejected" event); permits out stay valid
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (runsInFlight() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20); // shutdown only: a poll keeps the gate free of a shutdown hook
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        int left = runsInFlight();
        if (left > 0) {
            log.warn("{} runs still in flight after usher.shutdown.timeout={}; closing anyway", left, timeout);
        }
        gate.close();
        running = false;
    }

    private int runsInFlight() {
        int runs = gate.queue().stats().running();
        for (Admitting entrance : entrances) {
            runs = Math.max(runs, entrance.inFlight());
        }
        return runs;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
