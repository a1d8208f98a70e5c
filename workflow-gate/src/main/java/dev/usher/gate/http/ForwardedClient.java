package dev.usher.gate.http;

import java.net.InetAddress;
import java.util.Objects;

/**
 * The client of one request as {@link TrustedProxies#resolve} determined it. Immutable.
 *
 * @param address the client's address: the socket peer, or the right-most untrusted address a trusted proxy
 *                reported
 * @param secure  whether the client's own connection used TLS: the connection to this server did, or a trusted
 *                proxy reported {@code https}
 */
public record ForwardedClient(InetAddress address, boolean secure) {
    public ForwardedClient {
        Objects.requireNonNull(address, "address");
    }
}
