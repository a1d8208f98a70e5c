package dev.usher.session.redis;

import dev.usher.session.Session;
import dev.usher.session.SessionStoreException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A session as the fields of one Redis hash, readable with {@code redis-cli HGETALL}: metadata under plain
 * names, instants as epoch milliseconds, and each attribute under {@code "a:" + name}. No metadata name
 * contains a colon, so an attribute can never overwrite metadata whatever its name.
 */
final class SessionCodec {
    static final String ID = "id";
    static final String VERSION = "version";
    static final String OWNER = "owner";
    static final String CREATED_AT = "createdAt";
    static final String LAST_ACCESSED_AT = "lastAccessedAt";
    static final String IDLE_TIMEOUT = "idleTimeoutMillis";
    static final String ABSOLUTE_EXPIRY = "absoluteExpiry";
    /** Derived ({@link Session#expiresAt()}); kept so that a reader with redis-cli sees when it ends. */
    static final String EXPIRES_AT = "expiresAt";
    static final String ATTRIBUTE_PREFIX = "a:";

    private SessionCodec() {
    }

    /** Field, value, field, value… ready to be appended to a script's arguments. */
    static List<String> fields(Session s) {
        List<String> out = new ArrayList<>(16 + 2 * s.attributes().size());
        add(out, ID, s.id());
        add(out, VERSION, Long.toString(s.version()));
        if (s.owner() != null) {
            add(out, OWNER, s.owner());
        }
        add(out, CREATED_AT, Long.toString(s.createdAt().toEpochMilli()));
        add(out, LAST_ACCESSED_AT, Long.toString(s.lastAccessedAt().toEpochMilli()));
        add(out, IDLE_TIMEOUT, Long.toString(s.idleTimeout().toMillis()));
        add(out, ABSOLUTE_EXPIRY, Long.toString(s.absoluteExpiry().toEpochMilli()));
        add(out, EXPIRES_AT, Long.toString(s.expiresAt().toEpochMilli()));
        s.attributes().forEach((name, value) -> add(out, ATTRIBUTE_PREFIX + name, value));
        return out;
    }

    private static void add(List<String> out, String field, String value) {
        out.add(field);
        out.add(value);
    }

    /** A session from {@code HGETALL}; null for an empty hash (no such key). */
    static Session decode(Map<String, String> hash) {
        if (hash.isEmpty()) {
            return null;
        }
        Map<String, String> attributes = new HashMap<>();
        hash.forEach((field, value) -> {
            if (field.startsWith(ATTRIBUTE_PREFIX)) {
                attributes.put(field.substring(ATTRIBUTE_PREFIX.length()), value);
            }
        });
        try {
            return new Session(
                    required(hash, ID),
                    hash.get(OWNER),
                    Instant.ofEpochMilli(Long.parseLong(required(hash, CREATED_AT))),
                    Instant.ofEpochMilli(Long.parseLong(required(hash, LAST_ACCESSED_AT))),
                    Duration.ofMillis(Long.parseLong(required(hash, IDLE_TIMEOUT))),
                    Instant.ofEpochMilli(Long.parseLong(required(hash, ABSOLUTE_EXPIRY))),
                    Long.parseLong(required(hash, VERSION)),
                    attributes);
        } catch (RuntimeException e) {
            if (e instanceof SessionStoreException sse) {
                throw sse;
            }
            throw new SessionStoreException("session hash with fields " + hash.keySet().stream()
                    .filter(f -> !f.startsWith(ATTRIBUTE_PREFIX)).toList() + " is not a valid session: " + e, e);
        }
    }

    /** A session from a script's reply: the flat field/value array of {@code HGETALL}. */
    static Session decode(Object reply) {
        List<?> flat = (List<?>) reply;
        Map<String, String> hash = new HashMap<>(flat.size());
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            hash.put((String) flat.get(i), (String) flat.get(i + 1));
        }
        return decode(hash);
    }

    private static String required(Map<String, String> hash, String field) {
        String value = hash.get(field);
        if (value == null) {
            throw new SessionStoreException("session hash lacks the field '" + field + "'; fields present: "
                    + hash.keySet().stream().filter(f -> !f.startsWith(ATTRIBUTE_PREFIX)).toList());
        }
        return value;
    }
}
