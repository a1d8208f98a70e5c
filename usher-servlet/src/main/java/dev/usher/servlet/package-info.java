/**
 * Usher in a Jakarta Servlet 6 container: {@link dev.usher.servlet.UsherFilter} puts a
 * {@code WorkflowGate} in front of the host's workflow endpoints, and {@link dev.usher.servlet.UsherRequest}
 * gives the admitted request's handler its session, workspace and workflow.
 *
 * <p>Parameters and return values are never null unless documented otherwise.
 */
package dev.usher.servlet;
