package dev.usher.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guarantees across host processes, each with its own store instance over the same data: separate JVMs
 * ({@link SessionProcess}) racing on one owner's limit and on one session's updates, an updater and a
 * sweeper killed with SIGKILL in the middle of their work. A
 * backend that is shared by several processes subclasses it with a factory for the child's store.
 */
public abstract class CrossProcessContract {
    /**
     * Short, so the test waits little for the takeover; far longer than a live survivor needs between claiming
     * a batch and acknowledging it, even on a loaded machine (a survivor that took longer would see its batch
     * taken over and delivered twice, which this test would report).
     */
    protected static final Duration CLAIM_TIMEOUT = Duration.ofSeconds(8);

    @TempDir
    protected Path dir;

    /** The factory class the child processes open their store with. */
    protected abstract Class<? extends SessionProcess.StoreFactory> factory();

    /** The factory's arguments for a store of this test's data with the given claim timeout. */
    protected abstract String[] factoryArgs(Duration claimTimeout);

    /** One more store instance of this test's data, in this process, with the given claim timeout; the test closes it. */
    protected abstract SessionStore openStore(Duration claimTimeout);

    /**
     * Two processes x 8 threads create sessions for one owner with limit 3, round after round. REJECT: the
     * callers that got a session (in both processes) own exactly the live sessions, 3 of them. END_OLDEST:
     * every caller gets one, and after both processes trimmed at once exactly 3 are live.
     */
    @Test
    public void ownerLimitHoldsAcrossProcesses() throws Exception {
        int limit = 3;
        int threads = 8;
        try (SessionProcess one = SessionProcess.start(factory(), dir.resolve("one.err"), factoryArgs(CLAIM_TIMEOUT));
             SessionProcess two = SessionProcess.start(factory(), dir.resolve("two.err"), factoryArgs(CLAIM_TIMEOUT));
             SessionStore store = openStore(CLAIM_TIMEOUT)) {
            for (OwnerLimitPolicy policy : OwnerLimitPolicy.values()) {
                for (int round = 0; round < 8; round++) {
                    String owner = "process-racer-" + policy + "-" + round;
                    String command = "create " + owner + " " + limit + " " + policy + " " + threads;
                    one.send(command);
                    two.send(command);
                    List<String> out = new ArrayList<>(one.await("done"::equals, Duration.ofMinutes(2)));
                    out.addAll(two.await("done"::equals, Duration.ofMinutes(2)));
                    Set<String> granted = idsOf(out, "granted ");
                    Set<String> deleted = idsOf(out, "deleted ");
                    Set<String> live = new HashSet<>();
                    Instant now = Instant.now();
                    for (Session s : store.findByOwner(owner)) {
                        if (!s.isExpired(now)) {
                            live.add(s.id());
                        }
                    }
                    if (policy == OwnerLimitPolicy.REJECT) {
                        assertThat(granted).as("%s round %d: callers that got a session", policy, round).hasSize(limit);
                        assertThat(live).as("%s round %d: live sessions are the granted ones", policy, round)
                                .isEqualTo(granted);
                    } else {
                        assertThat(granted).as("%s round %d", policy, round).hasSize(2 * threads);
                        assertThat(live).as("%s round %d: live after racing trims", policy, round).hasSize(limit);
                        assertThat(granted).containsAll(live);
                        assertThat(deleted).as("%s round %d: each trimmed session ended once", policy, round)
                                .hasSize(2 * threads - limit).doesNotContainAnyElementsOf(live);
                    }
                }
            }
        }
    }

    /**
     * A child process sweeps thousands of expired sessions, slowly, and is killed with SIGKILL in the middle of
     * a batch it has claimed. Two survivor instances in this process then sweep until every session has had an
     * event. The guarantee: every session gets at least one EXPIRED event overall; the survivors deliver each
     * at most once between them; each session the dead process never reported is delivered by the survivors
     * exactly once. Sessions the dead process delivered but did not acknowledge (at most its last batch) are
     * delivered once more by a survivor: at least once across a crash, exactly once across the survivors.
     */
    @Test
    public void expiryEventsSurviveASweeperKilledMidSweep() throws Exception {
        int sessions = 3_000;
        int batch = 200;
        Set<String> all = new HashSet<>();
        try (SessionStore setup = openStore(CLAIM_TIMEOUT)) {
            Instant longAgo = Instant.now().minus(Duration.ofHours(2));
            for (int i = 0; i < sessions; i++) {
                Session s = new Session(setup.newSessionId(null), i % 5 == 0 ? "owner-" + i % 7 : null, longAgo,
                        longAgo, Duration.ofMinutes(30), longAgo.plus(Duration.ofHours(12)), 1, Map.of("i", "" + i));
                assertThat(setup.insert(s)).isTrue();
                all.add(s.id());
            }
        }
        List<String> deadOutput;
        try (SessionProcess sweeper = SessionProcess.start(factory(), dir.resolve("sweeper.err"),
                factoryArgs(CLAIM_TIMEOUT))) {
            // 5 ms per event: the whole backlog would take the child 15 s, so the kill lands mid-sweep.
            sweeper.send("sweep " + batch + " 5");
            // Past the first batch (acknowledged) and into the third (claimed, partly delivered).
            int[] seen = new int[1];
            sweeper.await(l -> l.startsWith("expired ") && ++seen[0] == 2 * batch + batch / 2, Duration.ofMinutes(5));
            deadOutput = sweeper.killDashNine();
            assertThat(sweeper.exitCode()).as("killed by SIGKILL").isEqualTo(137);
        }
        List<String> deadEvents = eventsOf(deadOutput);
        assertThat(deadEvents).as("the dead sweeper delivered part of the backlog").hasSizeLessThan(sessions);
        assertThat(new HashSet<>(deadEvents)).as("no duplicates within the dead sweeper").hasSize(deadEvents.size());

        Map<String, Integer> survivorEvents = new ConcurrentHashMap<>();
        SessionListener counting = new SessionListener() {
            @Override
            public void ended(Session session, EndReason reason) {
                assertThat(reason).isEqualTo(EndReason.EXPIRED);
                survivorEvents.merge(session.id(), 1, Integer::sum);
            }
        };
        try (SessionManager a = SessionManager.builder(openStore(CLAIM_TIMEOUT)).sweepInterval(Duration.ZERO)
                .sweepBatchSize(batch).listener(counting).build();
             SessionManager b = SessionManager.builder(openStore(CLAIM_TIMEOUT)).sweepInterval(Duration.ZERO)
                .sweepBatchSize(batch).listener(counting).build()) {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            Set<String> covered = new HashSet<>();
            while (covered.size() < sessions && System.nanoTime() < deadline) {
                Concurrently.run(2, t -> (t == 0 ? a : b).sweep());
                covered.clear();
                covered.addAll(deadEvents);
                covered.addAll(survivorEvents.keySet());
                Thread.sleep(100);
            }
            // One more claim timeout: anything still claimed by the dead process would surface now.
            Thread.sleep(CLAIM_TIMEOUT.toMillis() + 500);
            Concurrently.run(2, t -> (t == 0 ? a : b).sweep());
            assertThat(a.stats().active()).isZero();
        }
        Set<String> covered = new HashSet<>(deadEvents);
        covered.addAll(survivorEvents.keySet());
        assertThat(covered).as("every session got an EXPIRED event").isEqualTo(all);
        assertThat(survivorEvents.values()).as("the survivors delivered each session at most once").containsOnly(1);
        Set<String> redelivered = new HashSet<>(deadEvents);
        redelivered.retainAll(survivorEvents.keySet());
        assertThat(redelivered.size()).as("redelivered: only the dead sweeper's unacknowledged claims (one batch)")
                .isLessThanOrEqualTo(batch);
        Set<String> neverReportedByTheDead = new HashSet<>(all);
        neverReportedByTheDead.removeAll(deadEvents);
        assertThat(survivorEvents.keySet()).containsAll(neverReportedByTheDead);
        // Printed for the report: how many events the crash made the survivors repeat.
        System.out.println("sweeper killed after " + deadEvents.size() + " events; survivors delivered "
                + survivorEvents.size() + ", of which " + redelivered.size() + " the dead one had delivered unacknowledged");
    }

    /**
     * Two processes x 4 threads add one to the same session's counter, half by id and half on the session in
     * hand (the gate's single compare-and-set): no update is lost. Then once more with one process killed by
     * SIGKILL in the middle of its updates: the other finishes, the session still reads whole, and its counter
     * holds every acknowledged update plus at most one per thread of the dead process (written, not yet
     * acknowledged when it died); the store takes further updates.
     */
    @Test
    public void updatesAcrossProcessesLoseNothingAndSurviveAKill() throws Exception {
        int threads = 4;
        int perThread = 250;
        try (SessionStore store = openStore(CLAIM_TIMEOUT);
             SessionProcess one = SessionProcess.start(factory(), dir.resolve("one.err"), factoryArgs(CLAIM_TIMEOUT));
             SessionProcess two = SessionProcess.start(factory(), dir.resolve("two.err"), factoryArgs(CLAIM_TIMEOUT))) {
            String shared = insertFresh(store);
            String command = "increment " + shared + " " + threads + " " + perThread;
            one.send(command);
            two.send(command);
            int acknowledged = count(one.await("done"::equals, Duration.ofMinutes(5)), "inc")
                    + count(two.await("done"::equals, Duration.ofMinutes(5)), "inc");
            assertThat(acknowledged).isEqualTo(2 * threads * perThread);
            assertThat(store.load(shared).orElseThrow().attribute(SessionProcess.COUNTER))
                    .as("no update lost across processes").contains(acknowledged);

            String contested = insertFresh(store);
            one.send("increment " + contested + " " + threads + " 1000000"); // runs until killed
            two.send("increment " + contested + " " + threads + " " + perThread);
            int[] seen = new int[1];
            one.await(l -> l.equals("inc") && ++seen[0] == 300, Duration.ofMinutes(5));
            // Its output holds the first round's lines too.
            int ackedByDead = count(one.killDashNine(), "inc") - threads * perThread;
            assertThat(one.exitCode()).as("killed by SIGKILL").isEqualTo(137);
            int ackedBySurvivor = count(two.await("done"::equals, Duration.ofMinutes(5)), "inc");
            assertThat(ackedBySurvivor).isEqualTo(threads * perThread);
            Session after = store.load(contested).orElseThrow();
            assertThat(after.attribute(SessionProcess.COUNTER)).as("acknowledged: dead %d, survivor %d",
                    ackedByDead, ackedBySurvivor).hasValueSatisfying(n -> assertThat(n)
                    .isBetween(ackedByDead + ackedBySurvivor, ackedByDead + ackedBySurvivor + threads));
            Session next = after.withAttribute(SessionProcess.COUNTER, after.attribute(SessionProcess.COUNTER).orElseThrow() + 1)
                    .withVersion(after.version() + 1);
            assertThat(store.replace(next, after.version())).as("the store takes updates after the kill").isTrue();
        }
    }

    private static String insertFresh(SessionStore store) {
        Instant now = Instant.now();
        Session s = new Session(store.newSessionId(null), null, now, now, Duration.ofHours(1),
                now.plus(Duration.ofHours(12)), 1, Map.of());
        assertThat(store.insert(s)).isTrue();
        return s.id();
    }

    private static int count(List<String> lines, String line) {
        return (int) lines.stream().filter(line::equals).count();
    }

    private static Set<String> idsOf(List<String> lines, String prefix) {
        Set<String> ids = new HashSet<>();
        for (String l : lines) {
            if (l.startsWith(prefix)) {
                assertThat(ids.add(l.substring(prefix.length()))).as("reported once: %s", l).isTrue();
            }
        }
        return ids;
    }

    private static List<String> eventsOf(List<String> lines) {
        List<String> ids = new ArrayList<>();
        for (String l : lines) {
            if (l.startsWith("expired ")) {
                ids.add(l.substring("expired ".length()));
            }
        }
        return ids;
    }
}
