package dev.usher.gate.workspace;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.FileLockInterruptionException;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The names taken under one workspace root: claiming a fresh name, giving back a claim never recorded in a
 * session, and releasing a recorded one. Also keeps the {@link DirectoryWorkspace} instances open in this
 * process, one per directory, so that their quota counters and locks are shared.
 *
 * <p>Locking: claiming needs no lock (exclusive file creation decides every race). Releasing runs under
 * the root's release lock: this object's {@link ReentrantLock} orders its own threads, and the file lock
 * on {@code .usher/release.lock} orders processes and other allocators on the same root in this process.
 * A JVM refuses a second lock on one file ({@link OverlappingFileLockException}) instead of waiting, so a
 * release that meets another allocator's lock in this JVM parks briefly and tries again; releases are a
 * few renames long, and two allocators on one root in one process are rare. That replaces the static map
 * of per-root locks this class's predecessor kept (one entry per root ever used, never freed).
 */
final class WorkspaceClaims {
    private static final Logger log = LoggerFactory.getLogger(WorkspaceClaims.class);
    static final int MAX_SUFFIX = 99_999;
    /** Room kept for {@code _99999}. */
    static final int SUFFIX_BYTES = 6;
    private static final long OTHER_HOLDER_PAUSE_NANOS = 1_000_000;
    private static final DateTimeFormatter ARCHIVE_STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'").withZone(ZoneOffset.UTC);

    private final Path root;
    private final Path claimsDir;
    private final Path trashDir;
    private final Path releaseLockFile;
    private final Path archiveDir;
    private final Clock clock;
    private final Counters counters;
    private final ReentrantLock releaseLock = new ReentrantLock();
    /** One instance per directory in this process, so that its quota counters and lock are shared. */
    final ConcurrentHashMap<String, DirectoryWorkspace> open = new ConcurrentHashMap<>();

    WorkspaceClaims(Path root, Path archiveDir, Clock clock, Counters counters) throws IOException {
        this.root = root;
        Path meta = root.resolve(".usher");
        this.claimsDir = Files.createDirectories(meta.resolve("claims"));
        this.trashDir = Files.createDirectories(meta.resolve("trash"));
        this.releaseLockFile = meta.resolve("release.lock");
        this.archiveDir = archiveDir;
        this.clock = clock;
        this.counters = counters;
    }

    Path claimsDir() {
        return claimsDir;
    }

    Path trashDir() {
        return trashDir;
    }

    /** The completed claim on {@code name}, or null. */
    Claim read(String name) throws IOException {
        return Claim.read(claimFile(name));
    }

    /**
     * Takes the first free name of {@code base}, {@code base_1}, {@code base_2}…: first the claim file
     * (exclusive create, case-insensitive key), then the directory (exclusive create). Both are atomic, so
     * threads and processes racing for one name each end up with a different one.
     */
    Claim claimFreshName(String base) {
        for (int n = 0; n <= MAX_SUFFIX; n++) {
            String name = n == 0 ? base : base + "_" + n;
            Path claimFile = claimFile(name);
            try {
                Files.createFile(claimFile);
            } catch (FileAlreadyExistsException e) {
                continue;
            } catch (IOException e) {
                throw new WorkspaceException("cannot claim workspace name '" + name + "': " + e, e);
            }
            try {
                Files.createDirectory(root.resolve(name));
            } catch (FileAlreadyExistsException e) {
                deleteQuietly(claimFile); // a directory nobody claimed (foreign, or a crash): leave it be
                continue;
            } catch (IOException e) {
                deleteQuietly(claimFile);
                throw new WorkspaceException("cannot create workspace directory '" + name + "': " + e, e);
            }
            Claim claim = new Claim(name, DurableFiles.randomToken(), clock.instant());
            try {
                DurableFiles.writeAtomically(claimFile, claim.encode());
                DurableFiles.forceDirectory(root);
            } catch (IOException e) {
                giveBack(claim);
                throw new WorkspaceException("cannot record the claim of workspace '" + name + "': " + e, e);
            }
            return claim;
        }
        throw new WorkspaceException("no free workspace name for '" + base + "': " + base + " to " + base + "_"
                + MAX_SUFFIX + " are all taken");
    }

    /** Removes a claim that was never recorded in a session: nobody else can be using it. */
    void giveBack(Claim claim) {
        try {
            DurableFiles.deleteTree(root.resolve(claim.name()));
            Files.deleteIfExists(claimFile(claim.name()));
        } catch (IOException e) {
            log.warn("could not remove the unused workspace '{}' ({}); the orphan sweep will", claim.name(), e.toString());
        }
    }

    /**
     * Moves the directory out of the root (to the archive, or to the trash to be deleted) and drops its
     * claim, if the claim still carries {@code token}. Under the release lock, so that a concurrent
     * release cannot find the claim, lose the race, and then move a newer directory of the same name.
     *
     * @return true if this call removed the directory
     */
    boolean release(String name, String token) {
        Path trash = trashDir.resolve(token);
        boolean released;
        try {
            released = underReleaseLock(() -> {
                Path claimFile = claimFile(name);
                Claim claim = Claim.read(claimFile);
                if (claim == null || !claim.name().equals(name) || !claim.token().equals(token)) {
                    return false;
                }
                DirectoryWorkspace w = open.get(name);
                if (w != null && w.token().equals(token)) {
                    w.markReleased();
                    open.remove(name, w);
                }
                Path dir = root.resolve(name);
                if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                    Path target = trash;
                    if (archiveDir != null) {
                        Path folder = archiveDir.resolve(ARCHIVE_STAMP.format(clock.instant()) + "_" + token.substring(0, 8));
                        Files.createDirectories(folder);
                        target = folder.resolve(name);
                    }
                    Files.move(dir, target, StandardCopyOption.ATOMIC_MOVE);
                }
                Files.delete(claimFile);
                DurableFiles.forceDirectory(claimsDir);
                DurableFiles.forceDirectory(root);
                return true;
            });
            if (released) {
                DurableFiles.deleteTree(trash);
            }
        } catch (AtomicMoveNotSupportedException e) {
            throw new WorkspaceException("cannot archive workspace '" + name + "': the archive folder "
                    + archiveDir + " must be on the same file system as " + root, e);
        } catch (IOException e) {
            throw new WorkspaceException("cannot release workspace '" + name + "': " + e, e);
        }
        if (released) {
            counters.released.increment();
        }
        return released;
    }

    private interface IoAction<T> {
        T run() throws IOException;
    }

    private <T> T underReleaseLock(IoAction<T> action) throws IOException {
        releaseLock.lock();
        try (FileChannel ch = FileChannel.open(releaseLockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock ignored = lockAgainstOthers(ch)) {
            return action.run();
        } finally {
            releaseLock.unlock();
        }
    }

    private static FileLock lockAgainstOthers(FileChannel ch) throws IOException {
        while (true) {
            try {
                return ch.lock();
            } catch (OverlappingFileLockException e) {
                // Another allocator on this root in this JVM holds it; see the class comment.
                LockSupport.parkNanos(OTHER_HOLDER_PAUSE_NANOS);
                if (Thread.interrupted()) {
                    Thread.currentThread().interrupt();
                    throw new FileLockInterruptionException();
                }
            }
        }
    }

    private Path claimFile(String name) {
        return claimsDir.resolve(WorkspaceNames.claimKey(name));
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            log.warn("could not delete {}: {}", p, e.toString());
        }
    }
}
