package dev.usher.gate.admission;

/** The order in which an {@link AdmissionQueue} admits its waiters. */
public enum Ordering {
    /** First come, first served across all keys. One key's burst delays everyone behind it. */
    FIFO,
    /**
     * Round robin across keys, first come first served within a key (the default). Waiting is divided
     * into rounds: in each round every key with waiters gets at most one admission, keys in the order in
     * which they started waiting. A key with nothing queued and nothing running joins the current round
     * behind the keys already in it, so it waits for at most one admission per other key, and one user's
     * fifty requests do not starve another user's one. (With {@code maxRunningPerKey}, a key held back by
     * its own limit keeps its turns and may catch up on them when its run ends.)
     */
    FAIR_BY_KEY
}
