package dev.usher.gate.workspace;

import dev.usher.session.EndReason;
import dev.usher.session.Session;
import dev.usher.session.SessionListener;
import dev.usher.session.SessionManager;
import dev.usher.session.SessionPage;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import dev.usher.session.Durations;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives each session its own directory under a root, named from free text (a project name an LLM
 * suggested, in any language) made safe and unique, and keeps it for the session's life.
 *
 * <p>Thread-safe; share one per root and process. Several processes may share one root (a network or
 * shared disk): names stay unique across them. The allocator owns its sweeper thread
 * ({@code usher-workspace-sweeper}) and {@link #close()} stops it; it does not own the
 * {@link SessionManager}. Every method blocks on file-system I/O, and {@link #workspaceFor} also on the
 * session store; none holds a monitor meanwhile, so all are fine on virtual threads.
 *
 * <p>The session keeps the mapping, in the attributes {@code usher.workspace} (the directory name) and
 * {@code usher.workspace.token}, so it survives restarts and every instance sharing the store and the
 * root finds the same directory. Two callers allocating for one session at once both create a
 * directory, but only one is recorded (a compare-and-set through {@link SessionManager#update}); the
 * other is removed again.
 *
 * <p>Names: NFC; control characters and {@code <>:"/\|?*} removed; whitespace collapsed; no leading
 * dots, no trailing dots or spaces; Windows device names ({@code CON}, {@code nul.txt}, {@code COM1}…)
 * get a leading {@code _}; an empty result becomes the default name; then cut to {@code maxNameBytes}
 * UTF-8 bytes minus room for a {@code _N} suffix, between user-perceived characters. Uniqueness ignores
 * case, so {@code Report} and {@code report} get {@code Report} and {@code report_1} on any file system.
 *
 * <pre>{@code
 * WorkspaceAllocator workspaces = WorkspaceAllocator.builder(Path.of("/srv/usher/workspaces"), sessions)
 *         .maxBytes(512L << 20)
 *         .maxFiles(5_000)
 *         .build();
 * Workspace ws = workspaces.workspaceFor(session, "주간 보고서 🚀");
 * ws.write("notes/today.md", bytes);
 * }</pre>
 */
public final class WorkspaceAllocator implements AutoCloseable {
    /** The session attribute holding the directory name. */
    public static final String NAME_ATTRIBUTE = "usher.workspace";
    /** The session attribute holding the token that tells this directory from a later one of the same name. */
    public static final String TOKEN_ATTRIBUTE = "usher.workspace.token";

    private static final Logger log = LoggerFactory.getLogger(WorkspaceAllocator.class);
    private static final int MAX_SUFFIX = 99_999;
    /** Room kept for {@code _99999}. */
    private static final int SUFFIX_BYTES = 6;
    private static final int ALLOCATION_ATTEMPTS = 3;
    private static final int LISTING_PAGE = 500;
    private static final DateTimeFormatter ARCHIVE_STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmssSSS'Z'").withZone(ZoneOffset.UTC);

    private final Path root;
    private final Path claimsDir;
    private final Path trashDir;
    private final Path releaseLockFile;
    private final Path archiveDir;
    private final SessionManager sessions;
    private final Clock clock;
    private final int maxNameBytes;
    private final String defaultName;
    private final long maxBytes;
    private final long maxFiles;
    private final Duration orphanGracePeriod;
    private final SessionListener releaseOnEnd;
    private final ScheduledExecutorService sweeper;
    private final Counters counters = new Counters();
    /** One instance per directory in this process, so that its quota counters and lock are shared. */
    private final ConcurrentHashMap<String, DirectoryWorkspace> open = new ConcurrentHashMap<>();
    /**
     * Serialises releases on one root in this process, across all its allocators (a JVM may hold only one
     * file lock on a file); the file lock does it across processes. One entry per root ever used.
     */
    private static final ConcurrentHashMap<Path, ReentrantLock> RELEASE_LOCKS = new ConcurrentHashMap<>();
    private final ReentrantLock releaseLock;
    private final AtomicBoolean closed = new AtomicBoolean();

    private WorkspaceAllocator(Builder b, Path root, Path archiveDir) throws IOException {
        this.root = root;
        Path meta = root.resolve(".usher");
        this.claimsDir = Files.createDirectories(meta.resolve("claims"));
        this.trashDir = Files.createDirectories(meta.resolve("trash"));
        this.releaseLockFile = meta.resolve("release.lock");
        this.releaseLock = RELEASE_LOCKS.computeIfAbsent(root, r -> new ReentrantLock());
        this.archiveDir = archiveDir;
        this.sessions = b.sessions;
        this.clock = b.clock;
        this.maxNameBytes = b.maxNameBytes;
        this.defaultName = b.defaultName;
        this.maxBytes = b.maxBytes;
        this.maxFiles = b.maxFiles;
        this.orphanGracePeriod = b.orphanGracePeriod;
        if (b.releaseWhenSessionEnds) {
            this.releaseOnEnd = new SessionListener() {
                @Override
                public void ended(Session session, EndReason reason) {
                    try {
                        release(session);
                    } catch (RuntimeException e) {
                        // The orphan sweep retries what fails here.
                        log.warn("releasing the workspace of {} failed: {}", session, e.toString());
                    }
                }
            };
            sessions.addListener(releaseOnEnd);
        } else {
            this.releaseOnEnd = null;
        }
        if (b.sweepInterval.isZero()) {
            this.sweeper = null;
        } else {
            this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "usher-workspace-sweeper");
                t.setDaemon(true);
                return t;
            });
            long period = b.sweepInterval.toMillis();
            sweeper.scheduleWithFixedDelay(this::sweepQuietly, period, period, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * A builder for an allocator on {@code root} (created if missing; it should hold nothing else) that
     * records mappings through {@code sessions}.
     */
    public static Builder builder(Path root, SessionManager sessions) {
        return new Builder(root, sessions);
    }

    /**
     * The session's workspace: the one recorded in the session if its directory still exists, otherwise
     * a new one named from {@code suggestedName} (may be null or blank: the default name is used).
     *
     * @throws WorkspaceException if the session no longer exists, or the file system fails
     */
    public Workspace workspaceFor(Session session, String suggestedName) {
        checkOpen();
        Objects.requireNonNull(session, "session");
        Session current = session;
        for (int attempt = 0; attempt < ALLOCATION_ATTEMPTS; attempt++) {
            Optional<DirectoryWorkspace> recorded = openRecorded(current);
            if (recorded.isPresent()) {
                counters.reused.increment();
                return recorded.get();
            }
            Mapping stale = Mapping.of(current);
            Claim claim = claimFreshName(WorkspaceNames.sanitize(suggestedName, maxNameBytes - SUFFIX_BYTES, defaultName));
            Mapping mine = new Mapping(claim.name(), claim.token());
            Optional<Session> updated;
            try {
                // Only an absent or the known-dead mapping is replaced; anything else is a concurrent winner.
                updated = sessions.update(current.id(), s -> {
                    Mapping m = Mapping.of(s);
                    return m == null || m.equals(stale) ? mine.applyTo(s) : s;
                });
            } catch (RuntimeException e) {
                giveBack(claim);
                throw e;
            }
            if (updated.isEmpty()) {
                giveBack(claim);
                throw new WorkspaceException("session " + current + " does not exist or has ended;"
                        + " no workspace was allocated");
            }
            if (mine.equals(Mapping.of(updated.get()))) {
                counters.allocated.increment();
                try {
                    DirectoryWorkspace w = DirectoryWorkspace.fresh(claim.name(), root.resolve(claim.name()),
                            claim.token(), maxBytes, maxFiles, counters);
                    open.put(claim.name(), w);
                    return w;
                } catch (IOException e) {
                    throw new WorkspaceException("cannot open the new workspace '" + claim.name() + "': " + e, e);
                }
            }
            counters.raceLosses.increment();
            giveBack(claim);
            current = updated.get();
        }
        throw new WorkspaceException("the workspace of session " + session + " kept changing under "
                + ALLOCATION_ATTEMPTS + " allocation attempts");
    }

    /** The session's recorded workspace, if it has one whose directory still exists. Allocates nothing. */
    public Optional<Workspace> find(Session session) {
        checkOpen();
        return openRecorded(Objects.requireNonNull(session, "session")).map(w -> w);
    }

    /**
     * Deletes the session's workspace, or moves it into the archive folder if one is configured. Safe to
     * call twice and from several instances: only the call that finds the session's own directory (same
     * name and token) removes it, and a later directory that reuses the name is never touched.
     *
     * @return true if this call removed the directory
     */
    public boolean release(Session session) {
        checkOpen();
        Mapping m = Mapping.of(Objects.requireNonNull(session, "session"));
        if (m == null || !isValidName(m.name())) {
            return false;
        }
        return releaseClaimed(m.name(), m.token());
    }

    /**
     * Finds directories that no live session maps to (left by a crash, or by a release that failed) and
     * releases them like {@link #release}; also finishes interrupted deletions. Directories younger than
     * the orphan grace period are left alone, since their allocation may still be recording itself.
     * The sweeper thread calls this; hosts may call it too (e.g. at start-up). Reads every live session.
     *
     * @return how many workspaces were released
     */
    public int sweepOrphans() {
        checkOpen();
        Instant cutoff = clock.instant().minus(orphanGracePeriod);
        Set<Mapping> live = liveMappings();
        int swept = 0;
        try {
            try (DirectoryStream<Path> claims = Files.newDirectoryStream(claimsDir)) {
                for (Path file : claims) {
                    // A temporary file of a claim being written is never read as a claim.
                    Claim c = file.getFileName().toString().startsWith(UserPaths.TEMP_PREFIX) ? null : Claim.read(file);
                    if (c == null) {
                        // Allocation crashed before completing the claim.
                        if (olderThan(file, cutoff)) {
                            Files.deleteIfExists(file);
                        }
                    } else if (!live.contains(new Mapping(c.name(), c.token())) && c.createdAt().isBefore(cutoff)
                            && releaseClaimed(c.name(), c.token())) {
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
            try (DirectoryStream<Path> trash = Files.newDirectoryStream(trashDir)) {
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

    /** A snapshot of this allocator's counters. */
    public WorkspaceStats stats() {
        return counters.snapshot();
    }

    /** The root directory, as a real path. */
    public Path root() {
        return root;
    }

    /** Stops the sweeper and stops listening to session ends. Workspaces stay on disk. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (releaseOnEnd != null) {
            sessions.removeListener(releaseOnEnd);
        }
        if (sweeper != null) {
            sweeper.shutdownNow();
            try {
                if (!sweeper.awaitTermination(10, TimeUnit.SECONDS)) {
                    log.warn("workspace sweeper did not stop within 10 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private Optional<DirectoryWorkspace> openRecorded(Session session) {
        Mapping m = Mapping.of(session);
        if (m == null || !isValidName(m.name())) {
            return Optional.empty();
        }
        Path dir = root.resolve(m.name());
        DirectoryWorkspace cached = open.get(m.name());
        if (cached != null && cached.token().equals(m.token()) && Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.of(cached);
        }
        try {
            Claim claim = Claim.read(claimFile(m.name()));
            if (claim == null || !claim.name().equals(m.name()) || !claim.token().equals(m.token())
                    || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                return Optional.empty();
            }
            DirectoryWorkspace fresh = DirectoryWorkspace.existing(m.name(), dir, m.token(), maxBytes, maxFiles,
                    counters, clock.instant().minus(orphanGracePeriod));
            return Optional.of(open.compute(m.name(),
                    (k, old) -> old != null && old.token().equals(m.token()) ? old : fresh));
        } catch (NoSuchFileException e) {
            return Optional.empty(); // released while we looked
        } catch (IOException e) {
            throw new WorkspaceException("cannot open workspace '" + m.name() + "': " + e, e);
        }
    }

    /**
     * Takes the first free name of {@code base}, {@code base_1}, {@code base_2}…: first the claim file
     * (exclusive create, case-insensitive key), then the directory (exclusive create). Both are atomic, so
     * threads and processes racing for one name each end up with a different one.
     */
    private Claim claimFreshName(String base) {
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
    private void giveBack(Claim claim) {
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
     */
    private boolean releaseClaimed(String name, String token) {
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
        try (FileChannel ch = FileChannel.open(releaseLockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.lock(); // released when the channel closes
            return action.run();
        } finally {
            releaseLock.unlock();
        }
    }

    /** An empty directory without a claim, past the grace period: an allocation that crashed midway. */
    private boolean isUnclaimedLeftover(Path dir, Instant cutoff) throws IOException {
        String name = dir.getFileName().toString();
        if (name.startsWith(".") || dir.equals(archiveDir) || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        Claim claim = Claim.read(claimFile(name));
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
    private Set<Mapping> liveMappings() {
        Set<Mapping> live = new HashSet<>();
        String cursor = null;
        do {
            SessionPage page = sessions.list(cursor, LISTING_PAGE);
            for (Session s : page.sessions()) {
                Mapping m = Mapping.of(s);
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
        open.values().removeIf(w -> !Files.isDirectory(w.directory(), LinkOption.NOFOLLOW_LINKS));
    }

    private void sweepQuietly() {
        try {
            sweepOrphans();
        } catch (RuntimeException e) {
            // The store or the disk may be unavailable; the next round tries again.
            log.warn("workspace orphan sweep failed: {}", e.toString());
        }
    }

    private boolean olderThan(Path p, Instant cutoff) throws IOException {
        try {
            return Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant().isBefore(cutoff);
        } catch (NoSuchFileException e) {
            return false;
        }
    }

    private Path claimFile(String name) {
        return claimsDir.resolve(WorkspaceNames.claimKey(name));
    }

    /** A name from a session attribute is trusted only if the pipeline would leave it unchanged. */
    private static boolean isValidName(String name) {
        return !name.isEmpty() && WorkspaceNames.sanitize(name, 255, "-").equals(name);
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            log.warn("could not delete {}: {}", p, e.toString());
        }
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("WorkspaceAllocator is closed");
        }
    }

    /** A session's recorded workspace: directory name and token. */
    private record Mapping(String name, String token) {
        static Mapping of(Session s) {
            Optional<String> name = s.attribute(NAME_ATTRIBUTE);
            Optional<String> token = s.attribute(TOKEN_ATTRIBUTE);
            return name.isPresent() && token.isPresent() ? new Mapping(name.get(), token.get()) : null;
        }

        Session applyTo(Session s) {
            return s.withAttribute(NAME_ATTRIBUTE, name).withAttribute(TOKEN_ATTRIBUTE, token);
        }
    }

    /** Builds a {@link WorkspaceAllocator}; every setting has a default listed on its method. */
    public static final class Builder {
        private final Path root;
        private final SessionManager sessions;
        private Clock clock = Clock.systemUTC();
        private int maxNameBytes = 128;
        private String defaultName = "workspace";
        private long maxBytes = 1L << 30;
        private long maxFiles = 10_000;
        private Path archiveDir;
        private Duration orphanGracePeriod = Duration.ofMinutes(10);
        private Duration sweepInterval = Duration.ofHours(1);
        private boolean releaseWhenSessionEnds = true;

        private Builder(Path root, SessionManager sessions) {
            this.root = Objects.requireNonNull(root, "root");
            this.sessions = Objects.requireNonNull(sessions, "sessions");
        }

        /** The clock for claim times and the orphan grace period (default: system UTC). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Longest directory name in UTF-8 bytes, suffix included (default 128; at most 255, the limit of
         * ext4, XFS and APFS; at least 16). A Hangul syllable is 3 bytes, an emoji 4.
         */
        public Builder maxNameBytes(int bytes) {
            if (bytes < 16 || bytes > 255) {
                throw new IllegalArgumentException("maxNameBytes must be between 16 and 255 but was " + bytes);
            }
            this.maxNameBytes = bytes;
            return this;
        }

        /** The name used when a suggestion is empty after cleaning (default {@code workspace}). */
        public Builder defaultName(String name) {
            Objects.requireNonNull(name, "defaultName");
            if (name.isEmpty() || WorkspaceNames.utf8Length(name) > 64 || !WorkspaceNames.sanitize(name, 64, "-").equals(name)) {
                throw new IllegalArgumentException("defaultName must be a safe name of 1 to 64 UTF-8 bytes but was '"
                        + UnsafePathException.printable(name) + "'");
            }
            this.defaultName = name;
            return this;
        }

        /** Quota: total bytes of the files in one workspace (default 1 GiB). */
        public Builder maxBytes(long bytes) {
            if (bytes < 1) {
                throw new IllegalArgumentException("maxBytes must be at least 1 but was " + bytes
                        + " (a workspace that can hold nothing)");
            }
            this.maxBytes = bytes;
            return this;
        }

        /** Quota: files and directories in one workspace (default 10,000). */
        public Builder maxFiles(long count) {
            if (count < 1) {
                throw new IllegalArgumentException("maxFiles must be at least 1 but was " + count
                        + " (a workspace that can hold nothing)");
            }
            this.maxFiles = count;
            return this;
        }

        /**
         * Move released workspaces into {@code dir} (one folder per release, named by time) instead of
         * deleting them (default: delete). Must be on the same file system as the root.
         */
        public Builder archiveTo(Path dir) {
            this.archiveDir = Objects.requireNonNull(dir, "archiveTo");
            return this;
        }

        /**
         * How old an unmapped directory must be before the orphan sweep removes it (default 10 minutes).
         * Must exceed the longest allocation plus the clock skew between instances.
         */
        public Builder orphanGracePeriod(Duration grace) {
            Objects.requireNonNull(grace, "orphanGracePeriod");
            if (grace.isNegative()) {
                throw new IllegalArgumentException("orphanGracePeriod must not be negative but was " + Durations.format(grace));
            }
            this.orphanGracePeriod = grace;
            return this;
        }

        /** How often the sweeper thread runs {@link #sweepOrphans} (default 1 hour; {@link Duration#ZERO} for no thread). */
        public Builder sweepInterval(Duration interval) {
            Objects.requireNonNull(interval, "sweepInterval");
            if (interval.isNegative()) {
                throw new IllegalArgumentException("sweepInterval must not be negative but was " + Durations.format(interval));
            }
            this.sweepInterval = interval;
            return this;
        }

        /** Release a session's workspace when the session ends (default true, through a {@link SessionListener}). */
        public Builder releaseWhenSessionEnds(boolean release) {
            this.releaseWhenSessionEnds = release;
            return this;
        }

        /**
         * Creates the root (and the archive folder) if missing.
         *
         * @throws WorkspaceException       if they cannot be created
         * @throws IllegalArgumentException if the archive folder is on another file system
         */
        public WorkspaceAllocator build() {
            try {
                Path realRoot = Files.createDirectories(root).toRealPath();
                Path realArchive = null;
                if (archiveDir != null) {
                    realArchive = Files.createDirectories(archiveDir).toRealPath();
                    if (realArchive.startsWith(realRoot)) {
                        throw new IllegalArgumentException("archiveTo " + realArchive + " must not be inside the root "
                                + realRoot + ": archived workspaces would be taken for orphans");
                    }
                    if (!Files.getFileStore(realArchive).equals(Files.getFileStore(realRoot))) {
                        throw new IllegalArgumentException("archiveTo " + realArchive
                                + " must be on the same file system as the root " + realRoot);
                    }
                }
                return new WorkspaceAllocator(this, realRoot, realArchive);
            } catch (IOException e) {
                throw new WorkspaceException("cannot prepare the workspace root " + root + ": " + e, e);
            }
        }
    }
}
