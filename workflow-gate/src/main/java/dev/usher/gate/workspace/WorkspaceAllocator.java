package dev.usher.gate.workspace;

import dev.usher.gate.background.BackgroundThreads;
import dev.usher.session.EndReason;
import dev.usher.session.Session;
import dev.usher.session.SessionListener;
import dev.usher.session.SessionManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import dev.usher.session.Durations;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * <p>Layout: this class maps sessions to directories (the mapping read and written as a
 * {@link WorkspaceMapping}); {@link WorkspaceClaims} takes, gives back and
 * releases names under the root's lock, and {@link OrphanSweep} removes what no session maps to. It is
 * past 400 lines only because its {@link Builder} documents every setting (about 150 lines).
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
    private static final int ALLOCATION_ATTEMPTS = 3;

    private final Path root;
    private final SessionManager sessions;
    private final Clock clock;
    private final int maxNameBytes;
    private final String defaultName;
    private final long maxBytes;
    private final long maxFiles;
    private final Duration orphanGracePeriod;
    private final SessionListener releaseOnEnd;
    private final BackgroundThreads.PeriodicTask sweeper;
    private final Counters counters = new Counters();
    private final WorkspaceClaims claims;
    private final OrphanSweep orphanSweep;
    private final AtomicBoolean closed = new AtomicBoolean();

    private WorkspaceAllocator(Builder b, Path root, Path archiveDir) throws IOException {
        this.root = root;
        this.sessions = b.sessions;
        this.clock = b.clock;
        this.maxNameBytes = b.maxNameBytes;
        this.defaultName = b.defaultName;
        this.maxBytes = b.maxBytes;
        this.maxFiles = b.maxFiles;
        this.orphanGracePeriod = b.orphanGracePeriod;
        this.claims = new WorkspaceClaims(root, archiveDir, b.clock, counters);
        this.orphanSweep = new OrphanSweep(root, archiveDir, claims, b.sessions, b.clock, b.orphanGracePeriod, counters);
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
            this.sweeper = BackgroundThreads.everyInterval("workspace orphan sweep", b.sweepInterval,
                    BackgroundThreads.orDaemon(b.threadFactory, "usher-workspace-sweeper"), orphanSweep::run);
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
            WorkspaceMapping stale = WorkspaceMapping.of(current);
            Claim claim = claims.claimFreshName(
                    WorkspaceNames.sanitize(suggestedName, maxNameBytes - WorkspaceClaims.SUFFIX_BYTES, defaultName));
            WorkspaceMapping mine = new WorkspaceMapping(claim.name(), claim.token());
            Optional<Session> updated;
            try {
                // Only an absent or the known-dead mapping is replaced; anything else is a concurrent winner.
                // The caller's session is compare-and-set at once (one round trip); a newer one is re-read.
                updated = sessions.update(current, s -> {
                    WorkspaceMapping m = WorkspaceMapping.of(s);
                    return m == null || m.equals(stale) ? mine.applyTo(s) : s;
                });
            } catch (RuntimeException e) {
                claims.giveBack(claim);
                throw e;
            }
            if (updated.isEmpty()) {
                claims.giveBack(claim);
                throw new WorkspaceException("session " + current + " does not exist or has ended;"
                        + " no workspace was allocated");
            }
            if (mine.equals(WorkspaceMapping.of(updated.get()))) {
                counters.allocated.increment();
                try {
                    DirectoryWorkspace w = DirectoryWorkspace.fresh(claim.name(), root.resolve(claim.name()),
                            claim.token(), maxBytes, maxFiles, counters);
                    claims.open.put(claim.name(), w);
                    return w;
                } catch (IOException e) {
                    throw new WorkspaceException("cannot open the new workspace '" + claim.name() + "': " + e, e);
                }
            }
            counters.raceLosses.increment();
            claims.giveBack(claim);
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
        WorkspaceMapping m = WorkspaceMapping.of(Objects.requireNonNull(session, "session"));
        if (m == null || !isValidName(m.name())) {
            return false;
        }
        return claims.release(m.name(), m.token());
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
        return orphanSweep.run();
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
            sweeper.close();
        }
    }

    private Optional<DirectoryWorkspace> openRecorded(Session session) {
        DirectoryWorkspace cached = openInProcess(session);
        if (cached != null) {
            return Optional.of(cached);
        }
        WorkspaceMapping m = WorkspaceMapping.of(session);
        if (m == null || !isValidName(m.name())) {
            return Optional.empty();
        }
        Path dir = root.resolve(m.name());
        try {
            Claim claim = claims.read(m.name());
            if (claim == null || !claim.name().equals(m.name()) || !claim.token().equals(m.token())
                    || !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                return Optional.empty();
            }
            DirectoryWorkspace fresh = DirectoryWorkspace.existing(m.name(), dir, m.token(), maxBytes, maxFiles,
                    counters, clock.instant().minus(orphanGracePeriod));
            return Optional.of(claims.open.compute(m.name(),
                    (k, old) -> old != null && old.token().equals(m.token()) ? old : fresh));
        } catch (NoSuchFileException e) {
            return Optional.empty(); // released while we looked
        } catch (IOException e) {
            throw new WorkspaceException("cannot open workspace '" + m.name() + "': " + e, e);
        }
    }

    /**
     * The common case of every request after a session's first: its recorded workspace is open in this
     * process and its directory is still there. One map lookup and one stat, nothing allocated; the name
     * needs no check since only checked or freshly claimed names are ever keys of the open map.
     */
    private DirectoryWorkspace openInProcess(Session session) {
        Map<String, String> attributes = session.attributes();
        String name = attributes.get(NAME_ATTRIBUTE);
        if (name == null) {
            return null;
        }
        DirectoryWorkspace cached = claims.open.get(name);
        if (cached != null && cached.token().equals(attributes.get(TOKEN_ATTRIBUTE))
                && Files.isDirectory(cached.directory(), LinkOption.NOFOLLOW_LINKS)) {
            return cached;
        }
        return null;
    }

    /** A name from a session attribute is trusted only if the pipeline would leave it unchanged. */
    private static boolean isValidName(String name) {
        return !name.isEmpty() && WorkspaceNames.sanitize(name, 255, "-").equals(name);
    }

    private void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException("WorkspaceAllocator is closed");
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
        private ThreadFactory threadFactory;

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

        /**
         * Where the sweeper thread comes from (default: a platform daemon thread named
         * {@code usher-workspace-sweeper}); pass the host's factory for virtual threads, naming or MDC.
         */
        public Builder threadFactory(ThreadFactory factory) {
            this.threadFactory = Objects.requireNonNull(factory, "threadFactory");
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
