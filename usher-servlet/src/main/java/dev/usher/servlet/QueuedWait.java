package dev.usher.servlet;

import dev.usher.gate.GateOutcome;
import dev.usher.session.Session;
import dev.usher.session.StoreUnavailableException;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One streamed wait: runs {@code WorkflowGate.enter} on a waiter thread, writes the positions as events,
 * writes a keep-alive from the filter's timer, and on admission dispatches the request back to the filter.
 *
 * <p>A client that left is found by a failed write (an event or a keep-alive) or by the container's
 * {@code onError}; then the waiter thread is interrupted, which makes the gate withdraw the ticket and
 * return a permit granted meanwhile. The interrupt is only sent while the thread is inside {@code enter}
 * ({@link #waiterLock} orders it against the thread leaving), so a pooled thread never carries a stray
 * interrupt into its next task. Writes go through {@link #writeLock}, a {@code ReentrantLock} rather than
 * a monitor because they block on the socket.
 */
final class QueuedWait implements Runnable, AsyncListener {
    private static final Logger log = LoggerFactory.getLogger(QueuedWait.class);

    private final UsherFilter filter;
    private final AsyncContext async;
    private final HttpServletRequest request;
    private final HttpServletResponse response;
    private final StreamFormat format;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final ReentrantLock waiterLock = new ReentrantLock();
    private final AtomicBoolean gone = new AtomicBoolean();
    private Thread waiter; // guarded by waiterLock
    private boolean streamStarted; // guarded by writeLock
    private volatile Admission<?> admission;

    QueuedWait(UsherFilter filter, AsyncContext async, HttpServletRequest request, HttpServletResponse response,
               StreamFormat format) {
        this.filter = filter;
        this.async = async;
        this.request = request;
        this.response = response;
        this.format = format;
    }

    StreamFormat format() {
        return format;
    }

    Admission<?> admission() {
        return admission;
    }

    @Override
    public void run() {
        waiterLock.lock();
        try {
            if (gone.get()) {
                complete();
                return;
            }
            waiter = Thread.currentThread();
        } finally {
            waiterLock.unlock();
        }
        Optional<String> sent = filter.cookie().read(request);
        long period = filter.keepAliveInterval().toMillis();
        ScheduledFuture<?> keepAlive;
        try {
            keepAlive = filter.keepAliveTimer().scheduleAtFixedRate(this::keepAlive, period, period, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) { // the filter was destroyed; a host's executor still ran us
            clearWaiter();
            refuse("shutting_down", "The server is shutting down.", filter.unavailableRetryAfter());
            return;
        }
        GateOutcome<?> outcome;
        try {
            outcome = filter.gate().enter(filter.gateRequest(request), (session, position, eta) -> queued(sent, session, position, eta));
        } catch (InterruptedException e) {
            complete(); // the client left or the filter is being destroyed; the gate withdrew the ticket
            return;
        } catch (StoreUnavailableException e) {
            log.warn("a store is unavailable: {}", e.getMessage());
            refuse("store_unavailable", "A store is unavailable; try again shortly.", filter.unavailableRetryAfter());
            return;
        } catch (RuntimeException | Error e) {
            if (!gone.get()) {
                log.warn("a streamed wait failed", e);
                refuse("internal_error", "The request failed.", filter.unavailableRetryAfter());
            } else {
                complete();
            }
            return;
        } finally {
            keepAlive.cancel(false);
            clearWaiter();
        }
        handle(outcome, sent);
    }

    /** From here on {@link #clientGone()} no longer interrupts this thread. */
    private void clearWaiter() {
        waiterLock.lock();
        try {
            waiter = null;
        } finally {
            waiterLock.unlock();
        }
        Thread.interrupted(); // an interrupt that lost the race with enter() returning is not ours to keep
    }

    private void handle(GateOutcome<?> outcome, Optional<String> sent) {
        if (outcome instanceof GateOutcome.Admitted<?> admitted) {
            Admission<?> run = filter.admission(admitted);
            admission = run;
            if (gone.get()) {
                run.release();
                complete();
                return;
            }
            writeLock.lock();
            try {
                startStream(sent, admitted.session());
                Map<String, Object> event = new LinkedHashMap<>();
                event.put("type", "admitted");
                event.put("waitedMillis", admitted.waited().toMillis());
                write("admitted", event);
            } catch (IOException | RuntimeException e) {
                run.release();
                complete();
                return;
            } finally {
                writeLock.unlock();
            }
            request.setAttribute(UsherFilter.waitAttribute(), this);
            try {
                async.dispatch();
            } catch (IllegalStateException e) { // the container completed the request meanwhile
                run.release();
            }
            return;
        }
        writeLock.lock();
        try {
            if (streamStarted) {
                if (outcome instanceof GateOutcome.Rejected<?> rejected) {
                    Map<String, Object> event = new LinkedHashMap<>();
                    event.put("type", "rejected");
                    event.put("reason", rejected.reason().name().toLowerCase(Locale.ROOT));
                    event.put("message", ErrorResponses.message(rejected.reason()));
                    write("rejected", event);
                } else if (outcome instanceof GateOutcome.Unavailable<?>) {
                    Map<String, Object> event = new LinkedHashMap<>();
                    event.put("type", "error");
                    event.put("error", "store_unavailable");
                    event.put("message", "A store is unavailable; try again shortly.");
                    write("error", event);
                }
            } else {
                filter.sendRefusal(outcome, request, response, sent);
            }
        } catch (IOException | RuntimeException e) {
            log.debug("could not send the refusal: {}", e.toString());
        } finally {
            writeLock.unlock();
        }
        complete();
    }

    /** The observer: runs on the waiter thread, inside {@code enter}. */
    private void queued(Optional<String> sent, Session session, int position, Optional<Duration> eta) {
        writeLock.lock();
        try {
            if (gone.get()) {
                throw new UncheckedIOException(new IOException("the client left"));
            }
            String type = streamStarted ? "position" : "queued";
            startStream(sent, session);
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("type", type);
            event.put("position", position);
            event.put("estimatedWaitSeconds", eta.map(ErrorResponses::ceilSeconds).orElse(null));
            // Milliseconds too, so a page can count down smoothly between two events.
            event.put("estimatedWaitMillis", eta.map(Duration::toMillis).orElse(null));
            write(type, event);
        } catch (IOException e) {
            gone.set(true);
            throw new UncheckedIOException(e);
        } finally {
            writeLock.unlock();
        }
    }

    private void keepAlive() {
        writeLock.lock();
        try {
            if (!streamStarted || gone.get() || admission != null) {
                return;
            }
            response.getOutputStream().write(format.keepAlive().getBytes(StandardCharsets.UTF_8));
            response.flushBuffer();
        } catch (IOException | RuntimeException e) {
            clientGone();
        } finally {
            writeLock.unlock();
        }
    }

    /** Commits the stream's headers (and the cookie of a new session) on the first event. */
    private void startStream(Optional<String> sent, Session session) throws IOException {
        if (streamStarted) {
            return;
        }
        filter.setCookieIfNew(request, response, sent, session);
        response.setStatus(200);
        response.setContentType(format.mediaType());
        response.setCharacterEncoding("UTF-8");
        response.setHeader("Cache-Control", "no-store");
        response.setHeader("X-Accel-Buffering", "no"); // nginx would otherwise hold the events back
        streamStarted = true;
    }

    private void write(String type, Map<String, Object> event) throws IOException {
        response.getOutputStream().write(format.frame(type, Json.object(event)).getBytes(StandardCharsets.UTF_8));
        response.flushBuffer();
    }

    private void refuse(String error, String message, Duration retryAfter) {
        writeLock.lock();
        try {
            if (streamStarted) {
                Map<String, Object> event = new LinkedHashMap<>();
                event.put("type", "error");
                event.put("error", error);
                event.put("message", message);
                write("error", event);
            } else {
                ErrorResponses.unavailable(response, error, message, retryAfter);
            }
        } catch (IOException | RuntimeException e) {
            log.debug("could not send the refusal: {}", e.toString());
        } finally {
            writeLock.unlock();
        }
        complete();
    }

    /** The client left: withdraw the ticket by interrupting the waiter while it is inside {@code enter}. */
    void clientGone() {
        gone.set(true);
        waiterLock.lock();
        try {
            if (waiter != null) {
                waiter.interrupt();
            }
        } finally {
            waiterLock.unlock();
        }
    }

    private void complete() {
        try {
            async.complete();
        } catch (IllegalStateException e) {
            // already completed by the container (error, timeout, shutdown)
        }
    }

    @Override
    public void onComplete(AsyncEvent event) {
        clientGone();
        releaseRun();
    }

    @Override
    public void onTimeout(AsyncEvent event) {
        clientGone();
        releaseRun();
    }

    @Override
    public void onError(AsyncEvent event) {
        clientGone();
        releaseRun();
    }

    @Override
    public void onStartAsync(AsyncEvent event) {
        // a handler that goes async after the dispatch has the run's own listener (Admission)
    }

    private void releaseRun() {
        Admission<?> run = admission;
        if (run != null) {
            run.release();
        }
    }
}
