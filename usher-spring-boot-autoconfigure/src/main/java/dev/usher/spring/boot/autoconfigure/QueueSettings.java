package dev.usher.spring.boot.autoconfigure;

import java.time.Duration;

/**
 * The {@code usher.queue.*} limits, checked once for either queue (local or on Redis): each names its
 * property when it is out of range.
 *
 * @param maxRunningPerSession 0 when not limited
 */
record QueueSettings(int maxRunning, int maxQueued, Duration maxWait, int maxRunningPerSession,
                     Duration initialRunDuration) {

    static QueueSettings of(UsherProperties.Queue q) {
        int maxRunning = Settings.atLeast("usher.queue.max-running", q.getMaxRunning(), 1);
        int maxQueued = Settings.atLeast("usher.queue.max-queued", q.getMaxQueued(), 0);
        Duration maxWait = Settings.atLeast("usher.queue.max-wait", q.getMaxWait(), Duration.ofMillis(1));
        int perSession = Settings.atLeast("usher.queue.max-running-per-session", q.getMaxRunningPerSession(), 0);
        if (perSession > maxRunning) {
            throw new UsherConfigurationException("usher.queue.max-running-per-session",
                    "must be at most usher.queue.max-running (" + maxRunning + ") but was " + perSession);
        }
        Duration initial = Settings.atLeast("usher.queue.initial-run-duration", q.getInitialRunDuration(),
                Duration.ofMillis(1));
        return new QueueSettings(maxRunning, maxQueued, maxWait, perSession, initial);
    }
}
