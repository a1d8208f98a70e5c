package dev.usher.session;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Limits on session attributes, checked by {@link SessionManager} before anything reaches a store.
 * Sizes are UTF-8 bytes; a name is limited in characters.
 *
 * @param maxNameLength  longest attribute name, in characters (default 128)
 * @param maxValueBytes  largest single value, in UTF-8 bytes (default 64 KiB)
 * @param maxTotalBytes  largest sum of all names and values, in UTF-8 bytes (default 1 MiB)
 * @param maxAttributes  most attributes per session (default 256)
 */
public record AttributeLimits(int maxNameLength, int maxValueBytes, int maxTotalBytes, int maxAttributes) {

    public static final AttributeLimits DEFAULTS = new AttributeLimits(128, 64 * 1024, 1024 * 1024, 256);

    public AttributeLimits {
        requirePositive("maxNameLength", maxNameLength);
        requirePositive("maxValueBytes", maxValueBytes);
        requirePositive("maxTotalBytes", maxTotalBytes);
        requirePositive("maxAttributes", maxAttributes);
    }

    private static void requirePositive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive but was " + value);
        }
    }

    /** Throws {@link SessionLimitException} naming the first attribute and limit exceeded. */
    void check(Map<String, String> attributes) {
        if (attributes.size() > maxAttributes) {
            throw new SessionLimitException("a session may hold at most " + maxAttributes
                    + " attributes but was given " + attributes.size(), "maxAttributes", maxAttributes);
        }
        long total = 0;
        for (Map.Entry<String, String> e : attributes.entrySet()) {
            String name = e.getKey();
            if (name.isEmpty()) {
                throw new IllegalArgumentException("attribute name must not be empty");
            }
            if (name.length() > maxNameLength) {
                throw new SessionLimitException("attribute name '" + name.substring(0, 32) + "…' is "
                        + name.length() + " characters, over the limit of " + maxNameLength,
                        "maxNameLength", maxNameLength);
            }
            for (int i = 0; i < name.length(); i++) {
                if (Character.isISOControl(name.charAt(i))) {
                    throw new IllegalArgumentException("attribute name '" + name.replaceAll("\\p{Cntrl}", "?")
                            + "' contains a control character at index " + i);
                }
            }
            int valueBytes = utf8Length(e.getValue());
            if (valueBytes > maxValueBytes) {
                throw new SessionLimitException("value of attribute '" + name + "' is " + valueBytes
                        + " bytes, over the limit of " + maxValueBytes, "maxValueBytes", maxValueBytes);
            }
            total += utf8Length(name) + valueBytes;
        }
        if (total > maxTotalBytes) {
            throw new SessionLimitException("session attributes total " + total + " bytes, over the limit of "
                    + maxTotalBytes, "maxTotalBytes", maxTotalBytes);
        }
    }

    private static int utf8Length(String s) {
        // Cheap path for ASCII, the common case; exact count otherwise.
        int n = s.length();
        for (int i = 0; i < n; i++) {
            if (s.charAt(i) >= 0x80) {
                return s.getBytes(StandardCharsets.UTF_8).length;
            }
        }
        return n;
    }
}
