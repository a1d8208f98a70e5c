package dev.usher.gate.cache;

import java.util.concurrent.CompletableFuture;

/** A creation in progress; waiters block on {@link #done}, then look the key up again. */
final class Loading implements Slot {
    final CompletableFuture<Void> done = new CompletableFuture<>();
    /** Completes once the value being created is closed (or its creation failed). */
    final CompletableFuture<Void> valueClosed = new CompletableFuture<>();
    /** Guarded by the key's {@code slots} bin lock. */
    boolean invalidated;
}
