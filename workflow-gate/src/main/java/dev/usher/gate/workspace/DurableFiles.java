package dev.usher.gate.workspace;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.HexFormat;

/** File-system steps that survive a crash: atomic replacement, fsync of files and directories. Stateless. */
final class DurableFiles {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final boolean WINDOWS = System.getProperty("os.name", "").startsWith("Windows");

    private DurableFiles() {
    }

    /** 128 random bits in hex. */
    static String randomToken() {
        byte[] bytes = new byte[16];
        RANDOM.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    /** A fresh temporary file beside {@code target}; created exclusively, so never someone else's. */
    static Path newTempBeside(Path target) throws IOException {
        Path temp = target.resolveSibling(UserPaths.TEMP_PREFIX + randomToken());
        Files.createFile(temp);
        return temp;
    }

    /**
     * Replaces {@code target} with {@code temp} (already forced to disk) by an atomic rename, then forces
     * the directory so that the rename itself survives a crash.
     */
    static void commit(Path temp, Path target) throws IOException {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        forceDirectory(target.getParent());
    }

    /** Writes {@code content} to {@code target} atomically and durably. */
    static void writeAtomically(Path target, byte[] content) throws IOException {
        Path temp = newTempBeside(target);
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(content));
                ch.force(true);
            }
            commit(temp, target);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** fsync of a directory: makes creations, renames and deletions in it durable. */
    static void forceDirectory(Path dir) throws IOException {
        if (WINDOWS) {
            return; // NTFS journals metadata, and a directory cannot be opened as a channel there
        }
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** Deletes a tree without following symlinks (a link is removed, never its target). Absent is fine. */
    static void deleteTree(Path top) throws IOException {
        try {
            Files.walkFileTree(top, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    if (e instanceof NoSuchFileException) {
                        return FileVisitResult.CONTINUE;
                    }
                    throw e;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                    if (e != null && !(e instanceof NoSuchFileException)) {
                        throw e;
                    }
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (NoSuchFileException e) {
            // Already gone, e.g. deleted by another instance's sweep.
        }
    }
}
