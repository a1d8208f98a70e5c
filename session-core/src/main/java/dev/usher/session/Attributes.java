package dev.usher.session;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * The immutable attribute maps a {@link Session} holds, sized for the few attributes a session usually has:
 * none is {@link Map#of()}, one is {@link Map#of(Object, Object)} (24 bytes; a caller's own one-entry
 * {@code Map.of} is kept as it is), more are an {@code AttributeArray} of names and values in insertion
 * order (a fifth of the heap of a {@code LinkedHashMap} of two). A map made here is never copied again, so
 * {@link Session#withAttribute} and the manager's writes cost one small array, not three hash tables.
 *
 * <p>Stateless; the maps are immutable and safe to share.
 */
final class Attributes {
    private static final Class<?> ONE_ENTRY_MAP = Map.of("", "").getClass();
    /** {@code Map.of()} and {@code Map.of} of two or more: immutable, free of nulls, in a stable order. */
    private static final Class<?> IMMUTABLE_MAP = Map.of().getClass();

    private Attributes() {
    }

    /** An immutable copy of {@code attributes} in its iteration order, or the map itself when it is one already. */
    static Map<String, String> copyOf(Map<String, String> attributes) {
        Class<?> type = attributes.getClass();
        if (type == AttributeArray.class || type == ONE_ENTRY_MAP || type == IMMUTABLE_MAP) {
            return attributes; // immutable and free of nulls by construction
        }
        int size = attributes.size();
        if (size == 0) {
            return Map.of();
        }
        String[] namesAndValues = new String[size * 2];
        int i = 0;
        for (Map.Entry<String, String> e : attributes.entrySet()) {
            if (i == namesAndValues.length) {
                throw new IllegalArgumentException("attributes changed while being copied");
            }
            String name = Objects.requireNonNull(e.getKey(), "attribute name");
            namesAndValues[i++] = name;
            namesAndValues[i++] = Objects.requireNonNull(e.getValue(), () -> "value of attribute '" + name + "'");
        }
        if (i != namesAndValues.length) {
            throw new IllegalArgumentException("attributes changed while being copied");
        }
        return of(namesAndValues);
    }

    /** {@code attributes} with {@code name} set to {@code value} (replaced in place, or added last). */
    static Map<String, String> with(Map<String, String> attributes, String name, String value) {
        Objects.requireNonNull(name, "attribute name");
        Objects.requireNonNull(value, () -> "value of attribute '" + name + "'");
        String[] own = namesAndValues(copyOf(attributes));
        for (int i = 0; i < own.length; i += 2) {
            if (own[i].equals(name)) {
                String[] replaced = own.clone();
                replaced[i + 1] = value;
                return of(replaced);
            }
        }
        String[] added = new String[own.length + 2];
        System.arraycopy(own, 0, added, 0, own.length);
        added[own.length] = name;
        added[own.length + 1] = value;
        return of(added);
    }

    /**
     * The names and values of a map made here ({@link #copyOf}), names at even indexes: an
     * {@code AttributeArray}'s own array, which the caller must not change, or a fresh one.
     */
    static String[] namesAndValues(Map<String, String> own) {
        if (own instanceof AttributeArray array) {
            return array.namesAndValues;
        }
        String[] namesAndValues = new String[own.size() * 2];
        int i = 0;
        for (Map.Entry<String, String> e : own.entrySet()) {
            namesAndValues[i++] = e.getKey();
            namesAndValues[i++] = e.getValue();
        }
        return namesAndValues;
    }

    /** {@code attributes} without {@code name}. */
    static Map<String, String> without(Map<String, String> attributes, String name) {
        Map<String, String> own = copyOf(attributes);
        if (!own.containsKey(name)) {
            return own;
        }
        String[] namesAndValues = new String[(own.size() - 1) * 2];
        int i = 0;
        for (Map.Entry<String, String> e : own.entrySet()) {
            if (!e.getKey().equals(name)) {
                namesAndValues[i++] = e.getKey();
                namesAndValues[i++] = e.getValue();
            }
        }
        return of(namesAndValues);
    }

    /** The map of pairs in {@code namesAndValues} (names distinct, nothing null), which it takes over. */
    private static Map<String, String> of(String[] namesAndValues) {
        return switch (namesAndValues.length) {
            case 0 -> Map.of();
            case 2 -> Map.of(namesAndValues[0], namesAndValues[1]);
            default -> new AttributeArray(namesAndValues);
        };
    }

    /** Two or more attributes: names at even, values at odd indexes, in insertion order; looked up by a scan. */
    static final class AttributeArray extends AbstractMap<String, String> {
        private final String[] namesAndValues;

        private AttributeArray(String[] namesAndValues) {
            this.namesAndValues = namesAndValues;
        }

        private int indexOf(Object name) {
            for (int i = 0; i < namesAndValues.length; i += 2) {
                if (namesAndValues[i].equals(name)) {
                    return i;
                }
            }
            return -1;
        }

        @Override
        public int size() {
            return namesAndValues.length / 2;
        }

        @Override
        public boolean isEmpty() {
            return false;
        }

        @Override
        public String get(Object name) {
            int at = indexOf(name);
            return at < 0 ? null : namesAndValues[at + 1];
        }

        @Override
        public boolean containsKey(Object name) {
            return indexOf(name) >= 0;
        }

        @Override
        public void forEach(BiConsumer<? super String, ? super String> action) {
            for (int i = 0; i < namesAndValues.length; i += 2) {
                action.accept(namesAndValues[i], namesAndValues[i + 1]);
            }
        }

        @Override
        public Set<Map.Entry<String, String>> entrySet() {
            return new AbstractSet<>() {
                @Override
                public Iterator<Map.Entry<String, String>> iterator() {
                    return new Iterator<>() {
                        private int next;

                        @Override
                        public boolean hasNext() {
                            return next < namesAndValues.length;
                        }

                        @Override
                        public Map.Entry<String, String> next() {
                            if (next >= namesAndValues.length) {
                                throw new NoSuchElementException();
                            }
                            Map.Entry<String, String> e =
                                    new SimpleImmutableEntry<>(namesAndValues[next], namesAndValues[next + 1]);
                            next += 2;
                            return e;
                        }
                    };
                }

                @Override
                public int size() {
                    return namesAndValues.length / 2;
                }
            };
        }
    }
}
