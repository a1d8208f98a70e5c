package dev.usher.gate.workspace;

import dev.usher.session.SessionManager;
import dev.usher.session.memory.InMemorySessionStore;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The other JVM of the multi-process tests. Prints {@code ready}, waits for a line on stdin, then:
 * <ul>
 *   <li>{@code allocate ROOT NAME COUNT}: allocates COUNT workspaces named NAME on 8 threads, printing
 *       {@code dir <name>} for each, then {@code done};</li>
 *   <li>{@code rewrite ROOT SIZE}: rewrites {@code data.bin} with uniform content (versions 1 to 255),
 *       printing {@code committed <version>} after each write, until it is killed.</li>
 * </ul>
 */
public final class SecondProcess {
    private SecondProcess() {
    }

    /** Launches this class in a new JVM with the test classpath. */
    static Process launch(String... args) throws java.io.IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                "-Xmx128m", "-XX:TieredStopAtLevel=1",
                SecondProcess.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try (SessionManager sessions = SessionManager.builder(new InMemorySessionStore()).sweepInterval(Duration.ZERO).build();
             WorkspaceAllocator allocator = WorkspaceAllocator.builder(Path.of(args[1]), sessions)
                     .sweepInterval(Duration.ZERO).releaseWhenSessionEnds(false).build()) {
            if (args[0].equals("allocate")) {
                int count = Integer.parseInt(args[3]);
                List<dev.usher.session.Session> own = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    own.add(sessions.create(null, Map.of()));
                }
                out.println("ready");
                in.readLine();
                ExecutorService pool = Executors.newFixedThreadPool(8);
                List<Future<String>> names = new ArrayList<>();
                for (dev.usher.session.Session s : own) {
                    names.add(pool.submit(() -> allocator.workspaceFor(s, args[2]).name()));
                }
                for (Future<String> f : names) {
                    out.println("dir " + f.get());
                }
                pool.shutdown();
                out.println("done");
            } else {
                int size = Integer.parseInt(args[2]);
                Workspace ws = allocator.workspaceFor(sessions.create(null, Map.of()), "crash");
                out.println("ready " + ws.directory());
                in.readLine();
                // Versions fit in one unsigned byte; past the last one the process just waits to be killed.
                for (int version = 1; version <= 255; version++) {
                    byte[] content = new byte[size];
                    java.util.Arrays.fill(content, (byte) version);
                    ws.write("data.bin", content);
                    out.println("committed " + version);
                }
                in.readLine();
            }
        }
    }
}
