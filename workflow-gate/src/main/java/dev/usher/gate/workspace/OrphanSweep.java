package dev.usher.gate.workspace;

import dev.usher.session.Session;
import dev.usher.session.SessionManager;
import dev.usher.session.SessionPage;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the directories of a root that no live session maps to (left by a crash or a failed release) and
 * releases them through {@link WorkspaceClaims}; finishes interrupted deletions in the trash. Holds no
 * lock of its own: every removal of a claimed directory goes through the claims' release lock, and an
 * unclaimed directory is removed only if it is empty (a non-empty one fails the delete and is left).
 */
final class OrphanSweep {
    private static final Logger log = LoggerFactory.getLogger(OrphanSweep.class);
    private static final int LISTING_PAGE = 500;

    private final Path root;
    private final Path archiveDir;
    private final WorkspaceClaims claims;
    private final SessionManager sessions;
    private final Clock clock;
    private final Duration gracePeriod;
    private final Counters counters;

    OrphanSweep(Path root, Path archiveDir, WorkspaceClaims claims, SessionManager sessions, Clock clock,
            Duration gracePeriod, Counters counters) {
        this.root = root;
        this.archiveDir = archiveDir;
        this.claims = claims;
        this.sessions = sessions;
        this.clock = clock;
        this.gracePeriod = gracePeriod;
        this.counters = counters;
    }

    /** One sweep; see {@link WorkspaceAllocator#sweepOrphans()}. */
    int run() {
        Instant cutoff = clock.instant().minus(gracePeriod);
        Set<WorkspaceMapping> live = liveMappings();
        int swept = 0;
        try {
            try (DirectoryStream<Path> claimFiles = Files.newDirectoryStream(claims.claimsDir())) {
                for (Path file : claimFiles) {
                    // A temporary file of a claim being written is never read as a claim.
                    Claim c = file.getFileName().toString().startsWith(UserPaths.TEMP_PREFIX) ? null : Claim.read(file);
                    if (c == null) {
                        // Allocation crashed before completing the claim.
                        if (olderThan(file, cutoff)) {
                            Files.deleteIfExists(file);
                        }
                    } else if (!live.contains(new WorkspaceMapping(c.name(), c.token()))
                            && c.createdAt().isBefore(cutoff) && claims.release(c.name(), c.token())) {
                        swept++;
                    }
                }
            }
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
                for (Path dir : dirs) {
                    if (isUnclaimedLeftover(dir, cutoff)) {
                        try {
                            Files.delete(dir);
                            swept++;
                        } catch (DirectoryNotEmptyException | NoSuchFileException e) {
                            // Written to or removed meanwhile: not ours to judge now.
                        }
                    }
                }
            }
            try (DirectoryStream<Path> trash = Files.newDirectoryStream(claims.trashDir())) {
                for (Path t : trash) {
                    DurableFiles.deleteTree(t);
                }
            }
        } catch (IOException e) {
            throw new WorkspaceException("orphan sweep of " + root + " failed: " + e, e);
        }
        counters.orphansSwept.add(swept);
        pruneClosed();
        return swept;
    }

    /** An empty directory without a claim, past the grace period: an allocation that crashed midway. */
    private boolean isUnclaimedLeftover(Path dir, Instant cutoff) throws IOException {
        String name = dir.getFileName().toString();
        if (name.startsWith(".") || dir.equals(archiveDir) || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        Claim claim = claims.read(name);
        if (claim != null && claim.name().equals(name)) {
            return false;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            if (entries.iterator().hasNext()) {
                log.warn("directory {} in the workspace root has no claim and is not empty; left alone", dir);
                return false;
            }
        }
        return olderThan(dir, cutoff);
    }

    /** Pairs, not a map by name: a stale session may still name a directory that a newer one now holds. */
    private Set<WorkspaceMapping> liveMappings() {
        Set<WorkspaceMapping> live = new HashSet<>();
        String cursor = null;
        do {
            SessionPage page = sessions.list(cursor, LISTING_PAGE);
            for (Session s : page.sessions()) {
                WorkspaceMapping m = WorkspaceMapping.of(s);
                if (m != null) {
                    live.add(m);
                }
            }
            cursor = page.nextCursor();
        } while (cursor != null);
        return live;
    }

    /** Forgets workspaces whose directory another instance has released. */
    private void pruneClosed() {
        claims.open.values().removeIf(w -> !Files.isDirectory(w.directory(), LinkOption.NOFOLLOW_LINKS));
    }

    private static boolean olderThan(Path p, Instant cutoff) throws IOException {
        try {
            return Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff);
        } catch (NoSuchFileException e) {
            return false;
        }
    }
}
