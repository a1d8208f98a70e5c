package dev.usher.gate.redis;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A plain, slow reference of the fair-by-key order the queue promises: tags (round, key order) as the local
 * queue gives them, a key's later waiters moving into the slot of one that leaves, admission of the smallest
 * head tag of a key below its per-key limit. Positions are counted by brute force.
 */
final class FairOrderModel {
    private final int maxRunning;
    private final int perKey;
    private final Map<String, KeyState> keys = new HashMap<>();
    private final Map<Integer, long[]> tags = new HashMap<>();
    private final Map<Integer, String> keyOf = new HashMap<>();
    private final Set<Integer> running = new HashSet<>();
    private long curRound;
    private long curOrder;
    private long keyOrders;
    private int nextId;

    private static final class KeyState {
        final long order;
        final List<Integer> queued = new ArrayList<>();
        int running;
        long lastAdmittedRound = -1;

        KeyState(long order) {
            this.order = order;
        }
    }

    FairOrderModel(int maxRunning, int perKey) {
        this.maxRunning = maxRunning;
        this.perKey = perKey;
    }

    int enter(String key) {
        KeyState ks = keys.computeIfAbsent(key, k -> new KeyState(++keyOrders));
        long last = ks.queued.isEmpty() ? ks.lastAdmittedRound : tags.get(ks.queued.get(ks.queued.size() - 1))[0];
        long round = Math.max(curRound, last + 1);
        if (round == curRound && ks.order <= curOrder) {
            round++;
        }
        int id = ++nextId;
        tags.put(id, new long[] {round, ks.order});
        keyOf.put(id, key);
        ks.queued.add(id);
        admit();
        return id;
    }

    private static int compare(long[] a, long[] b) {
        return a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]);
    }

    private void admit() {
        while (running.size() < maxRunning) {
            Integer best = null;
            for (KeyState ks : keys.values()) {
                if (!ks.queued.isEmpty() && ks.running < perKey) {
                    Integer head = ks.queued.get(0);
                    if (best == null || compare(tags.get(head), tags.get(best)) < 0) {
                        best = head;
                    }
                }
            }
            if (best == null) {
                return;
            }
            KeyState ks = keys.get(keyOf.get(best));
            ks.queued.remove(0);
            ks.running++;
            running.add(best);
            long[] t = tags.get(best);
            ks.lastAdmittedRound = Math.max(ks.lastAdmittedRound, t[0]);
            if (t[0] > curRound || (t[0] == curRound && t[1] > curOrder)) {
                curRound = t[0];
                curOrder = t[1];
            }
        }
    }

    void release(int id) {
        running.remove(id);
        KeyState ks = keys.get(keyOf.get(id));
        ks.running--;
        admit();
        dropIfIdle(keyOf.get(id));
    }

    void cancel(int id) {
        String key = keyOf.get(id);
        KeyState ks = keys.get(key);
        int j = ks.queued.indexOf(id);
        long[] prev = tags.get(id);
        for (int i = j + 1; i < ks.queued.size(); i++) {
            long[] mine = tags.get(ks.queued.get(i));
            tags.put(ks.queued.get(i), prev);
            prev = mine;
        }
        ks.queued.remove(j);
        dropIfIdle(key);
        admit();
    }

    private void dropIfIdle(String key) {
        KeyState ks = keys.get(key);
        if (ks != null && ks.queued.isEmpty() && ks.running == 0) {
            keys.remove(key);
        }
    }

    boolean isRunning(int id) {
        return running.contains(id);
    }

    boolean isQueued(int id) {
        KeyState ks = keys.get(keyOf.get(id));
        return ks != null && ks.queued.contains(id);
    }

    int position(int id) {
        long[] mine = tags.get(id);
        int ahead = 0;
        for (KeyState ks : keys.values()) {
            for (int other : ks.queued) {
                if (compare(tags.get(other), mine) < 0) {
                    ahead++;
                }
            }
        }
        return ahead + 1;
    }
}
