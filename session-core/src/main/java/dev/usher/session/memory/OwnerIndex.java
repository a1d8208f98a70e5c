package dev.usher.session.memory;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * {@link InMemorySessionStore}'s owner index: owner to session ids, compact because most owners have a few
 * sessions. The value is one id (a String), a few ids (a copy-on-write String[] of at most
 * {@link #ARRAY_MAX}), or a concurrent set beyond that; an owner with one session costs one map entry.
 *
 * <p>Thread-safe: each owner's value changes only inside {@code compute} on its entry, and readers see an
 * immutable id or array, or a concurrent set. Readers may see an id whose session has just moved or ended,
 * so they check the session itself.
 */
final class OwnerIndex {
    private static final int ARRAY_MAX = 32;

    private final ConcurrentHashMap<String, Object> byOwner = new ConcurrentHashMap<>();

    void add(String owner, String id) {
        byOwner.compute(owner, (o, owned) -> withId(owned, id));
    }

    void remove(String owner, String id) {
        byOwner.computeIfPresent(owner, (o, owned) -> withoutId(owned, id));
    }

    void forEachId(String owner, Consumer<String> action) {
        Object owned = byOwner.get(owner);
        if (owned == null) {
            return;
        }
        if (owned instanceof String id) {
            action.accept(id);
        } else if (owned instanceof String[] ids) {
            for (String id : ids) {
                action.accept(id);
            }
        } else {
            for (Object id : (Set<?>) owned) {
                action.accept((String) id);
            }
        }
    }

    /** Number of owners indexed. */
    int size() {
        return byOwner.size();
    }

    @SuppressWarnings("unchecked")
    private static Object withId(Object owned, String id) {
        if (owned == null) {
            return id;
        }
        if (owned instanceof String one) {
            return one.equals(id) ? one : new String[] {one, id};
        }
        if (owned instanceof String[] ids) {
            if (List.of(ids).contains(id)) {
                return ids;
            }
            if (ids.length < ARRAY_MAX) {
                String[] more = Arrays.copyOf(ids, ids.length + 1);
                more[ids.length] = id;
                return more;
            }
            Set<String> set = ConcurrentHashMap.newKeySet(ids.length * 2);
            set.addAll(List.of(ids));
            set.add(id);
            return set;
        }
        ((Set<String>) owned).add(id);
        return owned;
    }

    /** The owner's ids without {@code id}, or null when none is left. */
    private static Object withoutId(Object owned, String id) {
        if (owned instanceof String one) {
            return one.equals(id) ? null : one;
        }
        if (owned instanceof String[] ids) {
            int at = List.of(ids).indexOf(id);
            if (at < 0) {
                return ids;
            }
            if (ids.length == 2) {
                return ids[1 - at];
            }
            String[] fewer = new String[ids.length - 1];
            System.arraycopy(ids, 0, fewer, 0, at);
            System.arraycopy(ids, at + 1, fewer, at, ids.length - at - 1);
            return fewer;
        }
        Set<?> set = (Set<?>) owned;
        set.remove(id);
        return set.isEmpty() ? null : set;
    }
}
