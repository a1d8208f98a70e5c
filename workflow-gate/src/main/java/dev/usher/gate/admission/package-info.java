/**
 * A fair admission queue: caps how many expensive runs execute at once and tells every waiter its
 * position and estimated wait. Start with {@link dev.usher.gate.admission.AdmissionQueue#builder(int)}.
 *
 * <p>Parameters and return values are never null unless documented otherwise.
 */
package dev.usher.gate.admission;
