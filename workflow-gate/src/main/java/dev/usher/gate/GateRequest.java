package dev.usher.gate;

import java.util.Objects;

/**
 * One request to run a workflow, as the host knows it.
 *
 * @param sessionId     the id from the client's cookie; null, unknown, expired or malformed means a new
 *                      anonymous session is created
 * @param rateKey       who is rate-limited: a user, an API key, an IP address (must not be null)
 * @param workspaceName the suggested name of the session's workspace if it has none yet (may be null)
 */
public record GateRequest(String sessionId, String rateKey, String workspaceName) {
    public GateRequest {
        Objects.requireNonNull(rateKey, "rateKey");
    }
}
