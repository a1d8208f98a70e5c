package dev.usher.session;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

/**
 * Another JVM process with a {@link SessionManager} over a store of the same data, as another host instance
 * would have: cross-process tests start two or more and steer them through stdin. Published in the test-jar.
 *
 * <p>The child prints {@code ready}, then runs one command per stdin line and prints {@code done} after it:
 * <ul>
 *   <li>{@code create <owner> <limit> <REJECT|END_OLDEST> <threads>}: that many threads create a session for
 *       the owner at once; prints {@code granted <id>} or {@code rejected} per thread and {@code deleted <id>}
 *       per session the limit ended;</li>
 *   <li>{@code sweep <batch size> <millis per event>}: sweeps until nothing is left, printing
 *       {@code expired <id>} as each EXPIRED event is delivered (after a pause, to be slow enough to kill).</li>
 *   <li>{@code increment <id> <threads> <per thread>}: that many threads add one to the session's
 *       {@link #COUNTER}, each update printing {@code inc} once the store has acknowledged it. Even threads
 *       update by id (read, then compare-and-set); odd ones touch the session and update the session in
 *       hand, as the gate does (one compare-and-set, read again only on a conflict).</li>
 * </ul>
 */
public final class SessionProcess implements AutoCloseable {
    /** The attribute {@code increment} adds to. */
    public static final SessionAttribute<Integer> COUNTER = SessionAttribute.ofInt("counter");

    /** Opens the child's store from the arguments after the factory's class name; needs a public no-arg constructor. */
    public interface StoreFactory {
        SessionStore open(List<String> args);
    }

    private final Process process;
    private final Writer stdin;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> all = new ArrayList<>();

    private SessionProcess(Process process) {
        this.process = process;
        this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException e) {
                lines.add("io-error " + e);
            }
            lines.add("eof");
        }, "session-process-reader");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts a child on this JVM's class path, its stderr in {@code errFile}, and waits for {@code ready}. */
    public static SessionProcess start(Class<? extends StoreFactory> factory, Path errFile, String... factoryArgs)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), SessionProcess.class.getName(), factory.getName()));
        command.addAll(List.of(factoryArgs));
        Process p = new ProcessBuilder(command).redirectError(errFile.toFile()).start();
        SessionProcess child = new SessionProcess(p);
        child.await(l -> l.equals("ready"), Duration.ofMinutes(2));
        return child;
    }

    /** Sends one command line. */
    public void send(String command) throws IOException {
        stdin.write(command + "\n");
        stdin.flush();
    }

    /**
     * Every line up to and including the first that matches, also kept for {@link #linesSoFar()}. Fails on
     * timeout or when the child exits first (see its stderr file).
     */
    public List<String> await(Predicate<String> until, Duration timeout) throws InterruptedException {
        List<String> got = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            String line = lines.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new AssertionError("child did not print the awaited line within " + timeout + "; last lines: "
                        + got.subList(Math.max(0, got.size() - 5), got.size()));
            }
            if (line.equals("eof")) {
                lines.add(line);
                throw new AssertionError("child exited before the awaited line; last lines: "
                        + got.subList(Math.max(0, got.size() - 5), got.size()));
            }
            got.add(line);
            all.add(line);
            if (until.test(line)) {
                return got;
            }
        }
    }

    /** Kills the child with SIGKILL (no shutdown hook runs) and returns every line it printed before dying. */
    public List<String> killDashNine() throws InterruptedException {
        // Through the handle: Process.destroyForcibly would also close the pipe that still holds output.
        process.toHandle().destroyForcibly();
        process.waitFor(1, TimeUnit.MINUTES);
        while (true) {
            String line = lines.poll(1, TimeUnit.MINUTES);
            if (line == null || line.equals("eof")) {
                return new ArrayList<>(all);
            }
            all.add(line);
        }
    }

    /** Every line received so far through {@link #await}. */
    public List<String> linesSoFar() {
        return new ArrayList<>(all);
    }

    public int exitCode() {
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(1, TimeUnit.MINUTES);
    }

    // ---- the child --------------------------------------------------------------------------------

    public static void main(String[] args) throws Exception {
        StoreFactory factory = (StoreFactory) Class.forName(args[0]).getConstructor().newInstance();
        SessionStore store = factory.open(List.of(args).subList(1, args.length));
        PrintStream out = System.out;
        out.println("ready");
        out.flush();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.split(" ");
            switch (w[0]) {
                case "create" -> create(store, out, w[1], Integer.parseInt(w[2]), OwnerLimitPolicy.valueOf(w[3]),
                        Integer.parseInt(w[4]));
                case "sweep" -> sweep(store, out, Integer.parseInt(w[1]), Long.parseLong(w[2]));
                case "increment" -> increment(store, out, w[1], Integer.parseInt(w[2]), Integer.parseInt(w[3]));
                default -> throw new IllegalArgumentException("unknown command " + line);
            }
            out.println("done");
            out.flush();
        }
        store.close();
    }

    private static void create(SessionStore store, PrintStream out, String owner, int limit, OwnerLimitPolicy policy,
                               int threads) throws Exception {
        try (SessionManager m = SessionManager.builder(notClosing(store)).sweepInterval(Duration.ZERO)
                .maxSessionsPerOwner(limit, policy).build()) {
            m.addListener(new SessionListener() {
                @Override
                public void ended(Session session, EndReason reason) {
                    out.println("deleted " + session.id());
                }
            });
            Concurrently.run(threads, t -> {
                try {
                    out.println("granted " + m.create(owner, Map.of("t", "" + t)).id());
                } catch (SessionLimitException e) {
                    out.println("rejected");
                }
            });
        }
    }

    private static void sweep(SessionStore store, PrintStream out, int batch, long millisPerEvent) {
        try (SessionManager m = SessionManager.builder(notClosing(store)).sweepInterval(Duration.ZERO)
                .sweepBatchSize(batch).build()) {
            m.addListener(new SessionListener() {
                @Override
                public void ended(Session session, EndReason reason) {
                    out.println("expired " + session.id());
                    out.flush();
                    try {
                        Thread.sleep(millisPerEvent);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            while (m.sweep() > 0) {
                Thread.onSpinWait();
            }
        }
    }

    private static void increment(SessionStore store, PrintStream out, String id, int threads, int perThread)
            throws Exception {
        // Patient: across processes only the compare-and-set arbitrates, and a busy peer may win many rounds.
        try (SessionManager m = SessionManager.builder(notClosing(store)).sweepInterval(Duration.ZERO)
                .maxUpdateAttempts(100_000).build()) {
            UnaryOperator<Session> addOne = s -> s.withAttribute(COUNTER, s.attribute(COUNTER).orElse(0) + 1);
            Concurrently.run(threads, t -> {
                for (int i = 0; i < perThread; i++) {
                    Optional<Session> updated = t % 2 == 0
                            ? m.update(id, addOne)
                            : m.update(m.touch(id).orElseThrow(), addOne);
                    updated.orElseThrow();
                    out.println("inc");
                    out.flush();
                }
            });
        }
    }

    private static SessionStore notClosing(SessionStore store) {
        return new ForwardingSessionStore(store) {
            @Override
            public void close() {
                // the child's main closes the store once, at the end
            }
        };
    }
}
