package dev.usher.gate.workspace;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;

/**
 * One session's directory, and the only safe way to touch files in it by paths a user supplied.
 *
 * <p>Thread-safe; obtained from {@link WorkspaceAllocator#workspaceFor}, owned by the allocator (there
 * is nothing to close). Every method blocks on file-system I/O and holds no monitor while doing so, so
 * it is fine on virtual threads. Writers to one workspace share a per-workspace lock only for the final
 * rename; data is copied outside it.
 *
 * <p><b>User paths</b> are relative, use {@code /} or {@code \} as separators, and must stay inside the
 * workspace: absolute paths, drive letters ({@code C:}), UNC paths, {@code ..} above the workspace,
 * control characters (NUL included), names over 255 UTF-8 bytes, and paths through a symlink whose
 * target is outside (or missing) are refused with {@link UnsafePathException}. Symlinks whose real target
 * stays inside are followed by {@link #resolve}, {@link #read}, {@link #exists} and {@link #list};
 * {@link #write} and {@link #delete} act on the last name itself, so a symlink there is replaced or
 * removed, never followed. {@code ..} inside the workspace is
 * resolved by name ({@code a/../b} is {@code b}), never by the file system. {@code ""} and {@code "."}
 * name the workspace directory itself (for {@link #list}).
 *
 * <p><b>Quotas</b> ({@link WorkspaceUsage}) count the bytes of regular files and the number of files
 * and directories. They are counted once when this process first opens the workspace and then kept up
 * to date by this process's writes and deletes; files that other code puts in the directory directly
 * are seen the next time a process opens it.
 */
public interface Workspace {

    /** The directory's name under the allocator's root, e.g. {@code 보고서_2}. */
    String name();

    /** The directory, as a real path (no symlinks). */
    Path directory();

    /**
     * The real path inside the workspace that {@code userPath} names; it need not exist yet.
     *
     * @throws UnsafePathException if the path is refused (see the class documentation)
     */
    Path resolve(String userPath);

    /**
     * Replaces the file at {@code userPath} with {@code content}, atomically and durably: after a crash
     * the file holds the old content or the new, never a mix. Missing parent directories are created.
     * A symlink at {@code userPath} is replaced by the file, never written through.
     *
     * @throws QuotaExceededException if the result would exceed a quota; nothing is written
     * @throws UnsafePathException    if the path is refused, or names the workspace directory itself
     */
    void write(String userPath, byte[] content);

    /**
     * Like {@link #write(String, byte[])} with the content read from {@code content} to its end (the
     * caller keeps ownership of the stream and closes it). The bytes go to a temporary file, counted
     * against the quota as they arrive, so an oversized stream is stopped as soon as it passes the limit.
     *
     * @return the number of bytes written
     */
    long write(String userPath, InputStream content);

    /**
     * The content of the regular file at {@code userPath}. Symlinks on the way and at {@code userPath} are
     * followed when their real target stays inside the workspace (the file read is that target); a link
     * whose target is outside, or missing, is refused and nothing outside is ever read.
     *
     * @throws UnsafePathException if the path is refused, a symlink on it or at it included
     * @throws WorkspaceException  if there is no such regular file
     */
    byte[] read(String userPath);

    /**
     * True if a file or directory exists at {@code userPath}; symlinks are followed as by {@link #read}.
     *
     * @throws UnsafePathException if the path is refused, a symlink on it or at it included
     */
    boolean exists(String userPath);

    /**
     * The names in the directory at {@code userPath}, sorted; directories end with {@code /}. Symlinks are
     * followed as by {@link #read}; a symlink in the listing is listed under its own name.
     *
     * @throws WorkspaceException if there is no such directory
     */
    List<String> list(String userPath);

    /**
     * Deletes the file, symlink (never its target) or empty directory at {@code userPath}.
     *
     * @return false if there was nothing there
     * @throws WorkspaceException if it is a directory that is not empty
     */
    boolean delete(String userPath);

    /** What the workspace holds against its quotas. */
    WorkspaceUsage usage();
}
