package dev.usher.gate.redis;

import dev.usher.gate.admission.Permit;
import dev.usher.gate.admission.Ticket;
import dev.usher.gate.admission.TicketUpdate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import redis.clients.jedis.UnifiedJedis;

/**
 * One instance of a multi-process test, run as its own JVM. Every run it is admitted to keeps an independent
 * count of runs in progress: it adds itself to a Redis set (another hash tag than the queue's) and raises a
 * high-water mark when the set is larger than ever, so a broken cap shows up whatever the queue reports.
 *
 * <p>Arguments: target name maxRunning perKey leaseMs mode workerId seed operations. Modes: {@code random}
 * (threads doing runs, cancels, timeouts and client-gone, then exit 0) and {@code hold} (holds every permit
 * it gets and keeps waiters, forever: the process to kill -9). Prints "READY", "HOLDING n" and "DONE n".
 */
public final class QueueWorker {
    static final String COUNT_SCRIPT = """
            redis.call('SADD', KEYS[1], ARGV[1])
            local n = redis.call('SCARD', KEYS[1])
            if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end
            return n
            """;

    private QueueWorker() {
    }

    static String activeKey(String name) {
        return "usher-test:{count-" + name + "}:active";
    }

    static String maxKey(String name) {
        return "usher-test:{count-" + name + "}:max";
    }

    public static void main(String[] args) throws Exception {
        String target = args[0];
        String name = args[1];
        int maxRunning = Integer.parseInt(args[2]);
        int perKey = Integer.parseInt(args[3]);
        long leaseMs = Long.parseLong(args[4]);
        String mode = args[5];
        String worker = args[6];
        long seed = Long.parseLong(args[7]);
        int operations = Integer.parseInt(args[8]);
        try (UnifiedJedis redis = TestRedis.connect(target);
             RedisAdmissionQueue queue = RedisAdmissionQueue.builder(redis, name, maxRunning)
                     .maxRunningPerKey(perKey).leaseTime(Duration.ofMillis(leaseMs))
                     .notificationPeriod(Duration.ofMillis(50)).build()) {
            AtomicLong runId = new AtomicLong();
            if (mode.equals("stall")) {
                // Holds one permit and one waiter, then waits for the test to freeze and thaw this process.
                Permit held = queue.enter(worker + "-held").permit().join();
                Ticket waiter = queue.enter(worker + "-waiter");
                System.out.println("STALL-READY " + ((FencedPermit) held).fencingToken() + " " + waiter.state());
                System.out.flush();
                try {
                    waiter.await(Duration.ofMinutes(2));
                    System.out.println("WAITER-ADMITTED");
                } catch (AdmissionUnavailableException e) {
                    System.out.println("WAITER-FAILED lease lost");
                }
                held.close(); // its slot was reaped meanwhile: must free nothing
                Permit again = queue.enter(worker + "-again").await(Duration.ofMinutes(2));
                System.out.println("AGAIN " + ((FencedPermit) again).fencingToken());
                again.close();
                System.out.println("DONE 0");
                System.out.flush();
                return;
            }
            if (mode.equals("hold")) {
                int held = 0;
                List<Ticket> tickets = new ArrayList<>();
                for (int i = 0; i < operations; i++) {
                    tickets.add(queue.enter(worker + "-key-" + i));
                }
                for (Ticket t : tickets) {
                    if (t.state() == Ticket.State.ADMITTED) {
                        redis.eval(COUNT_SCRIPT, List.of(activeKey(name), maxKey(name)),
                                List.of(worker + ":" + runId.incrementAndGet()));
                        held++;
                    }
                }
                System.out.println("HOLDING " + held);
                System.out.flush();
                Thread.sleep(Long.MAX_VALUE);
                return;
            }
            System.out.println("READY");
            System.out.flush();
            List<Thread> threads = new ArrayList<>();
            AtomicLong runs = new AtomicLong();
            for (int th = 0; th < 6; th++) {
                Random random = new Random(seed * 31 + th);
                Thread t = new Thread(() -> {
                    for (int i = 0; i < operations; i++) {
                        try {
                            if (once(queue, redis, name, worker, random, runId)) {
                                runs.incrementAndGet();
                            }
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }, "worker-" + th);
                t.start();
                threads.add(t);
            }
            for (Thread t : threads) {
                t.join();
            }
            System.out.println("DONE " + runs.get());
            System.out.flush();
        }
    }

    /** One random request; true if it ran. */
    private static boolean once(RedisAdmissionQueue queue, UnifiedJedis redis, String name, String worker,
                                Random random, AtomicLong runId) throws InterruptedException {
        String key = "key-" + random.nextInt(5);
        int action = random.nextInt(10);
        Consumer<TicketUpdate> listener = null;
        if (action == 9) {
            // The client went away: the first still-waiting tick fails, as a write to a closed stream would.
            listener = u -> {
                if (u.kind() == TicketUpdate.Kind.POSITION_CHANGED) {
                    throw new IllegalStateException("client gone");
                }
            };
        }
        Ticket ticket = queue.enter(key, listener);
        Permit permit;
        try {
            if (action == 7) {
                Thread.sleep(random.nextInt(20));
                if (ticket.cancel()) {
                    return false;
                }
                permit = ticket.permit().join();
            } else if (action == 8) {
                permit = ticket.await(Duration.ofMillis(1 + random.nextInt(30)));
            } else {
                permit = ticket.await(Duration.ofMinutes(2));
            }
        } catch (TimeoutException | CancellationException left) {
            return false;
        }
        String member = worker + ":" + runId.incrementAndGet();
        try {
            redis.eval(COUNT_SCRIPT, List.of(activeKey(name), maxKey(name)), List.of(member));
            Thread.sleep(random.nextInt(15));
        } finally {
            redis.srem(activeKey(name), member);
            permit.close();
        }
        return true;
    }
}
