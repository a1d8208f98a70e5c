package dev.usher.gate.admission;

import java.util.Comparator;
import java.util.SplittableRandom;

/**
 * An order-statistic set: a treap whose nodes know their subtree size, so insert, remove, rank and
 * successor all cost O(log n) expected. The comparator must be a total order over the elements held
 * (no two distinct elements compare equal). Not thread-safe: the queue's lock guards it.
 */
final class RankedTree<T> {
    private static final class Node<T> {
        final T value;
        final int priority;
        Node<T> left;
        Node<T> right;
        int size = 1;

        Node(T value, int priority) {
            this.value = value;
            this.priority = priority;
        }
    }

    private final Comparator<? super T> order;
    // Fixed seed: the shape only has to be random with respect to the keys, and a seed makes failures replayable.
    private final SplittableRandom random = new SplittableRandom(0x5eed_a11L);
    private Node<T> root;

    RankedTree(Comparator<? super T> order) {
        this.order = order;
    }

    int size() {
        return size(root);
    }

    void clear() {
        root = null;
    }

    void add(T value) {
        Halves<T> halves = split(root, value);
        root = merge(merge(halves.smaller, new Node<>(value, random.nextInt())), halves.rest);
    }

    /** Removes {@code value}; returns false if it was not present. */
    boolean remove(T value) {
        Node<T> parent = null;
        Node<T> node = root;
        while (node != null) {
            int c = order.compare(value, node.value);
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
                    int d = order.compare(value, n.value);
                    n = d < 0 ? n.left : n.right;
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
        int smaller = 0;
        Node<T> node = root;
        while (node != null) {
            int c = order.compare(value, node.value);
            if (c <= 0) {
                node = node.left;
            } else {
                smaller += size(node.left) + 1;
                node = node.right;
            }
        }
        return smaller;
    }

    /** The element with {@code index} smaller elements (0-based), or null when the index is out of range. */
    T select(int index) {
        Node<T> node = root;
        while (node != null) {
            int left = size(node.left);
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
        T best = null;
        Node<T> node = root;
        while (node != null) {
            if (order.compare(value, node.value) < 0) {
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

    /** The two halves of a split. */
    private static final class Halves<T> {
        Node<T> smaller;
        Node<T> rest;
    }

    /** Splits into (elements smaller than value, the rest). */
    private Halves<T> split(Node<T> node, T value) {
        if (node == null) {
            return new Halves<>();
        }
        if (order.compare(node.value, value) < 0) {
            Halves<T> halves = split(node.right, value);
            node.right = halves.smaller;
            update(node);
            halves.smaller = node;
            return halves;
        }
        Halves<T> halves = split(node.left, value);
        node.left = halves.rest;
        update(node);
        halves.rest = node;
        return halves;
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
        node.size = 1 + size(node.left) + size(node.right);
    }
}
