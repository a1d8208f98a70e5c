package dev.usher.gate;

import dev.usher.session.SessionIds;
import java.util.Objects;

/**
 * One request to run a workflow, as the host knows it. Immutable; {@link #toString()} shows the session id
 * only redacted ({@link SessionIds#redact}), so a request can be logged.
 *
 * @param sessionId     the id from the client's cookie; null, unknown, expired or malformed means the request
 *                      has no session and one is created when the request needs it (see
 *                      {@link WorkflowGate#enter})
 * @param rateKey       who is rate-limited: a user, an API key, an IP address (must not be null)
 * @param workspaceName the suggested name of the session's workspace if it has none yet (may be null)
 * @param clientAddress the client's address as the host determined it (behind a reverse proxy, see
 *                      {@link dev.usher.gate.http.TrustedProxies}); the key of the gate's
 *                      {@linkplain WorkflowGate.Builder#sessionCreationLimiter session creation limit}.
 *                      Null means {@code rateKey} is used for that limit.
 */
public record GateRequest(String sessionId, String rateKey, String workspaceName, String clientAddress) {
    public GateRequest {
        Objects.requireNonNull(rateKey, "rateKey");
    }

    /** A request without a client address: the session creation limit, if any, is keyed by {@code rateKey}. */
    public GateRequest(String sessionId, String rateKey, String workspaceName) {
        this(sessionId, rateKey, workspaceName, null);
    }

    /** The key of the session creation limit: the client address, or the rate key when there is none. */
    String creationKey() {
        return clientAddress != null ? clientAddress : rateKey;
    }

    @Override
    public String toString() {
        return "GateRequest[sessionId=" + (sessionId == null ? "none" : SessionIds.redact(sessionId))
                + ", rateKey=" + SessionIds.redact(rateKey) + ", workspaceName=" + workspaceName
                + ", clientAddress=" + clientAddress + "]";
    }
}
