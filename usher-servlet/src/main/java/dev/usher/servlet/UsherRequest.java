package dev.usher.servlet;

import dev.usher.gate.GateOutcome;
import dev.usher.gate.workspace.Workspace;
import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * What {@link UsherFilter} hands an admitted request's handler: the session, its workspace, the leased
 * workflow, and the stream format when the filter streamed the wait.
 *
 * <pre>{@code
 * UsherRequest<Agent> run = UsherRequest.of(request);
 * run.workflow().answer(prompt, token -> write(response, token));
 * }</pre>
 *
 * <p>The same values are also plain request attributes ({@link #SESSION_ATTRIBUTE}, {@link #WORKSPACE_ATTRIBUTE},
 * {@link #WORKFLOW_ATTRIBUTE}) for views and frameworks that read attributes. The run (queue permit and
 * workflow lease) is released by the filter exactly once when the response completes, including async
 * requests, client aborts and exceptions; {@link #release()} ends it earlier. Thread-safe.
 *
 * @param <W> the workflow type
 */
public final class UsherRequest<W> {
    /** The attribute holding this object. */
    public static final String ATTRIBUTE = UsherRequest.class.getName();
    /** The attribute holding the {@link Session} (replaced by {@link #login} and {@link #changeId}). */
    public static final String SESSION_ATTRIBUTE = "dev.usher.servlet.session";
    /** The attribute holding the {@link Workspace}, when the gate allocates workspaces. */
    public static final String WORKSPACE_ATTRIBUTE = "dev.usher.servlet.workspace";
    /** The attribute holding the leased workflow. */
    public static final String WORKFLOW_ATTRIBUTE = "dev.usher.servlet.workflow";

    private final Admission<W> admission;
    private final SessionManager sessions;
    private final SessionCookie cookie;
    private final HttpServletRequest request;
    private final HttpServletResponse response;
    private final StreamFormat format;
    private volatile Session session;

    UsherRequest(Admission<W> admission, SessionManager sessions, SessionCookie cookie, HttpServletRequest request,
                 HttpServletResponse response, StreamFormat format) {
        this.admission = admission;
        this.sessions = sessions;
        this.cookie = cookie;
        this.request = request;
        this.response = response;
        this.format = format;
        this.session = admission.admitted().session();
    }

    /**
     * The admitted request's run.
     *
     * @throws IllegalStateException if the request did not pass through {@link UsherFilter} (check the
     *     filter's URL patterns)
     */
    @SuppressWarnings("unchecked")
    public static <W> UsherRequest<W> of(ServletRequest request) {
        Object value = request.getAttribute(ATTRIBUTE);
        if (value == null) {
            throw new IllegalStateException("no UsherRequest on this request: it did not pass through UsherFilter;"
                    + " map the filter to this path, for REQUEST and ASYNC dispatches");
        }
        return (UsherRequest<W>) value;
    }

    /** The admitted request's run, if the request passed through {@link UsherFilter}. */
    public static Optional<UsherRequest<?>> find(ServletRequest request) {
        return Optional.ofNullable((UsherRequest<?>) request.getAttribute(ATTRIBUTE));
    }

    /** The caller's session (new if the cookie had none, or an unknown or expired one). */
    public Session session() {
        return session;
    }

    /** The session's workspace; empty when the gate has no workspace allocator. */
    public Optional<Workspace> workspace() {
        return admission.admitted().workspace();
    }

    /** The session's workflow, leased: it is not closed while this run lasts. */
    public W workflow() {
        return admission.admitted().workflow();
    }

    /** How long the request waited in the queue. */
    public Duration waited() {
        return admission.admitted().waited();
    }

    /**
     * The format the filter streamed the wait in; the response is then committed with that content type
     * and the handler keeps writing events in it. Empty for a plain (not streamed) request.
     */
    public Optional<StreamFormat> streamFormat() {
        return Optional.ofNullable(format);
    }

    /**
     * Logs the session in as {@code owner}, moving it to a fresh id (against session fixation), and sets
     * the cookie to the new id.
     *
     * @throws IllegalStateException if the response is committed (a streamed request: log in before, on an
     *     endpoint of its own) or the session ended meanwhile
     */
    public Session login(String owner) {
        Objects.requireNonNull(owner, "owner");
        requireUncommitted();
        return renamed(sessions.login(session.id(), owner));
    }

    /** Moves the session to a fresh id and sets the cookie to it, as {@link #login} without an owner. */
    public Session changeId() {
        requireUncommitted();
        return renamed(sessions.changeId(session.id()));
    }

    private void requireUncommitted() {
        if (response.isCommitted()) {
            throw new IllegalStateException("cannot rotate the session id: the response is already committed,"
                    + " so the new cookie could not be sent");
        }
    }

    private Session renamed(Optional<Session> result) {
        Session renamed = result.orElseThrow(() -> new IllegalStateException("the session ended before its id could change"));
        cookie.write(request, response, renamed.id());
        session = renamed;
        request.setAttribute(SESSION_ATTRIBUTE, renamed);
        return renamed;
    }

    /** Ends the run now (returns the workflow lease, then the queue permit); later calls do nothing. */
    public void release() {
        admission.release();
    }

    void bind() {
        request.setAttribute(ATTRIBUTE, this);
        request.setAttribute(SESSION_ATTRIBUTE, session);
        workspace().ifPresent(ws -> request.setAttribute(WORKSPACE_ATTRIBUTE, ws));
        request.setAttribute(WORKFLOW_ATTRIBUTE, workflow());
    }
}
