package dev.usher.gate.admission;

/** The order in which an {@link AdmissionQueue} admits its waiters. */
public enum Ordering {
    /** First come, first served across all keys. One key's burst delays everyone behind it. */
    FIFO,
    /**
     * Round robin across keys, first come first served within a key (the default). Waiting is divided
     * into rounds: in each round every key with waiters gets at most one admission, keys in the order in
     * which they started waiting. A key that starts waiting joins the current round unless it was
     * already admitted in it, so one user's fifty requests do not starve another user's one.
     */
    FAIR_BY_KEY
}
