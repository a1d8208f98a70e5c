package dev.usher.session;

import java.security.SecureRandom;
import java.util.Base64;

/**
 * Session ids: 256 random bits from {@link SecureRandom}, base64url without padding, and the one way Usher
 * writes an id into a log line or a message ({@link #redact}). Generation and validation stay inside the
 * package ({@link SessionStore#newSessionId} is the way to get an id).
 */
public final class SessionIds {
    static final int BYTES = 32;
    /** Length of an encoded id: 32 bytes in unpadded base64url. */
    static final int LENGTH = 43;

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
        for (int i = 0; i < LENGTH; i++) {
            char c = id.charAt(i);
            boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /**
     * The id as Usher logs it: the first six characters and an ellipsis, enough to correlate log lines, too
     * few to hijack a session. Never throws: a null or short id (six characters or fewer) gives {@code "…"}
     * (or {@code "null"}).
     */
    public static String redact(String id) {
        if (id == null) {
            return "null";
        }
        return id.length() <= 6 ? "…" : id.substring(0, 6) + "…";
    }
}
