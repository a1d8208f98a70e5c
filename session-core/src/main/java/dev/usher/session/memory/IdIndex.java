package dev.usher.session.memory;

import dev.usher.session.Session;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * {@link InMemorySessionStore}'s ids in order, which serve both listing (a cursor is the last id listed)
 * and owner lookups, so that an owner costs no index entry of its own.
 *
 * <p>The store chooses the ids of owned sessions ({@link InMemorySessionStore#newSessionId}): the first
 * {@value #TAG_CHARS} characters (30 bits) are a tag of the owner, a hash keyed with a random per-store secret
 * (so an id says nothing about its owner to anyone else), and the other 226 bits are random. An owner's
 * sessions are then one range of the ordered ids, and {@link #forEachOfOwner} reads that range and keeps
 * the sessions whose owner matches (another owner may share the tag). A session whose id does not carry its
 * owner's tag (one written through the SPI with an id of its own) is also filed in a small
 * {@link OwnerIndex}; with ids from the store that index stays empty.
 *
 * <p>Thread-safe: the ordered map is concurrent, and an id's entries change only inside the store's map
 * step for that id. Readers may meet an entry whose session has just moved or ended; the store checks.
 */
final class IdIndex {
    static final int TAG_CHARS = 5;
    private static final char[] BASE64URL =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".toCharArray();

    private final long secret = new SecureRandom().nextLong();
    private final ConcurrentSkipListMap<String, StoredSession> byId = new ConcurrentSkipListMap<>();
    private final OwnerIndex untagged = new OwnerIndex();

    /** {@code randomId} (43 random base64url characters) with its first characters replaced by the owner's tag. */
    String tagged(String randomId, String owner) {
        char[] id = randomId.toCharArray();
        int tag = tag(owner);
        for (int i = 0; i < TAG_CHARS; i++) {
            id[i] = tagChar(tag, i);
        }
        return new String(id);
    }

    void add(StoredSession entry) {
        Session s = entry.session;
        byId.put(s.id(), entry);
        if (s.owner() != null && !carriesTag(s.id(), s.owner())) {
            untagged.add(s.owner(), s.id());
        }
    }

    void remove(Session s) {
        byId.remove(s.id());
        removeUntagged(s);
    }

    /** Keeps the owner lookup right when a write changes the owner of a session under the same id. */
    void ownerChanged(Session previous, Session next) {
        removeUntagged(previous);
        if (next.owner() != null && !carriesTag(next.id(), next.owner())) {
            untagged.add(next.owner(), next.id());
        }
    }

    /** The entries listed after {@code cursor} (null for the start), in id order. */
    Map<String, StoredSession> after(String cursor) {
        return cursor == null ? byId : byId.tailMap(cursor, false);
    }

    /**
     * Calls {@code action} with the entries that may be the owner's: its tagged range and its untagged ids
     * (looked up with {@code byIdLookup}). The caller checks each entry's owner.
     */
    void forEachOfOwner(String owner, Function<String, StoredSession> byIdLookup,
                        Consumer<StoredSession> action) {
        int tag = tag(owner);
        char[] prefix = new char[TAG_CHARS];
        for (int i = 0; i < TAG_CHARS; i++) {
            prefix[i] = tagChar(tag, i);
        }
        String from = new String(prefix);
        byId.subMap(from, true, from + Character.MAX_VALUE, false).values().forEach(action);
        untagged.forEachId(owner, id -> {
            StoredSession entry = byIdLookup.apply(id);
            if (entry != null) {
                action.accept(entry);
            }
        });
    }

    int untaggedOwners() {
        return untagged.size();
    }

    private void removeUntagged(Session s) {
        if (s.owner() != null && !carriesTag(s.id(), s.owner())) {
            untagged.remove(s.owner(), s.id());
        }
    }

    private boolean carriesTag(String id, String owner) {
        if (id.length() < TAG_CHARS) {
            return false;
        }
        int tag = tag(owner);
        for (int i = 0; i < TAG_CHARS; i++) {
            if (id.charAt(i) != tagChar(tag, i)) {
                return false;
            }
        }
        return true;
    }

    private static char tagChar(int tag, int i) {
        return BASE64URL[(tag >>> (6 * (TAG_CHARS - 1 - i))) & 63];
    }

    /** 30 bits of a hash of the owner keyed with this store's secret. */
    private int tag(String owner) {
        long h = secret;
        for (int i = 0; i < owner.length(); i++) {
            h = (h ^ owner.charAt(i)) * 0x100000001B3L;
        }
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        h ^= h >>> 33;
        return (int) h & ((1 << (6 * TAG_CHARS)) - 1);
    }
}
