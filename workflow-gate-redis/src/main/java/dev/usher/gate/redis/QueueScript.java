package dev.usher.gate.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisNoScriptException;

/**
 * The queue's one Lua script ({@code queue.lua}, an op name as first argument), called by its SHA-1. A
 * server that does not know it (restart, failover, {@code SCRIPT FLUSH}) answers {@code NOSCRIPT}; the call
 * is then repeated once as {@code EVAL}, which also caches it there.
 */
final class QueueScript {
    static final QueueScript INSTANCE = new QueueScript(load());

    private final String source;
    private final String sha1;

    private QueueScript(String source) {
        this.source = source;
        try {
            this.sha1 = HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-1", e);
        }
    }

    Object run(UnifiedJedis redis, String metaKey, List<String> args) {
        try {
            return redis.evalsha(sha1, List.of(metaKey), args);
        } catch (JedisNoScriptException e) {
            return redis.eval(source, List.of(metaKey), args);
        }
    }

    private static String load() {
        try (InputStream in = QueueScript.class.getResourceAsStream("queue.lua")) {
            if (in == null) {
                throw new IllegalStateException("queue.lua missing from the workflow-gate-redis jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
