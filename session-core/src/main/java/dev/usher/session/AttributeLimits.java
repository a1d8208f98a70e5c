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

    /**
     * Throws {@link SessionLimitException} naming the first attribute and limit exceeded, or
     * {@link IllegalArgumentException} for a name that is empty or holds a control character, and for a name
     * or value that is not well-formed UTF-16 (an unpaired surrogate).
     */
    void check(Map<String, String> attributes) {
        if (attributes.size() > maxAttributes) {
            throw new SessionLimitException("a session may hold at most " + maxAttributes
                    + " attributes but was given " + attributes.size(), "maxAttributes", maxAttributes);
        }
        // A session's own map is an array of names and values (Attributes): read it without the entry objects
        // an entrySet walk would make on every write.
        String[] namesAndValues = Attributes.namesAndValues(Attributes.copyOf(attributes));
        long total = 0;
        for (int i = 0; i < namesAndValues.length; i += 2) {
            total += checkOne(namesAndValues[i], namesAndValues[i + 1]);
        }
        if (total > maxTotalBytes) {
            throw new SessionLimitException("session attributes total " + total + " bytes, over the limit of "
                    + maxTotalBytes, "maxTotalBytes", maxTotalBytes);
        }
    }

    /** Checks one attribute and returns its size (name and value) in UTF-8 bytes. */
    private int checkOne(String name, String value) {
        if (name.isEmpty()) {
            throw new IllegalArgumentException("attribute name must not be empty");
        }
        if (name.length() > maxNameLength) {
            throw new SessionLimitException("attribute name '" + printable(name.substring(0, 32)) + "…' is "
                    + name.length() + " characters, over the limit of " + maxNameLength,
                    "maxNameLength", maxNameLength);
        }
        for (int i = 0; i < name.length(); i++) {
            if (Character.isISOControl(name.charAt(i))) {
                throw new IllegalArgumentException("attribute name '" + printable(name)
                        + "' contains a control character at index " + i);
            }
        }
        int badName = firstUnpairedSurrogate(name);
        if (badName >= 0) {
            throw new IllegalArgumentException("attribute name '" + printable(name)
                    + "' contains an unpaired surrogate at index " + badName
                    + "; names and values must be well-formed UTF-16");
        }
        int badValue = firstUnpairedSurrogate(value);
        if (badValue >= 0) {
            throw new IllegalArgumentException("value of attribute '" + name
                    + "' contains an unpaired surrogate at index " + badValue
                    + "; names and values must be well-formed UTF-16");
        }
        int valueBytes = utf8Length(value);
        if (valueBytes > maxValueBytes) {
            throw new SessionLimitException("value of attribute '" + name + "' is " + valueBytes
                    + " bytes, over the limit of " + maxValueBytes, "maxValueBytes", maxValueBytes);
        }
        return utf8Length(name) + valueBytes;
    }

    /**
     * Index of the first surrogate that is not half of a pair, or -1. Such strings have no UTF-8 form: one
     * backend would store them as they are, another as '?', so every backend refuses them alike, here.
     */
    static int firstUnpairedSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    private static String printable(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            out.append(Character.isSurrogate(c) || Character.isISOControl(c) ? '?' : c);
        }
        return out.toString();
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
