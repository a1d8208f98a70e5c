package dev.usher.gate.workspace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Path safety against the real file system, with real symlinks planted in the workspace. */
class WorkspacePathsTest {
    @TempDir
    Path tmp;
    Path outside;
    SessionManager sessions;
    WorkspaceAllocator allocator;
    Workspace ws;

    @BeforeEach
    void setUp() throws IOException {
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret.txt"), "secret");
        sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
        allocator = WorkspaceAllocator.builder(tmp.resolve("root"), sessions).sweepInterval(Duration.ZERO).build();
        ws = allocator.workspaceFor(sessions.create(null, Map.of()), "paths");
    }

    @AfterEach
    void tearDown() {
        allocator.close();
        sessions.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "/etc/passwd", "\\etc\\passwd", "//server/share/x", "\\\\server\\share\\x", "\\\\?\\C:\\x",
            "C:", "C:\\Windows", "c:/windows", "a/D:/x", "..", "../x", "a/../../x", "a/b/../../../x",
            "..\\..\\x", "a\\..\\..\\x", "./../x", "x/./../..", "a\u0000b", "a\nb", "\u0000", "a\u001Fb",
            "a\u007Fb", "a\u0085b", ".usher-tmp-123", "a/.usher-tmp-x"})
    void refused(String userPath) {
        assertThatThrownBy(() -> ws.resolve(userPath)).isInstanceOf(UnsafePathException.class)
                .satisfies(e -> assertThat(((UnsafePathException) e).userPath()).isEqualTo(userPath));
        assertThatThrownBy(() -> ws.write(userPath, new byte[1])).isInstanceOf(UnsafePathException.class);
        assertThatThrownBy(() -> ws.read(userPath)).isInstanceOf(UnsafePathException.class);
        assertThatThrownBy(() -> ws.delete(userPath)).isInstanceOf(UnsafePathException.class);
        assertThat(ws.usage().entries()).isZero();
    }

    @Test
    void theMessageNamesTheInputSafelyAndTheReason() {
        assertThatThrownBy(() -> ws.resolve("a/\u0000/../../etc"))
                .hasMessage("unsafe path 'a/\\u0000/../../etc': control character U+0000 at index 2");
        assertThatThrownBy(() -> ws.resolve("a/../../etc")).hasMessage("unsafe path 'a/../../etc': '..' leaves the workspace");
        assertThatThrownBy(() -> ws.resolve("x".repeat(256))).hasMessageContaining("longer than 255 UTF-8 bytes");
        assertThatThrownBy(() -> ws.resolve("a/".repeat(2100))).hasMessageContaining("longer than 4096 UTF-8 bytes");
        assertThat(allocator.stats().unsafePaths()).isEqualTo(4);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "a/b/c.txt|a/b/c.txt",
            "a\\b\\c.txt|a/b/c.txt",
            "./a//b/./c.txt|a/b/c.txt",
            "a/x/../b/c.txt|a/b/c.txt",
            "%2e%2e/%2e%2e/etc|%2e%2e/%2e%2e/etc",
            "..%2f..%2fetc|..%2f..%2fetc",
            "\uFF0E\uFF0E\uFF0F\uFF0E\uFF0E\uFF0Fetc|\uFF0E\uFF0E\uFF0F\uFF0E\uFF0E\uFF0Fetc",
            "\u2024\u2024/x|\u2024\u2024/x",
            "...|...",
            "~/x|~/x",
            "notes 10:30.txt|notes 10:30.txt",
            "Cafe\u0301.txt|Caf\u00e9.txt",
    })
    void acceptedPathsStayInsideAndLookAlikesAreLiteralNames(String userPath, String expected) throws IOException {
        Path resolved = ws.resolve(userPath);
        assertThat(resolved).isEqualTo(ws.directory().resolve(expected));
        ws.write(userPath, "ok".getBytes(StandardCharsets.UTF_8));
        assertThat(ws.directory().resolve(expected)).hasContent("ok");
        assertThat(outside).isDirectoryContaining(p -> p.getFileName().toString().equals("secret.txt"));
        try (var s = Files.list(outside)) {
            assertThat(s.count()).isEqualTo(1);
        }
    }

    @Test
    void aSymlinkToOutsideIsRefusedWhereverItIsOnThePath() throws IOException {
        Files.createSymbolicLink(ws.directory().resolve("out"), outside);
        Files.createDirectories(ws.directory().resolve("sub"));
        Files.createSymbolicLink(ws.directory().resolve("sub/deeper"), outside.resolve("secret.txt"));
        Files.createSymbolicLink(ws.directory().resolve("up"), Path.of(".."));

        for (String p : new String[] {"out", "out/secret.txt", "out/new.txt", "out/new/dir/file", "sub/deeper",
                "up", "up/up/outside/secret.txt", "sub/../out/secret.txt"}) {
            assertThatThrownBy(() -> ws.resolve(p)).as(p).isInstanceOf(UnsafePathException.class)
                    .hasMessageContaining("leads outside the workspace");
            assertThatThrownBy(() -> ws.read(p)).as(p).isInstanceOf(UnsafePathException.class);
            assertThatThrownBy(() -> ws.list(p)).as(p).isInstanceOf(UnsafePathException.class);
        }
        assertThatThrownBy(() -> ws.write("out/new.txt", new byte[1])).isInstanceOf(UnsafePathException.class);
        assertThatThrownBy(() -> ws.write("out/secret.txt", new byte[1])).isInstanceOf(UnsafePathException.class);
        assertThat(outside.resolve("secret.txt")).hasContent("secret");
        assertThat(outside.resolve("new.txt")).doesNotExist();
    }

    @Test
    void aSymlinkLeafIsReplacedByWriteAndRemovedByDeleteNeverFollowed() throws IOException {
        Path link = ws.directory().resolve("leaf");
        Files.createSymbolicLink(link, outside.resolve("secret.txt"));

        ws.write("leaf", "mine".getBytes(StandardCharsets.UTF_8));
        assertThat(Files.isSymbolicLink(link)).isFalse();
        assertThat(link).hasContent("mine");
        assertThat(outside.resolve("secret.txt")).hasContent("secret");

        Files.delete(link);
        Files.createSymbolicLink(link, outside.resolve("secret.txt"));
        assertThat(ws.delete("leaf")).isTrue();
        assertThat(Files.exists(link, LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(outside.resolve("secret.txt")).hasContent("secret");
    }

    @Test
    void symlinksThatStayInsideWork() throws IOException {
        ws.write("real/data.txt", "data".getBytes(StandardCharsets.UTF_8));
        Files.createSymbolicLink(ws.directory().resolve("alias"), Path.of("real"));
        Files.createSymbolicLink(ws.directory().resolve("file-alias"), Path.of("real/data.txt"));

        assertThat(ws.resolve("alias/data.txt")).isEqualTo(ws.directory().resolve("real/data.txt"));
        assertThat(ws.read("alias/data.txt")).asString(StandardCharsets.UTF_8).isEqualTo("data");
        assertThat(ws.read("file-alias")).asString(StandardCharsets.UTF_8).isEqualTo("data");
        assertThat(ws.list("")).containsExactly("alias", "file-alias", "real/");
    }

    /** What Workspace.read's javadoc and the README state: inside links are followed, escaping ones refused. */
    @Test
    void readFollowsLinksThatStayInsideAndRefusesLinksThatEscape() throws IOException {
        ws.write("docs/real.txt", "inside".getBytes(StandardCharsets.UTF_8));
        Files.createSymbolicLink(ws.directory().resolve("leaf-inside"), Path.of("docs/real.txt"));
        Files.createSymbolicLink(ws.directory().resolve("leaf-outside"), outside.resolve("secret.txt"));
        // A chain: an inside link to a link that escapes.
        Files.createSymbolicLink(ws.directory().resolve("hop"), Path.of("leaf-outside"));
        Files.createSymbolicLink(ws.directory().resolve("dir-inside"), Path.of("docs"));

        assertThat(ws.read("leaf-inside")).asString(StandardCharsets.UTF_8).isEqualTo("inside");
        assertThat(ws.read("dir-inside/real.txt")).asString(StandardCharsets.UTF_8).isEqualTo("inside");
        assertThat(ws.exists("leaf-inside")).isTrue();
        for (String escaping : new String[] {"leaf-outside", "hop"}) {
            assertThatThrownBy(() -> ws.read(escaping)).as(escaping).isInstanceOf(UnsafePathException.class)
                    .hasMessageContaining("leads outside the workspace");
            assertThatThrownBy(() -> ws.exists(escaping)).as(escaping).isInstanceOf(UnsafePathException.class);
        }
        assertThat(outside.resolve("secret.txt")).hasContent("secret");
    }

    @Test
    void aDanglingSymlinkIsRefusedBecauseItsTargetCannotBeChecked() throws IOException {
        Files.createSymbolicLink(ws.directory().resolve("dangling"), outside.resolve("not-yet"));
        assertThatThrownBy(() -> ws.resolve("dangling/x")).isInstanceOf(UnsafePathException.class)
                .hasMessageContaining("points to nothing");
        assertThatThrownBy(() -> ws.write("dangling/x", new byte[1])).isInstanceOf(UnsafePathException.class);
        assertThat(outside.resolve("not-yet")).doesNotExist();
    }

    @Test
    void aWorkspaceDirectorySwappedForASymlinkIsNoWayOut() throws IOException {
        Path dir = ws.directory();
        DurableFiles.deleteTree(dir);
        Files.createSymbolicLink(dir, outside);
        assertThatThrownBy(() -> ws.read("secret.txt")).isInstanceOf(UnsafePathException.class);
        assertThatThrownBy(() -> ws.write("x.txt", new byte[1])).isInstanceOf(UnsafePathException.class);
        assertThat(outside.resolve("x.txt")).doesNotExist();
    }

    @Test
    void readListExistsAndDelete() {
        ws.write("a/one.txt", new byte[] {1});
        ws.write("a/two.txt", new byte[] {2, 2});
        ws.write("b.txt", new byte[0]);
        assertThat(ws.list("")).containsExactly("a/", "b.txt");
        assertThat(ws.list("a")).containsExactly("one.txt", "two.txt");
        assertThat(ws.exists("a/one.txt")).isTrue();
        assertThat(ws.exists("a/nope")).isFalse();
        assertThat(ws.read("a/two.txt")).containsExactly(2, 2);
        assertThatThrownBy(() -> ws.read("a/nope")).isInstanceOf(WorkspaceException.class).hasMessageContaining("no file");
        assertThatThrownBy(() -> ws.delete("a")).hasMessageContaining("not empty");
        assertThatThrownBy(() -> ws.delete("")).isInstanceOf(UnsafePathException.class);
        assertThat(ws.delete("a/one.txt")).isTrue();
        assertThat(ws.delete("a/one.txt")).isFalse();
        assertThat(ws.delete("a/two.txt")).isTrue();
        assertThat(ws.delete("a")).isTrue();
        assertThat(ws.list(".")).containsExactly("b.txt");
        assertThat(ws.usage().entries()).isEqualTo(1);
        assertThat(ws.usage().bytes()).isZero();
    }
}
