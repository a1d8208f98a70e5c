package dev.usher.session.jdbc;

/**
 * Ids and owners are index keys and PostgreSQL text cannot hold NUL, so both are limited to what both
 * engines store alike: at most 256 characters of well-formed UTF-16 without NUL. Writes of anything else
 * are refused; reads of it find nothing, as nothing like it can have been stored. Stateless.
 */
final class StorableText {
    /** Longest id and owner: both are btree keys, and 256 characters stay under PostgreSQL's key size limit. */
    static final int MAX_ID_LENGTH = 256;
    static final int MAX_OWNER_LENGTH = 256;

    private StorableText() {
    }

    /** Throws {@link IllegalArgumentException} unless the id and the owner (when not null) can be stored. */
    static void check(String id, String owner) {
        checkText("session id", id, MAX_ID_LENGTH);
        if (owner != null) {
            checkText("owner", owner, MAX_OWNER_LENGTH);
        }
    }

    /** Whether {@code id} could be a stored session's id. */
    static boolean isStorableId(String id) {
        return storable(id, MAX_ID_LENGTH);
    }

    /** Whether {@code owner} could be a stored session's owner. */
    static boolean isStorableOwner(String owner) {
        return storable(owner, MAX_OWNER_LENGTH);
    }

    private static void checkText(String what, String s, int maxLength) {
        if (s.isEmpty() || s.length() > maxLength) {
            throw new IllegalArgumentException(what + " must be 1 to " + maxLength + " characters but was "
                    + s.length());
        }
        int bad = firstUnstorable(s);
        if (bad >= 0) {
            throw new IllegalArgumentException(what + " contains " + (s.charAt(bad) == 0 ? "a NUL character"
                    : "an unpaired surrogate") + " at index " + bad + ", which the database cannot store");
        }
    }

    private static boolean storable(String s, int maxLength) {
        return s != null && !s.isEmpty() && s.length() <= maxLength && firstUnstorable(s) < 0;
    }

    private static int firstUnstorable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == 0) {
                return i;
            }
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }
}
