package dev.usher.gate.workspace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Generated hostile paths against a real workspace seeded with symlinks (to outside, to inside, to the
 * parent, dangling) and a regular file: whatever is accepted resolves inside, writes land inside, and
 * nothing outside ever changes.
 */
class HostilePathPropertyTest {
    private static Path tmp;
    private static Path outside;
    private static SessionManager sessions;
    private static WorkspaceAllocator allocator;
    private static Workspace ws;

    @BeforeContainer
    static void setUp() throws IOException {
        tmp = Files.createTempDirectory("usher-hostile");
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret.txt"), "secret");
        sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
        allocator = WorkspaceAllocator.builder(tmp.resolve("root"), sessions).sweepInterval(Duration.ZERO)
                .maxFiles(1_000_000).build();
        ws = allocator.workspaceFor(sessions.create(null, Map.of()), "hostile");
        Path dir = ws.directory();
        Files.createDirectories(dir.resolve("sub/deep"));
        Files.writeString(dir.resolve("file"), "x");
        Files.createSymbolicLink(dir.resolve("out"), outside);
        Files.createSymbolicLink(dir.resolve("in"), Path.of("sub"));
        Files.createSymbolicLink(dir.resolve("up"), Path.of(".."));
        Files.createSymbolicLink(dir.resolve("sub/back"), Path.of("../.."));
        Files.createSymbolicLink(dir.resolve("dangling"), outside.resolve("missing"));
    }

    @AfterContainer
    static void tearDown() throws IOException {
        allocator.close();
        sessions.close();
        DurableFiles.deleteTree(tmp);
    }

    @Provide
    Arbitrary<String> hostilePaths() {
        Arbitrary<String> atom = Arbitraries.oneOf(
                Arbitraries.of("..", ".", "", "...", " .. ", "..\u0020", "%2e%2e", "%2e%2e%2f", "..%2f", "%252e%252e",
                        "..%c0%af", "%c0%ae%c0%ae", "%00", "\uFF0E\uFF0E", "\uFF0E", "\uFF0F", "\uFF3C", "\u2024\u2024",
                        "\u2025", "\u2215", "\u2044", "\u29F8", "\uFE52\uFE52", "C:", "c:", "Z:\\", "\\\\?\\",
                        "\\\\server\\share", "~", "$HOME", "con", "NUL", "com1.txt", ".usher", ".usher-tmp-1",
                        "out", "in", "up", "back", "sub", "deep", "file", "dangling", "보고서", "\uD83D\uDC4D\uD83C\uDFFF",
                        "e\u0301", "\u202E", "\u0000", "\n", "\r", "\t", "\u0085", "\u001B", "\uD800", "\uDC00x"),
                Arbitraries.strings().ofMinLength(1).ofMaxLength(12),
                Arbitraries.strings().withChars('.', '/', '\\', ':', '%', '\u0000', '\uFF0E', '\uFF0F').ofMaxLength(10),
                Arbitraries.strings().alpha().ofMinLength(240).ofMaxLength(300));
        Arbitrary<String> separator = Arbitraries.of("/", "\\", "//", "\\\\", "/./", "\\.\\", "/../", "\\..\\");
        Arbitrary<String> prefix = Arbitraries.of("", "", "", "/", "\\", "C:", "C:\\", "//srv/share/", "\\\\srv\\share\\",
                "../", "..\\", "./", "sub/../../", "file:");
        Arbitrary<String> body = Combinators.combine(atom, separator).as((a, s) -> a + s).list().ofMaxSize(10)
                .map(parts -> String.join("", parts));
        return Combinators.combine(prefix, body, atom).as((p, b, last) -> p + b + last);
    }

    @Property(tries = 1000)
    void everyAcceptedPathResolvesInsideTheWorkspace(@ForAll("hostilePaths") String userPath) throws IOException {
        Path resolved;
        try {
            resolved = ws.resolve(userPath);
        } catch (UnsafePathException e) {
            assertThat(e.userPath()).isEqualTo(userPath);
            Statistics.collect("refused");
            return;
        }
        Statistics.collect("accepted");
        assertThat(resolved.startsWith(ws.directory())).as("%s inside %s", resolved, ws.directory()).isTrue();
        assertThat(resolved.normalize()).isEqualTo(resolved);
        Path existing = resolved;
        while (!Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        assertThat(existing.toRealPath().startsWith(ws.directory())).as("real path of %s", existing).isTrue();
    }

    @Property(tries = 250)
    void writesLandInsideAndNothingOutsideChanges(@ForAll("hostilePaths") String userPath) throws IOException {
        try {
            ws.write(userPath, new byte[] {42});
            Path target = ws.resolve(userPath);
            assertThat(target.startsWith(ws.directory())).isTrue();
            assertThat(Files.readAllBytes(target)).containsExactly(42);
        } catch (UnsafePathException e) {
            assertThat(e.userPath()).isEqualTo(userPath);
        } catch (WorkspaceException e) {
            // Refused by the file system for an inside path: e.g. a regular file used as a directory.
            assertThat(e).isNotInstanceOf(QuotaExceededException.class);
        }
        try (Stream<Path> s = Files.walk(outside)) {
            assertThat(s.toList()).containsExactlyInAnyOrder(outside, outside.resolve("secret.txt"));
        }
        assertThat(outside.resolve("secret.txt")).hasContent("secret");
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactlyInAnyOrder("outside", "root");
        }
    }

    @Property(tries = 300)
    void climbingAboveTheWorkspaceIsAlwaysRefused(
            @ForAll("names") List<String> names,
            @ForAll @IntRange(min = 1, max = 4) int extra,
            @ForAll("separators") List<String> seps) {
        StringBuilder p = new StringBuilder();
        int i = 0;
        for (String n : names) {
            p.append(n).append(seps.get(i++ % seps.size()));
        }
        for (int up = 0; up < names.size() + extra; up++) {
            p.append("..").append(seps.get(i++ % seps.size()));
        }
        p.append("target");
        String userPath = p.toString();
        assertThatThrownBy(() -> ws.resolve(userPath)).isInstanceOf(UnsafePathException.class)
                .hasMessageContaining("'..' leaves the workspace");
    }

    @Provide
    Arbitrary<List<String>> names() {
        return Arbitraries.oneOf(Arbitraries.strings().alpha().numeric().ofMinLength(1).ofMaxLength(8),
                Arbitraries.of("sub", "in", "deep", "보고서", "%2e%2e", "\uFF0E\uFF0E")).list().ofMaxSize(6);
    }

    @Provide
    Arbitrary<List<String>> separators() {
        return Arbitraries.of("/", "\\", "//", "/./", "\\.\\").list().ofMinSize(1).ofMaxSize(5);
    }
}
