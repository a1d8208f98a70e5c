package dev.usher.servlet;

import dev.usher.gate.GateOutcome;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An admitted request's run, released exactly once: by the filter when the handler returns without going
 * async, or, when it went async, by this listener when the async cycle completes, fails or times out. A
 * handler that starts async again after a dispatch gets the listener re-registered.
 */
final class Admission<W> implements AsyncListener {
    private static final Logger log = LoggerFactory.getLogger(Admission.class);

    private final GateOutcome.Admitted<W> admitted;
    private final Runnable onRelease;
    private final AtomicBoolean released = new AtomicBoolean();

    Admission(GateOutcome.Admitted<W> admitted, Runnable onRelease) {
        this.admitted = admitted;
        this.onRelease = onRelease;
    }

    GateOutcome.Admitted<W> admitted() {
        return admitted;
    }

    boolean released() {
        return released.get();
    }

    void release() {
        if (released.compareAndSet(false, true)) {
            try {
                admitted.close();
            } catch (RuntimeException e) {
                log.warn("closing a run failed", e);
            } finally {
                onRelease.run();
            }
        }
    }

    @Override
    public void onComplete(AsyncEvent event) {
        release();
    }

    @Override
    public void onTimeout(AsyncEvent event) {
        release();
    }

    @Override
    public void onError(AsyncEvent event) {
        release();
    }

    @Override
    public void onStartAsync(AsyncEvent event) {
        event.getAsyncContext().addListener(this);
    }
}
