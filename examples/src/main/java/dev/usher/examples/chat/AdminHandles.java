package dev.usher.examples.chat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The admin API's stand-ins for session ids. A listing never shows an id (whoever holds one <em>is</em> that
 * user); each row gets an opaque handle that only ends the session: the id and the time of the listing,
 * sealed with AES-GCM under a key derived from the admin token. A handle is therefore useless as a cookie,
 * different in every listing, valid for {@link #VALID_FOR}, and accepted by every instance that shares the
 * token (so a load balancer may send the DELETE anywhere), with no state kept. The store's paging cursor
 * holds an id too (every store's cursor names the last id listed), so it is sealed the same way; a tag in
 * the sealed text keeps a cursor from being used as a handle and the other way round.
 *
 * <p>Thread-safe.
 */
final class AdminHandles {
    static final Duration VALID_FOR = Duration.ofMinutes(15);
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

    private final SecretKeySpec key;
    private final byte[] tokenDigest;
    private final SecureRandom random = new SecureRandom();
    private final Clock clock;

    AdminHandles(String adminToken, Clock clock) {
        this.tokenDigest = sha256("usher-admin-token\0" + adminToken);
        this.key = new SecretKeySpec(sha256("usher-admin-handle\0" + adminToken), "AES");
        this.clock = clock;
    }

    /**
     * Whether {@code authorization} (the header's value) is {@code Bearer <the admin token>}. Both sides are
     * hashed first, so the comparison takes the same time whatever the length or the first differing byte.
     */
    boolean authorized(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        String given = authorization.substring(7).strip();
        return MessageDigest.isEqual(tokenDigest, sha256("usher-admin-token\0" + given));
    }

    /** A fresh handle for {@code sessionId}. */
    String handle(String sessionId) {
        return seal('h', sessionId);
    }

    /** The session id behind {@code handle}, if it is genuine and not older than {@link #VALID_FOR}. */
    Optional<String> sessionId(String handle) {
        return open('h', handle);
    }

    /** The store's paging cursor, sealed for the admin client. */
    String cursor(String storeCursor) {
        return seal('c', storeCursor);
    }

    /** The store's paging cursor behind a sealed one, if it is genuine and not older than {@link #VALID_FOR}. */
    Optional<String> storeCursor(String sealed) {
        return open('c', sealed);
    }

    private String seal(char tag, String text) {
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        byte[] id = text.getBytes(StandardCharsets.UTF_8);
        byte[] plain = ByteBuffer.allocate(1 + Long.BYTES + id.length).put((byte) tag).putLong(clock.millis()).put(id).array();
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
            byte[] sealed = cipher.doFinal(plain);
            return ENCODER.encodeToString(ByteBuffer.allocate(NONCE_BYTES + sealed.length).put(nonce).put(sealed).array());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is not available: " + e, e);
        }
    }

    private Optional<String> open(char tag, String handle) {
        byte[] raw;
        try {
            raw = DECODER.decode(handle);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        if (raw.length <= NONCE_BYTES + TAG_BITS / 8 + 1 + Long.BYTES || raw.length > 1024) {
            return Optional.empty();
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, raw, 0, NONCE_BYTES));
            ByteBuffer plain = ByteBuffer.wrap(cipher.doFinal(raw, NONCE_BYTES, raw.length - NONCE_BYTES));
            if (plain.get() != (byte) tag) {
                return Optional.empty();
            }
            long issued = plain.getLong();
            long age = clock.millis() - issued;
            if (age < 0 || age > VALID_FOR.toMillis()) {
                return Optional.empty();
            }
            return Optional.of(StandardCharsets.UTF_8.decode(plain).toString());
        } catch (GeneralSecurityException e) {
            return Optional.empty(); // forged, altered, or sealed under another token
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }
}
