/**
 * One admission queue shared by every instance of a service, on Redis or Redis Cluster: one cap, one fair
 * order and true positions across the cluster. Start with
 * {@link dev.usher.gate.redis.RedisAdmissionQueue#builder(redis.clients.jedis.UnifiedJedis, String, int)}.
 *
 * <p>Parameters and return values are never null unless documented otherwise.
 */
package dev.usher.gate.redis;
