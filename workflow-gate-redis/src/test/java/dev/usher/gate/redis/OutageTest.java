package dev.usher.gate.redis;

import dev.usher.session.redis.DedicatedCluster;
import dev.usher.session.redis.DedicatedRedis;
import org.junit.jupiter.api.Tag;
import static org.assertj.core.api.Assertions.assertThat;

import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.Ticket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.UnifiedJedis;

/**
 * Redis killed and restarted, frozen (SIGSTOP) and thawed, and a cluster node restarted, in the middle of a
 * workload on two queue objects: calls fail with {@link AdmissionUnavailableException} (never hang), then the
 * same queues carry on; the runs' own count never exceeds the cap, and at the end nothing is running or
 * queued, so no permit was lost (leaked) or doubled.
 */
@Tag("server")
class OutageTest {
    private static final int MAX_RUNNING = 3;

    private static final class Workload {
        final AtomicInteger active = new AtomicInteger();
        final AtomicInteger maxActive = new AtomicInteger();
        final AtomicLong runs = new AtomicLong();
        final AtomicLong unavailable = new AtomicLong();
        final AtomicLong slowestFailureMs = new AtomicLong();
        final AtomicBoolean stop = new AtomicBoolean();
        final List<Thread> threads = new ArrayList<>();

        Workload(RedisAdmissionQueue... queues) {
            for (int i = 0; i < 6; i++) {
                RedisAdmissionQueue q = queues[i % queues.length];
                String key = "key-" + i;
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        long started = System.nanoTime();
                        try {
                            Ticket ticket = q.enter(key);
                            Permit permit = ticket.await(Duration.ofSeconds(20));
                            int now = active.incrementAndGet();
                            maxActive.accumulateAndGet(now, Math::max);
                            sleep(3);
                            active.decrementAndGet();
                            permit.close();
                            runs.incrementAndGet();
                        } catch (AdmissionUnavailableException e) {
                            unavailable.incrementAndGet();
                            slowestFailureMs.accumulateAndGet((System.nanoTime() - started) / 1_000_000, Math::max);
                            sleep(20);
                        } catch (TimeoutException | CancellationException e) {
                            // left the line during the outage
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }, "outage-workload-" + i);
                t.start();
                threads.add(t);
            }
        }

        void awaitRuns(long atLeast) throws InterruptedException {
            RedisAdmissionQueueTest.eventually(() -> runs.get() >= atLeast, runs.get() + " runs, want " + atLeast);
        }

        void finish() throws InterruptedException {
            stop.set(true);
            for (Thread t : threads) {
                t.join(60_000);
                assertThat(t.isAlive()).as("workload thread ended").isFalse();
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static RedisAdmissionQueue queue(UnifiedJedis redis, String name) {
        return RedisAdmissionQueue.builder(redis, name, MAX_RUNNING).leaseTime(Duration.ofSeconds(8))
                .commandTimeout(Duration.ofMillis(500)).probeInterval(Duration.ofMillis(100))
                .notificationPeriod(Duration.ofMillis(200)).build();
    }

    private static void checkRecovered(Workload w, RedisAdmissionQueue q) throws InterruptedException {
        long before = w.runs.get();
        w.awaitRuns(before + 30);
        w.finish();
        System.out.println("runs " + w.runs.get() + ", unavailable errors " + w.unavailable.get()
                + ", slowest failing call " + w.slowestFailureMs.get() + " ms");
        assertThat(w.unavailable.get()).as("the outage was seen").isPositive();
        assertThat(w.maxActive.get()).isLessThanOrEqualTo(MAX_RUNNING);
        RedisAdmissionQueueTest.eventually(() -> {
            var s = q.stats();
            return s.running() == 0 && s.queued() == 0;
        }, "every permit back and nobody queued after the outage: " + q.stats());
    }

    @Test
    void redisKilledAndRestartedThenFrozenAndThawed() throws Exception {
        try (DedicatedRedis server = new DedicatedRedis();
             UnifiedJedis a = TestRedis.connect(server.uri());
             UnifiedJedis b = TestRedis.connect(server.uri());
             RedisAdmissionQueue qa = queue(a, "outage");
             RedisAdmissionQueue qb = queue(b, "outage")) {
            Workload w = new Workload(qa, qb);
            w.awaitRuns(30);
            server.kill9();
            RedisAdmissionQueueTest.eventually(() -> w.unavailable.get() > 0, "calls fail while Redis is down");
            sleep(1000);
            server.start();
            w.awaitRuns(w.runs.get() + 30);
            server.freeze();
            long frozenErrors = w.unavailable.get();
            RedisAdmissionQueueTest.eventually(() -> w.unavailable.get() > frozenErrors, "calls fail while Redis is frozen");
            sleep(1000);
            server.thaw();
            checkRecovered(w, qa);
        }
    }

    @Test
    void clusterNodeHoldingTheQueueRestarted() throws Exception {
        try (DedicatedCluster cluster = new DedicatedCluster()) {
            String seeds = "cluster:" + String.join(",", cluster.seeds().stream().map(HostAndPort::toString).toList());
            try (UnifiedJedis a = TestRedis.connect(seeds);
                 UnifiedJedis b = TestRedis.connect(seeds);
                 RedisAdmissionQueue qa = queue(a, "outage");
                 RedisAdmissionQueue qb = queue(b, "outage")) {
                Workload w = new Workload(qa, qb);
                w.awaitRuns(30);
                DedicatedRedis holder = null;
                for (DedicatedRedis node : cluster.nodes()) {
                    try (Jedis j = node.connect()) {
                        if (!j.keys("usher:q:{outage}:*").isEmpty()) {
                            holder = node;
                        }
                    }
                }
                assertThat(holder).as("the node holding the queue's slot").isNotNull();
                holder.kill9();
                RedisAdmissionQueueTest.eventually(() -> w.unavailable.get() > 0, "calls fail while the node is down");
                sleep(1000);
                holder.start();
                DedicatedRedis restarted = holder;
                RedisAdmissionQueueTest.eventually(() -> {
                    try (Jedis j = restarted.connect()) {
                        return j.clusterInfo().contains("cluster_state:ok");
                    }
                }, "cluster ok again");
                checkRecovered(w, qa);
            }
        }
    }

    @Test
    void withAFallbackEntersGoToTheLocalQueueUnderItsOwnCapWhileRedisIsDown() throws Exception {
        try (DedicatedRedis server = new DedicatedRedis();
             UnifiedJedis jedis = TestRedis.connect(server.uri());
             dev.usher.gate.admission.AdmissionQueue local = dev.usher.gate.admission.AdmissionQueue.builder(1).name("fallback").build();
             RedisAdmissionQueue q = RedisAdmissionQueue.builder(jedis, "fallback", 2).commandTimeout(Duration.ofMillis(500))
                     .probeInterval(Duration.ofMillis(100)).leaseTime(Duration.ofSeconds(8)).fallback(local).build()) {
            Permit shared = q.enter("a").permit().join();
            assertThat(shared).isInstanceOf(FencedPermit.class);
            shared.close();
            server.kill9();
            Ticket first = q.enter("b"); // served by the fallback: no exception
            Ticket second = q.enter("c");
            assertThat(first.state()).isEqualTo(Ticket.State.ADMITTED);
            assertThat(first.permit().join()).isNotInstanceOf(FencedPermit.class);
            assertThat(second.state()).as("the fallback's own cap of 1").isEqualTo(Ticket.State.QUEUED);
            assertThat(local.stats().running()).isEqualTo(1);
            first.permit().join().close();
            second.await(Duration.ofSeconds(30)).close();
            server.start();
            RedisAdmissionQueueTest.eventually(() -> {
                Ticket t = q.enter("d");
                Permit p = t.permit().join();
                p.close();
                return p instanceof FencedPermit;
            }, "back on the shared queue");
            RedisAdmissionQueueTest.eventually(() -> q.stats().running() == 0 && q.stats().queued() == 0, "nothing left");
        }
    }

    /** A Redis that comes back empty (no persistence): tokens still increase, the old permit's close is a no-op. */
    @Test
    void afterRedisLostItsDataFencingTokensStillIncreaseAndOldPermitsDoNotDoubleRelease() throws Exception {
        try (DedicatedRedis server = new DedicatedRedis();
             UnifiedJedis jedis = TestRedis.connect(server.uri());
             RedisAdmissionQueue q = RedisAdmissionQueue.builder(jedis, "lost", 1).leaseTime(Duration.ofSeconds(8)).build()) {
            FencedPermit before = (FencedPermit) q.enter("a").permit().join();
            try (Jedis direct = server.connect()) {
                for (String key : direct.keys("usher:q:{lost}:*")) {
                    direct.del(key); // what a restart without persistence leaves: nothing
                }
            }
            // A restart takes far longer than the millisecond the re-seeded token counter needs to move on.
            Thread.sleep(5);
            FencedPermit after = (FencedPermit) q.enter("b").permit().join(); // re-registers, then admitted
            assertThat(after.fencingToken()).isGreaterThan(before.fencingToken());
            before.close(); // its slot was lost with the data: this must not free the new permit's slot
            assertThat(q.stats().running()).isEqualTo(1);
            Ticket waiter = q.enter("c");
            assertThat(waiter.state()).isEqualTo(Ticket.State.QUEUED);
            after.close();
            waiter.await(Duration.ofSeconds(30)).close();
            assertThat(q.stats().running()).isZero();
        }
    }
}
