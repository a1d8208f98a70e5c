package dev.usher.gate.admission;

import java.util.Comparator;
import java.util.function.ToLongFunction;

/**
 * An order-statistic set: a treap whose nodes know their subtree size, so insert, remove, rank and
 * successor all cost O(log n) expected. The order is either a comparator, or two long keys (major, then
 * minor) read from each element once, when it is added: the queue's trees are all ordered by two longs, and
 * a node that holds them answers a comparison without calling anything or reading its element, which at
 * 100,000 waiters is what a walk mostly spends its time on (a cache miss per element read). The order must
 * be total over the elements held (no two distinct elements compare equal), and an element's keys must not
 * change while it is held. Not thread-safe: the queue's lock guards it.
 */
final class RankedTree<T> {
    private static final class Node<T> {
        final T value;
        final long major;
        final long minor;
        final int priority;
        Node<T> left;
        Node<T> right;
        int size = 1;
        int leftSize; // size(left), kept here so that a walk turning right never reads the left child

        Node(T value, long major, long minor, int priority) {
            this.value = value;
            this.major = major;
            this.minor = minor;
            this.priority = priority;
        }
    }

    private final Comparator<? super T> order; // null: by keys
    private final ToLongFunction<? super T> majorKey;
    private final ToLongFunction<? super T> minorKey;
    // Priorities are a mixed counter: the shape only has to be random with respect to the keys, and a
    // counter makes failures replayable without a random generator object per tree.
    private int priorities;
    private Node<T> root;
    private Node<T> splitSmaller; // the halves of the last split, so a split allocates nothing
    private Node<T> splitRest;

    RankedTree(Comparator<? super T> order) {
        this.order = order;
        this.majorKey = null;
        this.minorKey = null;
    }

    /** Ordered by {@code major}, then {@code minor}. */
    RankedTree(ToLongFunction<? super T> major, ToLongFunction<? super T> minor) {
        this.order = null;
        this.majorKey = major;
        this.minorKey = minor;
    }

    int size() {
        return size(root);
    }

    void clear() {
        root = null;
    }

    private long major(T value) {
        return order == null ? majorKey.applyAsLong(value) : 0;
    }

    private long minor(T value) {
        return order == null ? minorKey.applyAsLong(value) : 0;
    }

    /** Compares {@code value}, whose keys are {@code major} and {@code minor}, with the node's element. */
    private int compare(T value, long major, long minor, Node<T> node) {
        if (order != null) {
            return order.compare(value, node.value);
        }
        if (major != node.major) {
            return major < node.major ? -1 : 1;
        }
        return minor == node.minor ? 0 : minor < node.minor ? -1 : 1;
    }

    private int nextPriority() {
        int h = ++priorities * 0x9E37_79B9;
        h ^= h >>> 16;
        h *= 0x85EB_CA6B;
        h ^= h >>> 13;
        h *= 0xC2B2_AE35;
        return h ^ (h >>> 16);
    }

    /** Adds {@code value}, which must not be present: down to where its priority puts it, then splits there. */
    void add(T value) {
        long major = major(value);
        long minor = minor(value);
        Node<T> added = new Node<>(value, major, minor, nextPriority());
        Node<T> parent = null;
        boolean leftOfParent = false;
        Node<T> node = root;
        while (node != null && node.priority >= added.priority) {
            node.size++;
            parent = node;
            leftOfParent = compare(value, major, minor, node) < 0;
            if (leftOfParent) {
                node.leftSize++;
                node = node.left;
            } else {
                node = node.right;
            }
        }
        split(node, value, major, minor);
        added.left = splitSmaller;
        added.right = splitRest;
        splitSmaller = null;
        splitRest = null;
        update(added);
        if (parent == null) {
            root = added;
        } else if (leftOfParent) {
            parent.left = added;
        } else {
            parent.right = added;
        }
    }

    /** Removes {@code value}; returns false if it was not present. */
    boolean remove(T value) {
        long major = major(value);
        long minor = minor(value);
        Node<T> parent = null;
        Node<T> node = root;
        while (node != null) {
            int c = compare(value, major, minor, node);
            if (c == 0) {
                Node<T> joined = merge(node.left, node.right);
                if (parent == null) {
                    root = joined;
                } else if (parent.left == node) {
                    parent.left = joined;
                } else {
                    parent.right = joined;
                }
                // Sizes on the path shrink by one; walk it again rather than keep a stack.
                for (Node<T> n = root; n != joined && n != null; ) {
                    n.size--;
                    if (compare(value, major, minor, n) < 0) {
                        n.leftSize--;
                        n = n.left;
                    } else {
                        n = n.right;
                    }
                }
                return true;
            }
            parent = node;
            node = c < 0 ? node.left : node.right;
        }
        return false;
    }

    /** How many elements are smaller than {@code value} (whether or not it is present). */
    int rank(T value) {
        long major = major(value);
        long minor = minor(value);
        int smaller = 0;
        Node<T> node = root;
        while (node != null) {
            if (compare(value, major, minor, node) <= 0) {
                node = node.left;
            } else {
                smaller += node.leftSize + 1;
                node = node.right;
            }
        }
        return smaller;
    }

    /** The element with {@code index} smaller elements (0-based), or null when the index is out of range. */
    T select(int index) {
        Node<T> node = root;
        while (node != null) {
            int left = node.leftSize;
            if (index < left) {
                node = node.left;
            } else if (index == left) {
                return node.value;
            } else {
                index -= left + 1;
                node = node.right;
            }
        }
        return null;
    }

    /** The smallest element, or null when empty. */
    T first() {
        Node<T> node = root;
        if (node == null) {
            return null;
        }
        while (node.left != null) {
            node = node.left;
        }
        return node.value;
    }

    /** The smallest element greater than {@code value}, or null. */
    T higher(T value) {
        long major = major(value);
        long minor = minor(value);
        T best = null;
        Node<T> node = root;
        while (node != null) {
            if (compare(value, major, minor, node) < 0) {
                best = node.value;
                node = node.left;
            } else {
                node = node.right;
            }
        }
        return best;
    }

    private static int size(Node<?> node) {
        return node == null ? 0 : node.size;
    }

    /** Splits into (elements smaller than value, the rest), left in splitSmaller and splitRest. */
    private void split(Node<T> node, T value, long major, long minor) {
        if (node == null) {
            splitSmaller = null;
            splitRest = null;
            return;
        }
        if (compare(value, major, minor, node) > 0) { // node is smaller than value
            split(node.right, value, major, minor);
            node.right = splitSmaller;
            update(node);
            splitSmaller = node;
            return;
        }
        split(node.left, value, major, minor);
        node.left = splitRest;
        update(node);
        splitRest = node;
    }

    /** Joins two treaps where every element of {@code a} is smaller than every element of {@code b}. */
    private Node<T> merge(Node<T> a, Node<T> b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        if (a.priority > b.priority) {
            a.right = merge(a.right, b);
            update(a);
            return a;
        }
        b.left = merge(a, b.left);
        update(b);
        return b;
    }

    private static void update(Node<?> node) {
        node.leftSize = size(node.left);
        node.size = 1 + node.leftSize + size(node.right);
    }
}
