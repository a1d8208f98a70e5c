/**
 * {@link dev.usher.gate.background.BackgroundThreads}: how every workflow-gate component makes, names,
 * schedules and stops its background threads. Public only so that the gate's packages can share it;
 * hosts use it through the components' {@code threadFactory} builder settings.
 *
 * <p>Every parameter and return value is non-null unless its documentation says otherwise.
 */
package dev.usher.gate.background;
