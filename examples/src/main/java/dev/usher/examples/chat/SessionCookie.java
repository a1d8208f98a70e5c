package dev.usher.examples.chat;

import com.sun.net.httpserver.HttpExchange;
import java.util.List;
import java.util.Optional;

/**
 * The session cookie: its name, and the attributes that keep it from leaking.
 *
 * <ul>
 *   <li>{@code HttpOnly}: page scripts (and so an XSS) cannot read it;</li>
 *   <li>{@code SameSite=Lax}: the browser does not send it on cross-site POSTs (CSRF);</li>
 *   <li>{@code Secure} (auto: when the client's connection used TLS, directly or per a trusted proxy): it is
 *       never sent over plain HTTP, where anyone on the path could read it;</li>
 *   <li>the {@code __Host-} prefix (optional): the browser accepts the cookie only with {@code Secure},
 *       {@code Path=/} and no {@code Domain}, so a sibling subdomain cannot plant or overwrite it.</li>
 * </ul>
 *
 * Immutable and thread-safe.
 */
final class SessionCookie {
    static final String BASE_NAME = "USHER_SESSION";

    private final String name;
    private final Config.SecureCookie secure;

    SessionCookie(Config.SecureCookie secure, boolean hostPrefix) {
        this.name = hostPrefix ? "__Host-" + BASE_NAME : BASE_NAME;
        this.secure = hostPrefix ? Config.SecureCookie.ALWAYS : secure;
    }

    String name() {
        return name;
    }

    /** The cookie's value, if the request carries it. */
    Optional<String> read(HttpExchange exchange) {
        for (String header : exchange.getRequestHeaders().getOrDefault("Cookie", List.of())) {
            for (String part : header.split(";")) {
                String[] kv = part.trim().split("=", 2);
                if (kv.length == 2 && kv[0].equals(name)) {
                    String value = kv[1];
                    // RFC 6265 allows the value in double quotes.
                    if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                        value = value.substring(1, value.length() - 1);
                    }
                    return Optional.of(value);
                }
            }
        }
        return Optional.empty();
    }

    /** Sets the cookie to {@code sessionId}; {@code overTls}: whether the client's connection used TLS. */
    void write(HttpExchange exchange, String sessionId, boolean overTls) {
        boolean secureFlag = switch (secure) {
            case ALWAYS -> true;
            case NEVER -> false;
            case AUTO -> overTls;
        };
        exchange.getResponseHeaders().add("Set-Cookie",
                name + "=" + sessionId + "; Path=/; HttpOnly; SameSite=Lax" + (secureFlag ? "; Secure" : ""));
    }
}
