package dev.usher.gate.workspace;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link Workspace} on a local directory. One instance per directory and process (the allocator keeps
 * them), so that its usage counters and lock cover every writer in the process.
 *
 * <p>Layout: this class does the {@link Workspace} operations and their quota accounting under one lock;
 * {@link ContainedPaths} turns a user's path into one inside the directory (symlinks checked), and
 * {@link UsageScan} counts what an existing directory holds.
 */
final class DirectoryWorkspace implements Workspace {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private static final int CHUNK = 64 * 1024;

    private final String name;
    private final Path dir;
    private final String token;
    private final long maxBytes;
    private final long maxFiles;
    private final Counters counters;
    private final ContainedPaths paths;

    /** Guards the usage fields; held for quota checks and the final rename, never while copying data. */
    private final ReentrantLock lock = new ReentrantLock();
    private long bytes;
    private long entries;
    private long reservedBytes;
    private long reservedEntries;
    private volatile boolean released;

    private DirectoryWorkspace(String name, Path dir, String token, long maxBytes, long maxFiles, Counters counters) {
        this.name = name;
        this.dir = dir;
        this.paths = new ContainedPaths(this, name, dir, counters);
        this.token = token;
        this.maxBytes = maxBytes;
        this.maxFiles = maxFiles;
        this.counters = counters;
    }

    /** A freshly created, empty directory. */
    static DirectoryWorkspace fresh(String name, Path dir, String token, long maxBytes, long maxFiles,
            Counters counters) throws IOException {
        return new DirectoryWorkspace(name, dir.toRealPath(), token, maxBytes, maxFiles, counters);
    }

    /**
     * An existing directory: counts what it holds, and removes temporary files older than
     * {@code staleBefore} (left by a crash mid-write; younger ones may belong to a write in progress).
     */
    static DirectoryWorkspace existing(String name, Path dir, String token, long maxBytes, long maxFiles,
            Counters counters, Instant staleBefore) throws IOException {
        DirectoryWorkspace w = new DirectoryWorkspace(name, dir.toRealPath(), token, maxBytes, maxFiles, counters);
        long[] totals = UsageScan.count(w.dir, staleBefore);
        w.bytes = totals[0];
        w.entries = totals[1];
        return w;
    }

    String token() {
        return token;
    }

    /** Called by the allocator when it deletes or archives the directory. */
    void markReleased() {
        released = true;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Path directory() {
        return dir;
    }

    @Override
    public Path resolve(String userPath) {
        return paths.resolve(userPath);
    }

    @Override
    public void write(String userPath, byte[] content) {
        Objects.requireNonNull(content, "content");
        writeInternal(userPath, null, content);
    }

    @Override
    public long write(String userPath, InputStream content) {
        Objects.requireNonNull(content, "content");
        return writeInternal(userPath, content, null);
    }

    private long writeInternal(String userPath, InputStream stream, byte[] content) {
        Path target = paths.leafIn(userPath);
        List<Path> missingDirs = new ArrayList<>();
        for (Path p = target.getParent(); !Files.exists(p, NOFOLLOW); p = p.getParent()) {
            missingDirs.add(0, p);
        }
        long oldSize = sizeIfRegular(target);
        boolean targetExists = Files.exists(target, NOFOLLOW);
        Reservation reservation = new Reservation(userPath, oldSize);
        reservation.reserve(content == null ? 0 : content.length, missingDirs.size() + (targetExists ? 0 : 1));
        List<Path> created = new ArrayList<>();
        Path temp = null;
        boolean committed = false;
        try {
            for (Path d : missingDirs) {
                try {
                    Files.createDirectory(d);
                    created.add(d);
                    DurableFiles.forceDirectory(d.getParent());
                } catch (FileAlreadyExistsException e) {
                    if (!Files.isDirectory(d, NOFOLLOW)) {
                        throw e;
                    }
                }
            }
            temp = DurableFiles.newTempBeside(target);
            long size = 0;
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                if (content != null) {
                    ByteBuffer buffer = ByteBuffer.wrap(content);
                    while (buffer.hasRemaining()) {
                        ch.write(buffer);
                    }
                    size = content.length;
                } else {
                    byte[] chunk = new byte[CHUNK];
                    for (int n; (n = stream.read(chunk)) != -1; ) {
                        reservation.growTo(size + n);
                        ch.write(ByteBuffer.wrap(chunk, 0, n));
                        size += n;
                    }
                }
                ch.force(true);
            }
            commitWrite(userPath, temp, target, size, created.size(), reservation);
            committed = true;
            counters.writes.increment();
            return size;
        } catch (IOException e) {
            throw new WorkspaceException("cannot write '" + UnsafePathException.printable(userPath)
                    + "' in workspace '" + name + "': " + e, e);
        } finally {
            reservation.close();
            if (!committed) {
                undo(temp, created);
            }
        }
    }

    /** The rename that makes a write visible, with the definitive quota check, under the lock. */
    private void commitWrite(String userPath, Path temp, Path target, long size, int createdDirs, Reservation ours)
            throws IOException {
        lock.lock();
        try {
            BasicFileAttributes old = attributesOrNull(target);
            if (old != null && old.isDirectory()) {
                throw new WorkspaceException("cannot write '" + UnsafePathException.printable(userPath)
                        + "' in workspace '" + name + "': it is a directory");
            }
            long oldSize = old != null && old.isRegularFile() ? old.size() : 0;
            long bytesAfter = bytes - oldSize + size;
            long entriesAfter = entries + createdDirs + (old == null ? 1 : 0);
            // Other writers' reservations count too, so that what is committed plus what is promised
            // never exceeds a quota.
            checkQuota(userPath, bytesAfter + reservedBytes - ours.heldBytes,
                    entriesAfter + reservedEntries - ours.heldEntries, size);
            DurableFiles.commit(temp, target);
            bytes = bytesAfter;
            entries = entriesAfter;
            // In the same step, or for a moment the write would count twice and refuse another writer.
            ours.close();
        } finally {
            lock.unlock();
        }
    }

    private void undo(Path temp, List<Path> created) {
        try {
            if (temp != null) {
                Files.deleteIfExists(temp);
            }
        } catch (IOException e) {
            // Left for the stale-temp cleanup when the workspace is next opened.
        }
        Collections.reverse(created);
        for (Path d : created) {
            try {
                Files.deleteIfExists(d);
            } catch (DirectoryNotEmptyException e) {
                // Another writer put something in it meanwhile: it stays, so it counts.
                lock.lock();
                try {
                    entries++;
                } finally {
                    lock.unlock();
                }
            } catch (IOException e) {
                // An empty directory left behind is harmless.
            }
        }
    }

    @Override
    public byte[] read(String userPath) {
        Path target = resolve(userPath);
        try (InputStream in = Files.newInputStream(target, NOFOLLOW)) {
            return in.readAllBytes();
        } catch (NoSuchFileException e) {
            throw new WorkspaceException("no file '" + UnsafePathException.printable(userPath)
                    + "' in workspace '" + name + "'", e);
        } catch (IOException e) {
            throw new WorkspaceException("cannot read '" + UnsafePathException.printable(userPath)
                    + "' in workspace '" + name + "': " + e, e);
        }
    }

    @Override
    public boolean exists(String userPath) {
        return Files.exists(resolve(userPath), NOFOLLOW);
    }

    @Override
    public List<String> list(String userPath) {
        Path target = resolve(userPath);
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(target)) {
            for (Path p : entries) {
                String n = p.getFileName().toString();
                if (!n.startsWith(UserPaths.TEMP_PREFIX)) {
                    names.add(Files.isDirectory(p, NOFOLLOW) ? n + "/" : n);
                }
            }
        } catch (IOException e) {
            throw new WorkspaceException("cannot list '" + UnsafePathException.printable(userPath)
                    + "' in workspace '" + name + "': " + e, e);
        }
        Collections.sort(names);
        return names;
    }

    @Override
    public boolean delete(String userPath) {
        Path target = paths.leafIn(userPath);
        Path parent = target.getParent();
        lock.lock();
        try {
            BasicFileAttributes attrs = attributesOrNull(target);
            if (attrs == null) {
                return false;
            }
            Files.delete(target);
            DurableFiles.forceDirectory(parent);
            bytes -= attrs.isRegularFile() ? attrs.size() : 0;
            entries--;
            return true;
        } catch (NoSuchFileException e) {
            return false;
        } catch (DirectoryNotEmptyException e) {
            throw new WorkspaceException("cannot delete '" + UnsafePathException.printable(userPath)
                    + "' in workspace '" + name + "': the directory is not empty", e);
        } catch (IOException e) {
            throw new WorkspaceException("cannot delete '" + UnsafePathException.printable(userPath)
                    + "' in workspace '" + name + "': " + e, e);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public WorkspaceUsage usage() {
        lock.lock();
        try {
            return new WorkspaceUsage(bytes, entries, maxBytes, maxFiles);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "Workspace[" + name + "]";
    }

    private void checkQuota(String userPath, long bytesAfter, long entriesAfter, long writeSize) {
        if (bytesAfter > maxBytes) {
            counters.quotaRejections.increment();
            throw new QuotaExceededException("writing '" + UnsafePathException.printable(userPath) + "' ("
                    + writeSize + " bytes so far) would take workspace '" + name + "' to " + bytesAfter
                    + " bytes, over its quota of maxBytes=" + maxBytes, "maxBytes", maxBytes);
        }
        if (entriesAfter > maxFiles) {
            counters.quotaRejections.increment();
            throw new QuotaExceededException("writing '" + UnsafePathException.printable(userPath)
                    + "' would take workspace '" + name + "' to " + entriesAfter
                    + " files and directories, over its quota of maxFiles=" + maxFiles, "maxFiles", maxFiles);
        }
    }

    private static BasicFileAttributes attributesOrNull(Path p) throws IOException {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, NOFOLLOW);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static long sizeIfRegular(Path p) {
        try {
            BasicFileAttributes a = attributesOrNull(p);
            return a != null && a.isRegularFile() ? a.size() : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    void checkNotReleased() {
        if (released) {
            throw released();
        }
    }

    WorkspaceException released() {
        return new WorkspaceException("workspace '" + name + "' has been released");
    }

    /**
     * Bytes and entries promised to one write in progress, so that concurrent writers cannot together
     * pass a quota. The bytes of the file being replaced are credited: replacing a file with one of the
     * same size needs no room.
     */
    private final class Reservation implements AutoCloseable {
        private final String userPath;
        private final long credit;
        private long heldBytes;
        private long heldEntries;

        Reservation(String userPath, long credit) {
            this.userPath = userPath;
            this.credit = credit;
        }

        void reserve(long size, long newEntries) {
            lock.lock();
            try {
                long needBytes = Math.max(0, size - credit);
                checkQuota(userPath, bytes + reservedBytes + needBytes, entries + reservedEntries + newEntries, size);
                reservedBytes += needBytes;
                reservedEntries += newEntries;
                heldBytes = needBytes;
                heldEntries = newEntries;
            } finally {
                lock.unlock();
            }
        }

        /** Called as a stream's bytes arrive: fails as soon as the total no longer fits. */
        void growTo(long size) {
            long need = Math.max(0, size - credit);
            if (need <= heldBytes) {
                return;
            }
            lock.lock();
            try {
                checkQuota(userPath, bytes + reservedBytes + (need - heldBytes), entries + reservedEntries, size);
                reservedBytes += need - heldBytes;
                heldBytes = need;
            } finally {
                lock.unlock();
            }
        }

        /** Returns what is still held; idempotent. */
        @Override
        public void close() {
            lock.lock();
            try {
                reservedBytes -= heldBytes;
                reservedEntries -= heldEntries;
                heldBytes = 0;
                heldEntries = 0;
            } finally {
                lock.unlock();
            }
        }
    }
}
