package dev.usher.gate.redis;

import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.Ticket;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.UnifiedJedis;

/** Three JVM processes on one queue; one of them killed with SIGKILL while it holds permits and waiters. */
@Tag("server")
class MultiProcessTest {
    private final List<Process> processes = new ArrayList<>();
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly();
        }
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    private static final class Worker {
        final Process process;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

        Worker(Process process) {
            this.process = process;
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        lines.add(line);
                    }
                } catch (IOException ended) {
                    // the process is gone
                }
            }, "worker-output");
            reader.setDaemon(true);
            reader.start();
        }

        String expect(String prefix) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (System.nanoTime() < deadline) {
                String line = lines.poll(1, TimeUnit.SECONDS);
                if (line != null && line.startsWith(prefix)) {
                    return line;
                }
                if (line == null && !process.isAlive() && lines.isEmpty()) {
                    throw new AssertionError("worker exited with " + process.exitValue() + " before '" + prefix + "'");
                }
            }
            throw new AssertionError("no '" + prefix + "' from the worker within 3 minutes");
        }
    }

    private Worker spawn(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", QueueWorker.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        processes.add(p);
        return new Worker(p);
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void threeProcessesNeverExceedTheCapAndReturnEveryPermit(String which) throws Exception {
        String target = RedisAdmissionQueueTest.target(which);
        String name = TestRedis.uniqueName("procs");
        int maxRunning = 3;
        List<Worker> workers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            workers.add(spawn(target, name, Integer.toString(maxRunning), "2", "3000", "random", "w" + i,
                    Long.toString(1000 + i), "80"));
        }
        long runs = 0;
        for (Worker w : workers) {
            runs += Long.parseLong(w.expect("DONE ").substring(5));
            assertThat(w.process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(w.process.exitValue()).isZero();
        }
        UnifiedJedis redis = TestRedis.connect(target);
        toClose.add(redis);
        RedisAdmissionQueue observer = RedisAdmissionQueue.builder(redis, name, maxRunning).maxRunningPerKey(2).build();
        toClose.add(0, observer);
        try {
            assertThat(runs).isPositive();
            int max = Integer.parseInt(redis.get(QueueWorker.maxKey(name)));
            assertThat(max).as("runs in progress at once, counted by the runs").isBetween(1, maxRunning);
            assertThat(redis.scard(QueueWorker.activeKey(name))).isZero();
            assertThat(observer.stats().running()).isZero();
            assertThat(observer.stats().queued()).isZero();
            assertThat(observer.stats().admitted()).isGreaterThanOrEqualTo(runs);
        } finally {
            redis.del(QueueWorker.maxKey(name), QueueWorker.activeKey(name));
            observer.close();
            TestRedis.deleteQueue(target, name);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void killingAHolderGivesItsPermitsBackAndRemovesItsWaiters(String which) throws Exception {
        String target = RedisAdmissionQueueTest.target(which);
        String name = TestRedis.uniqueName("kill");
        int maxRunning = 3;
        long leaseMs = 2000;
        UnifiedJedis redis = TestRedis.connect(target);
        toClose.add(redis);
        try {
            Worker victim = spawn(target, name, Integer.toString(maxRunning), "1", Long.toString(leaseMs), "hold",
                    "victim", "1", "8");
            assertThat(victim.expect("HOLDING ")).isEqualTo("HOLDING 3");
            RedisAdmissionQueue observer = RedisAdmissionQueue.builder(redis, name, maxRunning).maxRunningPerKey(1)
                    .leaseTime(Duration.ofMillis(leaseMs)).build();
            toClose.add(0, observer);
            assertThat(observer.stats().running()).isEqualTo(3);
            assertThat(observer.stats().queued()).isEqualTo(5);
            Ticket mine = observer.enter("observer");
            assertThat(mine.position()).isEqualTo(6);
            Worker survivor = spawn(target, name, Integer.toString(maxRunning), "1", Long.toString(leaseMs), "random",
                    "survivor", "7", "25");
            survivor.expect("READY");

            victim.process.destroyForcibly(); // SIGKILL
            assertThat(victim.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            long killedAt = System.nanoTime();
            // The dead runs are no longer in progress: take them out of the independent count.
            for (String m : redis.smembers(QueueWorker.activeKey(name))) {
                if (m.startsWith("victim:")) {
                    redis.srem(QueueWorker.activeKey(name), m);
                }
            }
            redis.set(QueueWorker.maxKey(name), Long.toString(redis.scard(QueueWorker.activeKey(name))));
            mine.await(Duration.ofMinutes(2)).close();
            long admittedAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
            System.out.println("observer admitted " + admittedAfterMs + " ms after the kill (lease " + leaseMs + " ms)");
            survivor.expect("DONE ");
            assertThat(survivor.process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(survivor.process.exitValue()).isZero();
            RedisAdmissionQueueTest.eventually(() -> observer.stats().running() == 0 && observer.stats().queued() == 0,
                    "the victim's permits back and its waiters gone");
            assertThat(Integer.parseInt(redis.get(QueueWorker.maxKey(name)))).isLessThanOrEqualTo(maxRunning);
            assertThat(redis.scard(QueueWorker.activeKey(name))).isZero();
        } finally {
            redis.del(QueueWorker.maxKey(name), QueueWorker.activeKey(name));
            TestRedis.deleteQueue(target, name);
        }
    }

    /** A crashed instance's waiter whose client reconnects to another instance within the grace keeps its place. */
    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void aWaiterOfAKilledInstanceReconnectingElsewhereKeepsItsPlace(String which) throws Exception {
        String target = RedisAdmissionQueueTest.target(which);
        String name = TestRedis.uniqueName("regrace");
        long leaseMs = 1500;
        UnifiedJedis redis = TestRedis.connect(target);
        toClose.add(redis);
        try {
            RedisAdmissionQueue other = RedisAdmissionQueue.builder(redis, name, 1)
                    .leaseTime(Duration.ofMillis(leaseMs)).reconnectGrace(Duration.ofMinutes(2)).build();
            toClose.add(0, other);
            Ticket holder = other.enter("holder");
            assertThat(holder.state()).isEqualTo(Ticket.State.ADMITTED);
            Worker victim = spawn(target, name, "1", "1", Long.toString(leaseMs), "hold", "victim", "1", "3");
            assertThat(victim.expect("HOLDING ")).isEqualTo("HOLDING 0");
            Ticket late = other.enter("late");
            assertThat(late.position()).isEqualTo(4);
            victim.process.destroyForcibly(); // SIGKILL: its three waiters' clients will reconnect here
            assertThat(victim.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            RedisAdmissionQueueTest.eventually(() -> late.position() == 1, "the dead instance's waiters left the line");
            Ticket back = other.enter("victim-key-1"); // same key (session), another instance
            assertThat(back.position()).as("its old place, ahead of a ticket that entered after it").isEqualTo(1);
            assertThat(late.position()).isEqualTo(2);
            holder.permit().join().close();
            back.await(Duration.ofSeconds(30)).close();
            late.await(Duration.ofSeconds(30)).close();
        } finally {
            TestRedis.deleteQueue(target, name);
        }
    }

    /**
     * A process frozen (SIGSTOP) past its lease: the others get its slot; thawed, it finds its lease gone, its
     * waiter fails with AdmissionUnavailableException, closing its old permit frees nothing, and it carries on
     * under a new lease with a larger fencing token.
     */
    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void aProcessFrozenPastItsLeaseLosesItAndCarriesOn(String which) throws Exception {
        String target = RedisAdmissionQueueTest.target(which);
        String name = TestRedis.uniqueName("stall");
        long leaseMs = 1500;
        UnifiedJedis redis = TestRedis.connect(target);
        toClose.add(redis);
        try {
            Worker stalled = spawn(target, name, "1", "1", Long.toString(leaseMs), "stall", "frozen", "1", "1");
            String ready = stalled.expect("STALL-READY ");
            assertThat(ready).endsWith("QUEUED");
            long oldFence = Long.parseLong(ready.split(" ")[1]);
            RedisAdmissionQueue other = RedisAdmissionQueue.builder(redis, name, 1).leaseTime(Duration.ofMillis(leaseMs)).build();
            toClose.add(0, other);
            Ticket mine = other.enter("other");
            signal(stalled.process, "STOP");
            Permit p;
            try {
                p = mine.await(Duration.ofMinutes(2)); // the frozen process's slot came back
                assertThat(((FencedPermit) p).fencingToken()).isGreaterThan(oldFence);
            } finally {
                signal(stalled.process, "CONT");
            }
            assertThat(stalled.expect("WAITER-")).isEqualTo("WAITER-FAILED lease lost");
            assertThat(other.stats().running()).as("the old permit's close freed nothing").isEqualTo(1);
            p.close();
            long again = Long.parseLong(stalled.expect("AGAIN ").split(" ")[1]);
            assertThat(again).isGreaterThan(((FencedPermit) p).fencingToken());
            stalled.expect("DONE ");
            assertThat(stalled.process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            RedisAdmissionQueueTest.eventually(() -> other.stats().running() == 0 && other.stats().queued() == 0,
                    "nothing left");
        } finally {
            TestRedis.deleteQueue(target, name);
        }
    }

    private static void signal(Process p, String signal) throws IOException, InterruptedException {
        int rc = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor();
        assertThat(rc).as("kill -" + signal).isZero();
    }
}
