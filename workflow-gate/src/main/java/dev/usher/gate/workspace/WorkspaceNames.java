package dev.usher.gate.workspace;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.Normalizer;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;

/**
 * The name pipeline: free text (any language, an LLM's suggestion) to a directory name that is valid on
 * Linux, macOS and Windows and fits a byte budget. Stateless.
 */
final class WorkspaceNames {
    private static final String FORBIDDEN = "<>:\"/\\|?*";
    private static final Set<String> RESERVED = Set.of(
            "con", "prn", "aux", "nul", "conin$", "conout$",
            "com0", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
            "com\u00b9", "com\u00b2", "com\u00b3",
            "lpt0", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
            "lpt\u00b9", "lpt\u00b2", "lpt\u00b3");

    private WorkspaceNames() {
    }

    /**
     * Makes {@code suggested} a safe directory name of at most {@code maxBytes} UTF-8 bytes; an empty
     * result becomes {@code defaultName} (which must itself be safe).
     */
    static String sanitize(String suggested, int maxBytes, String defaultName) {
        String name = suggested == null ? "" : Normalizer.normalize(suggested, Normalizer.Form.NFC);
        name = stripTrimmable(collapseWhitespace(removeUnsafe(name)));
        if (name.isEmpty()) {
            name = defaultName;
        }
        name = stripTrimmable(cut(name, maxBytes));
        if (isReserved(name)) {
            // A prefix keeps the reserved word readable and can never form another reserved name.
            name = stripTrimmable(cut("_" + name, maxBytes));
        }
        return name.isEmpty() ? defaultName : name;
    }

    /** True for names Windows refuses whatever the extension: {@code CON}, {@code nul.txt}, {@code Com1.tar.gz}. */
    static boolean isReserved(String name) {
        int dot = name.indexOf('.');
        String base = (dot < 0 ? name : name.substring(0, dot)).stripTrailing();
        return RESERVED.contains(base.toLowerCase(Locale.ROOT));
    }

    /** The key under which a name is claimed: equal for names that differ only in case. */
    static String claimKey(String name) {
        String folded = name.toUpperCase(Locale.ROOT).toLowerCase(Locale.ROOT);
        folded = Normalizer.normalize(folded, Normalizer.Form.NFC);
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(folded.getBytes(StandardCharsets.UTF_8));
            // Hashed so that the key has a fixed length whatever the name's script or case expansion.
            return HexFormat.of().formatHex(digest, 0, 20);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }

    static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    private static String removeUnsafe(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            if (Character.isSurrogate(s.charAt(i)) && n == 1) {
                i++; // a lone surrogate has no UTF-8 form
                continue;
            }
            i += n;
            if (cp == '\u2028' || cp == '\u2029') {
                b.append(' ');
            } else if (Character.getType(cp) == Character.CONTROL || FORBIDDEN.indexOf(cp) >= 0 || isBidiControl(cp)) {
                if (Character.isWhitespace(cp)) {
                    b.append(' '); // tabs and newlines separate words
                }
            } else {
                b.appendCodePoint(cp);
            }
        }
        return b.toString();
    }

    /** Direction overrides let "txt.exe" display as "exe.txt"; they never belong in a file name. */
    private static boolean isBidiControl(int cp) {
        return cp == 0x200E || cp == 0x200F || cp == 0x061C || (cp >= 0x202A && cp <= 0x202E)
                || (cp >= 0x2066 && cp <= 0x2069);
    }

    private static String collapseWhitespace(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean pendingSpace = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
                pendingSpace = b.length() > 0;
            } else {
                if (pendingSpace) {
                    b.append(' ');
                    pendingSpace = false;
                }
                b.appendCodePoint(cp);
            }
        }
        return b.toString();
    }

    /** No leading dots (hidden files, {@code .} and {@code ..}), no trailing dots or spaces (Windows drops them). */
    private static String stripTrimmable(String s) {
        int start = 0;
        while (start < s.length() && (s.charAt(start) == '.' || s.charAt(start) == ' ')) {
            start++;
        }
        int end = s.length();
        while (end > start && (s.charAt(end - 1) == '.' || s.charAt(end - 1) == ' ')) {
            end--;
        }
        return s.substring(start, end);
    }

    /**
     * The longest prefix of {@code s} within {@code maxBytes} UTF-8 bytes that ends on a boundary between
     * user-perceived characters: never inside a surrogate pair, before a combining mark, around a
     * zero-width joiner, before a variation selector, skin-tone modifier or emoji tag, inside a
     * regional-indicator pair (a flag), or between conjoining Hangul jamo.
     */
    static String cut(String s, int maxBytes) {
        int bytes = 0;
        int lastBoundary = 0;
        int regionalIndicatorsBefore = 0;
        int previous = -1;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            if (i > 0 && isBoundary(previous, cp, regionalIndicatorsBefore)) {
                lastBoundary = i;
            }
            bytes += utf8Bytes(cp);
            if (bytes > maxBytes) {
                return s.substring(0, lastBoundary);
            }
            regionalIndicatorsBefore = isRegionalIndicator(cp) ? regionalIndicatorsBefore + 1 : 0;
            previous = cp;
            i += Character.charCount(cp);
        }
        return s;
    }

    private static boolean isBoundary(int previous, int cp, int regionalIndicatorsBefore) {
        if (previous == 0x200D || cp == 0x200D || extendsPrevious(cp)) {
            return false;
        }
        if (isRegionalIndicator(cp) && regionalIndicatorsBefore % 2 == 1) {
            return false;
        }
        if (isHangulJamoLead(previous) && isHangulJamo(cp)) {
            return false;
        }
        return !(isHangulJamoVowel(previous) && (isHangulJamoVowel(cp) || isHangulJamoTrail(cp)))
                && !(isHangulJamoTrail(previous) && isHangulJamoTrail(cp))
                && !(isHangulSyllable(previous) && (isHangulJamoVowel(cp) || isHangulJamoTrail(cp)));
    }

    private static boolean extendsPrevious(int cp) {
        int type = Character.getType(cp);
        return type == Character.NON_SPACING_MARK || type == Character.COMBINING_SPACING_MARK
                || type == Character.ENCLOSING_MARK
                || (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF) // variation selectors
                || (cp >= 0x1F3FB && cp <= 0x1F3FF) // emoji skin-tone modifiers
                || (cp >= 0xE0020 && cp <= 0xE007F) // emoji tag sequences (subdivision flags)
                || cp == 0x200C;
    }

    private static boolean isRegionalIndicator(int cp) {
        return cp >= 0x1F1E6 && cp <= 0x1F1FF;
    }

    private static boolean isHangulJamoLead(int cp) {
        return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0xA960 && cp <= 0xA97C);
    }

    private static boolean isHangulJamoVowel(int cp) {
        return (cp >= 0x1160 && cp <= 0x11A7) || (cp >= 0xD7B0 && cp <= 0xD7C6);
    }

    private static boolean isHangulJamoTrail(int cp) {
        return (cp >= 0x11A8 && cp <= 0x11FF) || (cp >= 0xD7CB && cp <= 0xD7FB);
    }

    private static boolean isHangulJamo(int cp) {
        return isHangulJamoLead(cp) || isHangulJamoVowel(cp) || isHangulJamoTrail(cp);
    }

    private static boolean isHangulSyllable(int cp) {
        return cp >= 0xAC00 && cp <= 0xD7A3;
    }

    private static int utf8Bytes(int cp) {
        return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }
}
