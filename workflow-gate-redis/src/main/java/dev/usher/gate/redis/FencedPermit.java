package dev.usher.gate.redis;

import dev.usher.gate.admission.Permit;

/**
 * A permit of a {@link RedisAdmissionQueue}: a lease on one of the cluster's {@code maxRunning} slots, renewed
 * in the background by the instance that holds it. Every permit the queue hands out can be cast to this type.
 *
 * <p>Thread-safe. {@link #close()} is idempotent; the first call releases the slot in one round trip (retried
 * in the background when Redis cannot be reached, so it never throws for an outage).
 */
public interface FencedPermit extends Permit {

    /**
     * A number strictly greater than that of every permit this queue handed out before, across all instances.
     * Pass it to the systems the run writes to so they can refuse writes from a run whose lease was lost (its
     * instance stalled past the lease time and a later permit was granted meanwhile).
     */
    long fencingToken();
}
