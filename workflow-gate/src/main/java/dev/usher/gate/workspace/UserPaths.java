package dev.usher.gate.workspace;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;

/**
 * The lexical half of path safety: a user's relative path to a list of plain names, or an
 * {@link UnsafePathException}. The file-system half (symlinks) is in {@link DirectoryWorkspace}. Stateless.
 *
 * <p>Backslashes are separators, as a Windows client means them; so no name ever holds one. Paths are
 * NFC-normalised so that precomposed and decomposed spellings name the same file. Look-alikes
 * (fullwidth {@code ．．／}, one-dot leaders) and percent-encodings ({@code %2e%2e%2f}) are ordinary
 * characters and name ordinary files inside the workspace; nothing here decodes anything.
 */
final class UserPaths {
    /** Linux's limit for a whole path; ours is counted relative to the workspace, which is stricter. */
    static final int MAX_PATH_BYTES = 4096;
    /** ext4, XFS, btrfs and APFS allow 255 bytes per name. */
    static final int MAX_SEGMENT_BYTES = 255;
    /** Temporary files of in-flight writes; users can neither name nor see them. */
    static final String TEMP_PREFIX = ".usher-tmp-";

    private UserPaths() {
    }

    /** The names from the workspace directory down; empty for the workspace directory itself. */
    static List<String> segments(String userPath) {
        if (userPath == null) {
            throw new NullPointerException("userPath");
        }
        checkCharacters(userPath);
        String path = Normalizer.normalize(userPath, Normalizer.Form.NFC).replace('\\', '/');
        if (WorkspaceNames.utf8Length(path) > MAX_PATH_BYTES) {
            throw new UnsafePathException(userPath, "longer than " + MAX_PATH_BYTES + " UTF-8 bytes");
        }
        if (path.startsWith("//")) {
            throw new UnsafePathException(userPath, "UNC paths are refused");
        }
        if (path.startsWith("/")) {
            throw new UnsafePathException(userPath, "absolute paths are refused");
        }
        if (path.length() >= 2 && path.charAt(1) == ':' && isAsciiLetter(path.charAt(0))) {
            throw new UnsafePathException(userPath, "drive letters are refused");
        }
        List<String> names = new ArrayList<>();
        for (String segment : path.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".")) {
                continue;
            }
            if (segment.equals("..")) {
                if (names.isEmpty()) {
                    throw new UnsafePathException(userPath, "'..' leaves the workspace");
                }
                names.remove(names.size() - 1);
                continue;
            }
            if (WorkspaceNames.utf8Length(segment) > MAX_SEGMENT_BYTES) {
                throw new UnsafePathException(userPath, "a name is longer than " + MAX_SEGMENT_BYTES + " UTF-8 bytes");
            }
            if (segment.length() >= 2 && segment.charAt(1) == ':' && isAsciiLetter(segment.charAt(0))) {
                throw new UnsafePathException(userPath, "drive letters are refused");
            }
            if (segment.startsWith(TEMP_PREFIX)) {
                throw new UnsafePathException(userPath, "names starting with '" + TEMP_PREFIX + "' are reserved");
            }
            names.add(segment);
        }
        return names;
    }

    private static void checkCharacters(String userPath) {
        for (int i = 0; i < userPath.length(); i++) {
            char c = userPath.charAt(i);
            if (Character.isISOControl(c)) {
                throw new UnsafePathException(userPath, String.format("control character U+%04X at index %d", (int) c, i));
            }
            if (Character.isHighSurrogate(c) && i + 1 < userPath.length() && Character.isLowSurrogate(userPath.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new UnsafePathException(userPath, String.format("unpaired surrogate U+%04X at index %d", (int) c, i));
            }
        }
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }
}
