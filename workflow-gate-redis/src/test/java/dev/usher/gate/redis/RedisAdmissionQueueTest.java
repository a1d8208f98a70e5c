package dev.usher.gate.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.usher.gate.admission.AdmissionQueue;
import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.QueueFullException;
import dev.usher.gate.admission.Ticket;
import dev.usher.gate.admission.TicketUpdate;
import dev.usher.session.HostThreads;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.UnifiedJedis;

/**
 * The {@link dev.usher.gate.admission.AdmissionQueue} contract on the shared standalone server and the shared
 * 3-master cluster, with two queue objects (two "instances") on one queue name.
 */
@Tag("server")
class RedisAdmissionQueueTest {
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final List<String[]> toDelete = new ArrayList<>();

    static String target(String which) {
        return which.equals("cluster") ? TestRedis.cluster() : TestRedis.standalone();
    }

    private RedisAdmissionQueue.Builder builder(String which, String name, int maxRunning) {
        UnifiedJedis redis = TestRedis.connect(target(which));
        toClose.add(redis);
        toDelete.add(new String[] {target(which), name});
        return RedisAdmissionQueue.builder(redis, name, maxRunning);
    }

    private <Q extends AutoCloseable> Q closeLater(Q q) {
        toClose.add(0, q);
        return q;
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
        for (String[] d : toDelete) {
            TestRedis.deleteQueue(d[0], d[1]);
        }
    }

    static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 30 s: " + what);
            }
            Thread.sleep(10);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void capAcrossInstancesPositionsAndWakeUpByMessage(String which) throws Exception {
        String name = TestRedis.uniqueName("cap");
        // A notification period of an hour: only the pub/sub message can wake a waiter in this test.
        RedisAdmissionQueue a = closeLater(builder(which, name, 2).notificationPeriod(Duration.ofHours(1)).build());
        RedisAdmissionQueue b = closeLater(builder(which, name, 2).notificationPeriod(Duration.ofHours(1)).build());
        Ticket t1 = a.enter("k1");
        Ticket t2 = b.enter("k2");
        Ticket t3 = a.enter("k3");
        Ticket t4 = b.enter("k4");
        assertThat(t1.state()).isEqualTo(Ticket.State.ADMITTED);
        assertThat(t2.state()).isEqualTo(Ticket.State.ADMITTED);
        assertThat(t3.position()).isEqualTo(1);
        assertThat(t4.position()).isEqualTo(2);
        assertThat(a.stats().running()).isEqualTo(2);
        assertThat(b.stats().queued()).isEqualTo(2);
        long fence1 = ((FencedPermit) t1.permit().join()).fencingToken();
        long fence2 = ((FencedPermit) t2.permit().join()).fencingToken();
        assertThat(fence2).isGreaterThan(fence1);

        t2.permit().join().close(); // released through b: the waiter of a is woken
        Permit p3 = t3.await(Duration.ofSeconds(30));
        assertThat(((FencedPermit) p3).fencingToken()).isGreaterThan(fence2);
        assertThat(t4.position()).isEqualTo(1);
        assertThat(t4.cancel()).isTrue();
        assertThat(t4.state()).isEqualTo(Ticket.State.CANCELLED);
        assertThat(a.stats().queued()).isZero();
        t1.permit().join().close();
        p3.close();
        p3.close(); // idempotent: released once
        assertThat(a.stats().running()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void badInputAndFullQueueGetTheLocalQueuesErrors(String which) {
        String name = TestRedis.uniqueName("bad");
        UnifiedJedis redis = TestRedis.connect(target(which));
        toClose.add(redis);
        assertThatThrownBy(() -> RedisAdmissionQueue.builder(redis, "no spaces", 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("name must be");
        assertThatThrownBy(() -> RedisAdmissionQueue.builder(redis, name, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxRunning must be at least 1 but was 0");
        assertThatThrownBy(() -> RedisAdmissionQueue.builder(redis, name, 2).maxRunningPerKey(3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("but was 3");
        assertThatThrownBy(() -> RedisAdmissionQueue.builder(redis, name, 2).leaseTime(Duration.ofMillis(5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaseTime");
        RedisAdmissionQueue q = closeLater(builder(which, name, 1).maxQueued(1).initialRunDuration(Duration.ofSeconds(4)).build());
        assertThatThrownBy(() -> q.enter("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("key must be 1 to 256 characters but was 0 characters");
        assertThatThrownBy(() -> q.enter("x".repeat(257))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("but was 257 characters");
        Ticket running = q.enter("a");
        // Any text is a key: quotes, backslashes, braces (no effect on the hash slot), emoji.
        Ticket waiting = q.enter("ключ \"q\" \\ {tag} 🚀");
        assertThat(waiting.key()).isEqualTo("ключ \"q\" \\ {tag} 🚀");
        assertThat(waiting.position()).isEqualTo(1);
        // One run ahead that started a moment ago: the initial 4 s minus what that run has already taken.
        assertThat(waiting.estimatedWait()).hasValueSatisfying(d -> assertThat(d).isBetween(Duration.ofSeconds(2), Duration.ofSeconds(4)));
        assertThatThrownBy(() -> q.enter("c")).isInstanceOfSatisfying(QueueFullException.class, e -> {
            assertThat(e.maxQueued()).isEqualTo(1);
            assertThat(e.retryAfter()).contains(Duration.ofSeconds(4));
        });
        assertThat(q.stats().rejected()).isEqualTo(1);
        running.permit().join().close();
        waiting.permit().join().close();
        q.close();
        assertThatThrownBy(() -> q.enter("a")).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void oneKeysBurstThroughOneInstanceDoesNotStarveAnotherKeyOnAnother(String which) throws Exception {
        String name = TestRedis.uniqueName("fair");
        RedisAdmissionQueue one = closeLater(builder(which, name, 1).build());
        RedisAdmissionQueue two = closeLater(builder(which, name, 1).build());
        List<Ticket> burst = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            burst.add(one.enter("A"));
        }
        Ticket b = two.enter("B");
        // One slot, A holds it and 29 of A wait: B waits for at most one admission of A.
        assertThat(b.position()).isLessThanOrEqualTo(2);
        int admissionsBeforeB = 0;
        int nextA = 1;
        Permit current = burst.get(0).permit().join();
        while (true) {
            current.close();
            Ticket a = burst.get(nextA);
            eventually(() -> b.state() == Ticket.State.ADMITTED || a.state() == Ticket.State.ADMITTED, "an admission");
            if (b.state() == Ticket.State.ADMITTED) {
                break;
            }
            admissionsBeforeB++;
            current = a.permit().join();
            nextA++;
        }
        assertThat(admissionsBeforeB).isLessThanOrEqualTo(1);
        b.permit().join().close();
        current.close();
        for (Ticket t : burst) {
            if (!t.cancel() && t.state() == Ticket.State.ADMITTED) {
                t.permit().join().close();
            }
        }
    }


    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void aKeyReenteringWithinTheGraceThroughAnotherInstanceKeepsItsPlace(String which) throws Exception {
        String name = TestRedis.uniqueName("grace");
        RedisAdmissionQueue one = closeLater(builder(which, name, 1).reconnectGrace(Duration.ofMinutes(1)).build());
        RedisAdmissionQueue two = closeLater(builder(which, name, 1).reconnectGrace(Duration.ofMinutes(1)).build());
        Ticket holder = one.enter("h");
        Ticket first = one.enter("s1");
        List<Ticket> later = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            later.add(one.enter("o" + i));
        }
        assertThat(first.position()).isEqualTo(1);
        assertThat(first.cancel()).isTrue(); // the client's connection dropped
        assertThat(later.get(0).position()).isEqualTo(1);
        Ticket back = two.enter("s1"); // it reconnects to the other instance
        assertThat(back.position()).isEqualTo(1);
        assertThat(later.get(0).position()).isEqualTo(2);
        holder.permit().join().close();
        back.await(Duration.ofSeconds(30)).close();
        for (Ticket t : later) {
            t.await(Duration.ofSeconds(30)).close();
        }
        assertThat(one.stats().running()).isZero();
    }

    @Test
    void everyThreadComesFromTheHostsFactoryAndEndsWithTheQueue() throws Exception {
        HostThreads host = new HostThreads("host-redis-queue");
        String name = TestRedis.uniqueName("threads");
        List<String> heardOn = new CopyOnWriteArrayList<>();
        RedisAdmissionQueue q = builder("standalone", name, 1).notificationPeriod(Duration.ofMillis(100))
                .threadFactory(host).build();
        try {
            Ticket holder = q.enter("h");
            Ticket waiter = q.enter("w", u -> heardOn.add(Thread.currentThread().getName()));
            eventually(() -> heardOn.size() >= 2, "the waiter hears from the queue");
            holder.permit().join().close();
            waiter.await(Duration.ofSeconds(30)).close();
            assertThat(heardOn).allSatisfy(thread -> assertThat(thread).startsWith("host-redis-queue-"));
            // timer, listener thread, subscriber and at least one Redis call thread; none of the queue's own
            assertThat(host.threads()).hasSizeGreaterThanOrEqualTo(4);
            assertThat(Thread.getAllStackTraces().keySet())
                    .noneMatch(t -> t.getName().startsWith("usher-redis-queue-" + name));
        } finally {
            q.close();
        }
        assertThat(host.allEnded(Duration.ofSeconds(30))).as("close() ended the host's threads").isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void listenersAreTickedWhileNothingMovesAndAThrowingListenerLeavesTheLine(String which) throws Exception {
        String name = TestRedis.uniqueName("tick");
        RedisAdmissionQueue q = closeLater(builder(which, name, 1).notificationPeriod(Duration.ofMillis(100))
                .reconnectGrace(Duration.ZERO).build());
        Ticket holder = q.enter("h");
        List<TicketUpdate> seen = new CopyOnWriteArrayList<>();
        Ticket stays = q.enter("stays", seen::add);
        Ticket gone = q.enter("gone", u -> {
            if (u.kind() == TicketUpdate.Kind.POSITION_CHANGED) {
                throw new IllegalStateException("client went away");
            }
        });
        Ticket behind = q.enter("behind");
        assertThat(behind.position()).isEqualTo(3);
        eventually(() -> gone.state() == Ticket.State.CANCELLED, "the departed waiter leaves");
        eventually(() -> seen.stream().filter(u -> u.kind() == TicketUpdate.Kind.POSITION_CHANGED).count() >= 3,
                "still-waiting ticks although nothing moved");
        assertThat(seen.get(0).kind()).isEqualTo(TicketUpdate.Kind.QUEUED);
        assertThat(seen).filteredOn(u -> u.kind() == TicketUpdate.Kind.POSITION_CHANGED)
                .allSatisfy(u -> assertThat(u.position()).isEqualTo(1));
        assertThat(behind.position()).isEqualTo(2);
        assertThat(q.stats().queued()).isEqualTo(2);
        holder.permit().join().close();
        stays.await(Duration.ofSeconds(30)).close();
        behind.await(Duration.ofSeconds(30)).close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void maxWaitTimesOutAndAwaitTimeoutWithdraws(String which) throws Exception {
        String name = TestRedis.uniqueName("wait");
        RedisAdmissionQueue q = closeLater(builder(which, name, 1).maxWait(Duration.ofMillis(300)).build());
        Ticket holder = q.enter("h");
        Ticket waits = q.enter("w");
        assertThatThrownBy(() -> waits.await(Duration.ofSeconds(30))).isInstanceOf(TimeoutException.class);
        assertThat(waits.state()).isEqualTo(Ticket.State.TIMED_OUT);
        Ticket impatient = q.enter("i");
        holder.permit().join().close();
        Permit p = impatient.await(Duration.ofSeconds(30));
        Ticket second = q.enter("j");
        assertThatThrownBy(() -> second.await(Duration.ofMillis(50))).isInstanceOf(TimeoutException.class);
        p.close();
        eventually(() -> q.stats().running() == 0 && q.stats().queued() == 0, "nothing left");
        assertThat(q.stats().timedOut()).isGreaterThanOrEqualTo(2);
    }

    /** Positions against a model of the fair order after every step of a random scenario. */
    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void positionsMatchTheReferenceModelAfterEveryStep(String which) throws Exception {
        String name = TestRedis.uniqueName("model");
        int maxRunning = 2;
        int perKey = 1;
        AdmissionQueue[] instances = {
            closeLater(builder(which, name, maxRunning).maxRunningPerKey(perKey).reconnectGrace(Duration.ZERO).build()),
            closeLater(builder(which, name, maxRunning).maxRunningPerKey(perKey).reconnectGrace(Duration.ZERO).build()),
        };
        FairOrderModel model = new FairOrderModel(maxRunning, perKey);
        java.util.Random random = new java.util.Random(42);
        List<Ticket> tickets = new ArrayList<>();
        List<Integer> modelIds = new ArrayList<>();
        for (int step = 0; step < 150; step++) {
            int action = random.nextInt(10);
            if (action < 5 || tickets.isEmpty()) {
                String key = "k" + random.nextInt(4);
                tickets.add(instances[random.nextInt(2)].enter(key));
                modelIds.add(model.enter(key));
            } else if (action < 8) {
                int i = random.nextInt(tickets.size());
                Ticket t = tickets.get(i);
                if (model.isRunning(modelIds.get(i))) {
                    t.permit().join().close();
                    model.release(modelIds.get(i));
                    tickets.remove(i);
                    modelIds.remove(i);
                }
            } else {
                int i = random.nextInt(tickets.size());
                if (model.isQueued(modelIds.get(i))) {
                    assertThat(tickets.get(i).cancel()).isTrue();
                    model.cancel(modelIds.get(i));
                    tickets.remove(i);
                    modelIds.remove(i);
                }
            }
            for (int i = 0; i < tickets.size(); i++) {
                int id = modelIds.get(i);
                Ticket t = tickets.get(i);
                if (model.isRunning(id)) {
                    eventually(() -> t.state() == Ticket.State.ADMITTED, "admitted as the model says");
                } else {
                    assertThat(t.position()).as("step %d ticket %d", step, id).isEqualTo(model.position(id));
                }
            }
        }
        for (int i = 0; i < tickets.size(); i++) {
            tickets.get(i).cancel();
            if (tickets.get(i).state() == Ticket.State.ADMITTED) {
                tickets.get(i).permit().join().close();
            }
        }
    }

    /** Issue 19 on the shared line: a thousand waiters whose clients left are gone within a few ticks. */
    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void aThousandDepartedClientsLeaveTheSharedLineWhileNothingMoves(String which) throws Exception {
        String name = TestRedis.uniqueName("departed");
        Duration tick = Duration.ofMillis(200);
        RedisAdmissionQueue one = closeLater(builder(which, name, 1).notificationPeriod(tick).build());
        RedisAdmissionQueue two = closeLater(builder(which, name, 1).notificationPeriod(tick).build());
        Ticket holder = one.enter("holder"); // a run that does not end during the test
        java.util.concurrent.atomic.AtomicBoolean clientsGone = new java.util.concurrent.atomic.AtomicBoolean();
        List<Ticket> connected = new ArrayList<>();
        List<Ticket> leaving = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            RedisAdmissionQueue q = i % 2 == 0 ? one : two;
            leaving.add(q.enter("gone-" + i, u -> {
                if (clientsGone.get()) {
                    throw new java.io.UncheckedIOException(new java.io.IOException("broken pipe"));
                }
            }));
            if (i % 100 == 0) {
                connected.add(q.enter("stays-" + i, u -> { }));
            }
        }
        assertThat(one.stats().queued()).isEqualTo(1010);
        long start = System.nanoTime();
        clientsGone.set(true);
        eventually(() -> one.stats().queued() == connected.size(), "departed waiters gone from the shared line");
        System.out.println("1000 departed waiters left the shared line in "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) + " ms (tick " + tick.toMillis() + " ms)");
        eventually(() -> leaving.stream().allMatch(t -> t.state() == Ticket.State.CANCELLED), "every departed ticket cancelled");
        for (int i = 0; i < connected.size(); i++) {
            assertThat(connected.get(i).state()).isEqualTo(Ticket.State.QUEUED);
            assertThat(connected.get(i).position()).isEqualTo(i + 1);
        }
        for (Ticket t : connected) {
            t.cancel();
        }
        holder.permit().join().close();
    }

    /** Cancel racing with the admission it may lose to: exactly one wins, and no permit is left behind. */
    @ParameterizedTest
    @ValueSource(strings = {"standalone", "cluster"})
    void cancelRacingAdmissionNeverLeaksAPermit(String which) throws Exception {
        String name = TestRedis.uniqueName("race");
        RedisAdmissionQueue a = closeLater(builder(which, name, 1).build());
        RedisAdmissionQueue b = closeLater(builder(which, name, 1).build());
        int cancelledWins = 0;
        int admissionWins = 0;
        for (int i = 0; i < 100; i++) {
            Permit held = a.enter("holder").await(Duration.ofSeconds(30));
            Ticket waiter = b.enter("waiter");
            Thread releaser = new Thread(held::close);
            releaser.start();
            boolean cancelled = waiter.cancel();
            releaser.join();
            if (cancelled) {
                cancelledWins++;
                assertThat(waiter.state()).isEqualTo(Ticket.State.CANCELLED);
            } else {
                admissionWins++;
                assertThat(waiter.state()).isEqualTo(Ticket.State.ADMITTED);
                waiter.permit().join().close();
            }
        }
        System.out.println("cancel won " + cancelledWins + ", admission won " + admissionWins);
        assertThat(a.stats().running()).isZero();
        assertThat(a.stats().queued()).isZero();
    }
}
