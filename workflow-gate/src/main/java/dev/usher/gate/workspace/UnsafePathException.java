package dev.usher.gate.workspace;

/**
 * A user-supplied path was refused because it could reach outside its workspace or is not a path at
 * all (absolute, drive letter, UNC, {@code ..} above the workspace, control characters, a symlink that
 * points outside, a reserved name, too long). Nothing was read or written.
 */
public final class UnsafePathException extends WorkspaceException {
    private static final long serialVersionUID = 1L;

    private final String userPath;
    private final String reason;

    UnsafePathException(String userPath, String reason) {
        super("unsafe path '" + printable(userPath) + "': " + reason);
        this.userPath = userPath;
        this.reason = reason;
    }

    /** The path exactly as the caller gave it. */
    public String userPath() {
        return userPath;
    }

    /** Why it was refused, e.g. "'..' leaves the workspace". */
    public String reason() {
        return reason;
    }

    /** Control characters are shown as {@code \\uXXXX} so that the message is safe to log. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 300));
        int shown = 0;
        for (int i = 0; i < s.length() && shown < 256; i++, shown++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT
                    || Character.isSurrogate(c) && !validPairAt(s, i)) {
                b.append(String.format("\\u%04X", (int) c));
            } else {
                b.append(c);
            }
        }
        if (shown < s.length()) {
            b.append("…(").append(s.length()).append(" chars)");
        }
        return b.toString();
    }

    private static boolean validPairAt(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }
}
