package dev.usher.gate.workspace;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;

/**
 * Counts what an existing workspace directory holds, when a process opens it for the first time, and
 * removes the temporary files a crash left mid-write. Stateless.
 */
final class UsageScan {
    private UsageScan() {
    }

    /**
     * Bytes of regular files and entries (files and directories below {@code top}) it holds; temporary
     * files older than {@code staleBefore} are deleted and not counted, younger ones (a write in progress)
     * are left alone and not counted either.
     *
     * @return {bytes, entries}
     */
    static long[] count(Path top, Instant staleBefore) throws IOException {
        long[] totals = new long[2];
        Files.walkFileTree(top, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                if (!d.equals(top)) {
                    totals[1]++;
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (file.getFileName().toString().startsWith(UserPaths.TEMP_PREFIX)) {
                    if (attrs.lastModifiedTime().toInstant().isBefore(staleBefore)) {
                        Files.deleteIfExists(file);
                    }
                    return FileVisitResult.CONTINUE;
                }
                totals[1]++;
                if (attrs.isRegularFile()) {
                    totals[0] += attrs.size();
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE; // deleted while we walked
                }
                throw e;
            }
        });
        return totals;
    }
}
