package dev.usher.servlet;

import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The cookie that carries the session id: {@code HttpOnly}, {@code SameSite=Lax}, {@code Path=/},
 * {@code Secure} when the request came over HTTPS (always, for a {@code __Host-} or {@code __Secure-}
 * name, as browsers require), and no {@code Max-Age}: the server's idle and absolute timeouts decide how
 * long a session lives, not the browser.
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

    private SessionCookie(String name) {
        this.name = name;
        this.alwaysSecure = name.startsWith("__Host-") || name.startsWith("__Secure-");
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
        return new SessionCookie(name);
    }

    public String name() {
        return name;
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
        cookie.setSecure(alwaysSecure || request.isSecure());
        cookie.setAttribute("SameSite", "Lax");
        response.addCookie(cookie);
    }

    @Override
    public String toString() {
        return "SessionCookie[" + name + "]";
    }
}
