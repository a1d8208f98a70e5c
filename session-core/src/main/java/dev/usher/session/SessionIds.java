package dev.usher.session;

import java.security.SecureRandom;
import java.util.Base64;

/**
 * Session ids: generation and validation (256 random bits from {@link SecureRandom}, base64url without
 * padding, both internal to the session manager) and {@link #redact}, the one way any Usher module, or a
 * host, writes an id into a log line, an exception message or a {@code toString()}.
 *
 * <p>Stateless and thread-safe.
 */
public final class SessionIds {
    static final int BYTES = 32;
    /** Length of an encoded id: 32 bytes in unpadded base64url. */
    static final int LENGTH = 43;

    /** The base64url alphabet by character: true at the 64 characters an id may hold. */
    private static final boolean[] BASE64URL = new boolean[128];

    static {
        for (char c : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".toCharArray()) {
            BASE64URL[c] = true;
        }
    }

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

    private SessionIds() {
    }

    static String generate() {
        byte[] bytes = new byte[BYTES];
        RANDOM.nextBytes(bytes);
        return ENCODER.encodeToString(bytes);
    }

    /** Checks length and alphabet only; never throws, so a stale or hostile cookie is just "no session". */
    static boolean isWellFormed(String id) {
        if (id == null || id.length() != LENGTH) {
            return false;
        }
        // One table lookup per character (every request checks its id): several times faster than
        // comparing each character against the alphabet's four ranges.
        for (int i = 0; i < LENGTH; i++) {
            char c = id.charAt(i);
            if (c >= 128 || !BASE64URL[c]) {
                return false;
            }
        }
        return true;
    }

    /** How many leading characters {@link #redact} keeps. */
    public static final int REDACTED_PREFIX = 6;

    /**
     * A session id as logs and messages may show it: its first six characters and an ellipsis
     * ({@code "Xb3k_Q…"}), enough to correlate log lines, 36 bits of 256, far too few to take the session
     * over. Anything of six characters or fewer (not a real id) becomes {@code "…"}; null becomes
     * {@code "null"}. Never throws.
     */
    public static String redact(String id) {
        if (id == null) {
            return "null";
        }
        return id.length() <= REDACTED_PREFIX ? "…" : id.substring(0, REDACTED_PREFIX) + "…";
    }
}
