package dev.usher.session;

/**
 * The backing engine could not be reached, or did not answer within the store's timeout. Nothing was
 * written, or the write is unknown; retrying later is safe because every write is a compare-and-set.
 */
public class StoreUnavailableException extends SessionStoreException {
    private static final long serialVersionUID = 1L;

    public StoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
