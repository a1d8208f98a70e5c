package dev.usher.gate.redis;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The wire side of one queue: each method is one call of {@code queue.lua} (one round trip, atomic on the
 * queue's slot) and turns its reply into a value. The local side ({@link DefaultRedisAdmissionQueue}) never
 * sees Redis replies. Methods named {@code *Probe} ignore the open circuit (see {@link RedisCalls}); the others
 * fail fast while it is open. All throw {@link AdmissionUnavailableException} when Redis is not reached.
 */
final class QueueProtocol {
    /** What {@code enter} did: admitted (value = fencing token), queued (value = position), full, or dead. */
    record Entered(Kind kind, long value, long estimateMs) {
        enum Kind { ADMITTED, QUEUED, FULL, DEAD }
    }

    /** What a withdrawal found: the ticket withdrawn, admitted before (its permit), or gone. */
    record Withdrawal(Result result, long fence, long waitedMs) {
        enum Result { WITHDRAWN, ADMITTED, GONE }
    }

    /** Where a ticket stands: queued (position, estimate), admitted (fence, waited) or not in Redis. */
    record Standing(State state, long first, long second) {
        enum State { QUEUED, ADMITTED, GONE }
    }

    /** Cluster-wide figures; average run -1 while unknown. */
    record Figures(int running, int queued, long admitted, long rejected, long timedOut, long cancelled,
                   long averageRunMs) {
    }

    private final RedisCalls calls;
    private final String prefix;
    private final String[] settings;
    private volatile String instance;

    QueueProtocol(RedisCalls calls, String prefix, RedisAdmissionQueue.Builder b, String instance) {
        this.calls = calls;
        this.prefix = prefix;
        this.settings = new String[] {
            Integer.toString(b.maxRunning),
            Integer.toString(b.maxRunningPerKey),
            Integer.toString(b.maxQueued),
            null, // the instance, filled per call
            Long.toString(b.leaseTime.toMillis()),
            Long.toString(b.reconnectGrace.toMillis()),
            Double.toString(b.smoothing),
            Long.toString(b.initialRunDuration == null ? 0 : Math.max(1, b.initialRunDuration.toMillis())),
        };
        this.instance = instance;
    }

    String instance() {
        return instance;
    }

    void instance(String newInstance) {
        this.instance = newInstance;
    }

    String channel(String inst) {
        return prefix + "ch:" + inst;
    }

    boolean available() {
        return !calls.isOpen();
    }

    void shutdown() {
        calls.shutdown();
    }

    Entered enter(String key, String ticketId) {
        List<Object> r = list(calls.call(args("enter", List.of(key, ticketId))));
        switch (str(r.get(0))) {
            case "admitted":
                return new Entered(Entered.Kind.ADMITTED, num(r.get(1)), 0);
            case "queued":
                return new Entered(Entered.Kind.QUEUED, num(r.get(1)), num(r.get(2)));
            case "full":
                return new Entered(Entered.Kind.FULL, num(r.get(1)), -1);
            case "dead":
                return new Entered(Entered.Kind.DEAD, 0, -1);
            default:
                throw new IllegalStateException("unexpected reply to enter: " + r);
        }
    }

    /** Gives a permit's slot back; false if it was already gone (reaped, or released before). */
    boolean close(String permitId, boolean probe) {
        List<String> a = args("close", List.of(permitId));
        return num(probe ? calls.probe(a) : calls.call(a)) == 1;
    }

    Withdrawal cancel(String ticketId, boolean timeout, boolean probe) {
        List<String> a = args("cancel", List.of(ticketId, timeout ? "timeout" : "cancel"));
        return withdrawal(list(probe ? calls.probe(a) : calls.call(a)));
    }

    /** Withdraws many tickets in one call; one result per id, in order. */
    List<Withdrawal> leave(List<String> ticketIds, boolean timeout) {
        List<String> extra = new ArrayList<>(ticketIds.size() + 1);
        extra.add(timeout ? "timeout" : "cancel");
        extra.addAll(ticketIds);
        List<Object> r = list(calls.call(args("leave", extra)));
        List<Withdrawal> out = new ArrayList<>(r.size());
        for (Object o : r) {
            out.add(withdrawal(list(o)));
        }
        return out;
    }

    /** Renews this instance's lease (and reaps the dead); false when the lease had already run out. */
    boolean heartbeatProbe() {
        return num(calls.probe(args("heartbeat", List.of()))) == 1;
    }

    void registerProbe() {
        calls.probe(args("register", List.of()));
    }

    List<Standing> positions(List<String> ticketIds) {
        List<Object> r = list(calls.call(args("positions", ticketIds)));
        List<Standing> out = new ArrayList<>(ticketIds.size());
        for (int i = 2; i < r.size(); i++) {
            List<Object> s = list(r.get(i));
            switch (str(s.get(0))) {
                case "q" -> out.add(new Standing(Standing.State.QUEUED, num(s.get(1)), num(s.get(2))));
                case "a" -> out.add(new Standing(Standing.State.ADMITTED, num(s.get(1)), num(s.get(2))));
                default -> out.add(new Standing(Standing.State.GONE, 0, 0));
            }
        }
        return out;
    }

    Figures figures() {
        List<Object> r = list(calls.call(args("stats", List.of())));
        return new Figures((int) num(r.get(0)), (int) num(r.get(1)), num(r.get(2)), num(r.get(3)), num(r.get(4)),
                num(r.get(5)), num(r.get(6)));
    }

    private List<String> args(String op, List<String> extra) {
        List<String> a = new ArrayList<>(2 + settings.length + extra.size());
        a.add(op);
        a.add(prefix);
        for (String s : settings) {
            a.add(s == null ? instance : s);
        }
        a.addAll(extra);
        return a;
    }

    private static Withdrawal withdrawal(List<Object> r) {
        return switch ((int) num(r.get(0))) {
            case 1 -> new Withdrawal(Withdrawal.Result.WITHDRAWN, 0, 0);
            case 2 -> new Withdrawal(Withdrawal.Result.ADMITTED, num(r.get(1)), num(r.get(2)));
            default -> new Withdrawal(Withdrawal.Result.GONE, 0, 0);
        };
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object reply) {
        return (List<Object>) reply;
    }

    private static String str(Object o) {
        return o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(o);
    }

    private static long num(Object o) {
        return o instanceof Long l ? l : Long.parseLong(str(o));
    }
}
