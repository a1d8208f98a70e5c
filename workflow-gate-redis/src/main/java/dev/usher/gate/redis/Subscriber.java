package dev.usher.gate.redis;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.UnifiedJedis;

/**
 * The instance's one subscription, to its own channel, on a thread of its own
 * ({@code usher-redis-queue-<name>-sub}). Resubscribes after a lost connection; every (re)subscription
 * triggers a position refresh, which picks up admissions whose message was missed meanwhile.
 */
final class Subscriber {
    private static final Logger log = LoggerFactory.getLogger(Subscriber.class);

    private final UnifiedJedis redis;
    private final DefaultRedisAdmissionQueue queue;
    private final long retryMillis;
    private final CountDownLatch firstSubscription = new CountDownLatch(1);
    private volatile String channel;
    private volatile JedisPubSub current;
    private volatile boolean stopped;
    private final ThreadFactory threads;
    private Thread thread;

    Subscriber(UnifiedJedis redis, DefaultRedisAdmissionQueue queue, Duration retry, ThreadFactory threads) {
        this.threads = threads;
        this.redis = redis;
        this.queue = queue;
        this.retryMillis = Math.max(10, retry.toMillis());
    }

    /** Starts the thread and waits (up to {@code wait}) for the first subscription, so early wake-ups arrive. */
    void start(String initialChannel, Duration wait) {
        this.channel = initialChannel;
        thread = threads.newThread(this::loop);
        thread.start();
        try {
            firstSubscription.await(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        while (!stopped) {
            String ch = channel;
            JedisPubSub pubSub = new JedisPubSub() {
                @Override
                public void onMessage(String from, String message) {
                    queue.onMessage(message);
                }

                @Override
                public void onSubscribe(String to, int subscribedChannels) {
                    firstSubscription.countDown();
                    queue.onSubscribed();
                    if (stopped || !to.equals(channel)) {
                        unsubscribe();
                    }
                }
            };
            current = pubSub;
            try {
                redis.subscribe(pubSub, ch);
            } catch (RuntimeException e) {
                if (stopped) {
                    return;
                }
                log.debug("queue subscription lost ({}); resubscribing", e.toString());
                pause();
            }
        }
    }

    private void pause() {
        try {
            Thread.sleep(retryMillis); // waiting for Redis to come back; nothing to wait on instead
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopped = true;
        }
    }

    /** Moves the subscription to a new channel (a new instance id). */
    void switchTo(String newChannel) {
        channel = newChannel;
        unsubscribeQuietly();
    }

    void stop() {
        stopped = true;
        unsubscribeQuietly();
        if (thread != null) {
            try {
                thread.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (thread.isAlive()) {
                thread.interrupt();
            }
        }
    }

    private void unsubscribeQuietly() {
        JedisPubSub p = current;
        if (p != null) {
            try {
                if (p.isSubscribed()) {
                    p.unsubscribe();
                }
            } catch (RuntimeException e) {
                log.debug("unsubscribe failed: {}", e.toString());
            }
        }
    }
}
