package dev.usher.servlet;

import dev.usher.gate.http.TrustedProxies;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Collections;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The cookie that carries the session id: {@code HttpOnly}, {@code SameSite=Lax}, {@code Path=/},
 * {@code Secure} when the request came over HTTPS (always, for a {@code __Host-} or {@code __Secure-}
 * name, as browsers require), and no {@code Max-Age}: the server's idle and absolute timeouts decide how
 * long a session lives, not the browser.
 *
 * <p>Behind a proxy that terminates TLS, {@link HttpServletRequest#isSecure()} is false although the
 * client used HTTPS. A cookie {@link #behind(TrustedProxies) behind trusted proxies} is also {@code Secure}
 * when the request's socket peer is one of them and it says the client's scheme was {@code https}
 * ({@code X-Forwarded-Proto}, or {@code proto=} of RFC 7239 {@code Forwarded} when the proxies are read
 * through that header); the same headers from any other peer are ignored.
 * {@link UsherFilter.Builder#trustedProxies} sets this on the filter's cookie.
 *
 * <pre>{@code
 * SessionCookie cookie = SessionCookie.named("__Host-usher");
 * Optional<String> id = cookie.read(request);
 * cookie.write(request, response, session.id());
 * }</pre>
 *
 * <p>Immutable and thread-safe. A host's own endpoints that are not behind {@link UsherFilter} (a login
 * endpoint, say) use the filter's {@link UsherFilter#cookie()} to read and rotate the same cookie.
 */
public final class SessionCookie {
    /** The name used when none is configured. */
    public static final String DEFAULT_NAME = "USHER_SESSION";

    // An RFC 6265 cookie-name is an RFC 7230 token.
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}");

    private final String name;
    private final boolean alwaysSecure;
    private final TrustedProxies proxies;

    private SessionCookie(String name, TrustedProxies proxies) {
        this.name = name;
        this.alwaysSecure = name.startsWith("__Host-") || name.startsWith("__Secure-");
        this.proxies = proxies;
    }

    /**
     * A cookie with this name.
     *
     * @throws IllegalArgumentException if the name is not a cookie token of 1 to 64 characters
     */
    public static SessionCookie named(String name) {
        Objects.requireNonNull(name, "name");
        if (!TOKEN.matcher(name).matches()) {
            throw new IllegalArgumentException("cookie name must be 1 to 64 token characters (letters, digits,"
                    + " !#$%&'*+.^_`|~-) but was '" + name + "'");
        }
        return new SessionCookie(name, TrustedProxies.none());
    }

    /**
     * The same cookie, also {@code Secure} when one of {@code proxies} forwarded an HTTPS request (see the
     * class comment). {@link TrustedProxies#none()} gives the plain cookie back.
     */
    public SessionCookie behind(TrustedProxies proxies) {
        return new SessionCookie(name, Objects.requireNonNull(proxies, "proxies"));
    }

    public String name() {
        return name;
    }

    /** The proxies whose forwarded scheme is believed ({@link TrustedProxies#none()} unless set). */
    public TrustedProxies trustedProxies() {
        return proxies;
    }

    /**
     * Whether a cookie written for this request is {@code Secure}: a prefixed name, a secure connection, or
     * a trusted proxy that says the client used HTTPS.
     */
    public boolean secureFor(HttpServletRequest request) {
        if (alwaysSecure || request.isSecure()) {
            return true;
        }
        if (proxies.ranges().isEmpty()) {
            return false;
        }
        InetAddress peer;
        try {
            // getRemoteAddr() is an IP literal, so this parses it and never asks DNS.
            peer = InetAddress.getByName(request.getRemoteAddr());
        } catch (UnknownHostException e) {
            return false;
        }
        return proxies.resolve(peer, false, header -> Collections.list(request.getHeaders(header))).secure();
    }

    /** The session id the client sent, if any (the first cookie of this name). */
    public Optional<String> read(HttpServletRequest request) {
        Cookie[] cookies = request.getCookies();
        if (cookies == null) {
            return Optional.empty();
        }
        for (Cookie c : cookies) {
            if (name.equals(c.getName()) && c.getValue() != null && !c.getValue().isEmpty()) {
                return Optional.of(c.getValue());
            }
        }
        return Optional.empty();
    }

    /**
     * Sets the cookie to {@code sessionId}.
     *
     * @throws IllegalStateException if the response is already committed (the header could not be sent)
     */
    public void write(HttpServletRequest request, HttpServletResponse response, String sessionId) {
        Objects.requireNonNull(sessionId, "sessionId");
        if (response.isCommitted()) {
            throw new IllegalStateException("cannot set the session cookie: the response is already committed");
        }
        Cookie cookie = new Cookie(name, sessionId);
        cookie.setPath("/");
        cookie.setHttpOnly(true);
        cookie.setSecure(secureFor(request));
        cookie.setAttribute("SameSite", "Lax");
        response.addCookie(cookie);
    }

    @Override
    public String toString() {
        return proxies.ranges().isEmpty() ? "SessionCookie[" + name + "]"
                : "SessionCookie[" + name + ", behind " + proxies + "]";
    }
}
