package dev.usher.gate;

import java.time.Duration;
import java.util.Optional;

/**
 * What a {@link WorkflowGate} reports as requests pass through it, for {@link WorkflowGateMetrics}: events
 * that a stats snapshot cannot carry because each must be recorded when it happens (a wait, a run) to land
 * in a histogram. Called on the request's own thread; implementations must be quick and must not throw.
 */
interface GateRecorder {

    /** A request had to wait; {@code position} is its place in line when it entered (1 = next). */
    void queued(int position);

    /**
     * A request was admitted after {@code waited}; {@code estimateAtEnter} is the wait it was told when it
     * entered the queue (empty when it did not wait or no estimate was known yet).
     */
    void admitted(Duration waited, Optional<Duration> estimateAtEnter);

    /** An admitted request's run ended after {@code ran} (the time its {@code GateOutcome.Admitted} was open). */
    void finished(Duration ran);

    /** A call to the session store made by the gate failed. */
    void storeFailed();
}
