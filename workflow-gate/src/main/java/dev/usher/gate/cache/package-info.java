/**
 * {@link dev.usher.gate.cache.WorkflowCache}: a bounded, expiring cache of expensive per-key objects
 * (one agent workflow per session, holding a model client or GPU memory) that hands out leases and never
 * closes an object while a lease on it is open.
 *
 * <p>Every parameter and return value is non-null unless its documentation says otherwise.
 */
package dev.usher.gate.cache;
