package dev.usher.gate.workspace;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * Turns a user's path into a path inside one workspace directory, checked against the file system: no
 * {@code ..} out of it, no symlink leading out of it or to nothing. Stateless apart from what it is built
 * with; thread-safe. A path that fails a check counts in the allocator's unsafe-path counter.
 */
final class ContainedPaths {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    private final DirectoryWorkspace workspace;
    private final String name;
    private final Path dir;
    private final Counters counters;

    ContainedPaths(DirectoryWorkspace workspace, String name, Path dir, Counters counters) {
        this.workspace = workspace;
        this.name = name;
        this.dir = dir;
        this.counters = counters;
    }

    /** {@link Workspace#resolve}: the real path of {@code userPath}, inside the directory. */
    Path resolve(String userPath) {
        return resolveReal(userPath, segments(userPath));
    }

    private List<String> segments(String userPath) {
        try {
            return UserPaths.segments(userPath);
        } catch (UnsafePathException e) {
            counters.unsafePaths.increment();
            throw e;
        }
    }

    /**
     * The lexical path checked against the file system: the deepest existing ancestor is resolved to its
     * real path (following every symlink on the way) and must still be inside the workspace; the names
     * below it do not exist yet, so no symlink can hide there.
     */
    private Path resolveReal(String userPath, List<String> names) {
        workspace.checkNotReleased();
        Path lexical = dir;
        for (String n : names) {
            lexical = lexical.resolve(n);
        }
        if (!lexical.normalize().startsWith(dir)) {
            throw unsafe(userPath, "it leaves the workspace");
        }
        Deque<Path> missing = new ArrayDeque<>();
        Path existing = lexical;
        while (!Files.exists(existing, NOFOLLOW)) {
            if (existing.equals(dir)) {
                throw workspace.released();
            }
            missing.push(existing.getFileName());
            existing = existing.getParent();
        }
        Path real;
        try {
            real = existing.toRealPath();
        } catch (NoSuchFileException e) {
            throw unsafe(userPath, "a symlink in it points to nothing");
        } catch (IOException e) {
            throw new WorkspaceException("cannot resolve '" + UnsafePathException.printable(userPath)
                    + "' in workspace '" + name + "': " + e, e);
        }
        if (!real.startsWith(dir)) {
            throw unsafe(userPath, "a symlink in it leads outside the workspace");
        }
        for (Path n : missing) {
            real = real.resolve(n.toString());
        }
        return real;
    }

    /**
     * For writes and deletes, which act on the name itself: the parent is resolved and checked, the last
     * name is kept as it is, so a symlink there is replaced or removed, never followed.
     */
    Path leafIn(String userPath) {
        List<String> names = segments(userPath);
        if (names.isEmpty()) {
            throw unsafe(userPath, "it names the workspace directory itself");
        }
        return resolveReal(userPath, names.subList(0, names.size() - 1)).resolve(names.get(names.size() - 1));
    }

    private UnsafePathException unsafe(String userPath, String reason) {
        counters.unsafePaths.increment();
        return new UnsafePathException(userPath, reason);
    }
}
