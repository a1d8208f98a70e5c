package dev.usher.gate.http;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Which reverse proxies (load balancers, nginx, a CDN) may tell this server who the client is, and the rule
 * that reads what they say. Behind a proxy every request comes from the proxy's address, so a host that rate
 * limits or counts by socket address treats all clients as one; the proxy names the client in
 * {@code X-Forwarded-For} (or {@code Forwarded}, RFC 7239) and the scheme in {@code X-Forwarded-Proto}. A
 * client can write those headers too, so they are believed only this far:
 *
 * <ul>
 *   <li>only when the socket peer is a trusted proxy (otherwise the peer is the client, whatever the headers
 *       say);</li>
 *   <li>walking the list of addresses from the right (the hop nearest to this server) past every trusted
 *       proxy, the first untrusted address is the client: addresses left of it were written by the client
 *       or by proxies nobody vouches for;</li>
 *   <li>a malformed entry (not an IP literal, {@code unknown}, an obfuscated name) stops the walk: the
 *       client is then the last trusted hop, never a name from the header, and no name is ever resolved
 *       through DNS;</li>
 *   <li>only the header the proxies are configured to write is read ({@code X-Forwarded-For} by default,
 *       {@link #usingForwardedHeader()} for {@code Forwarded}), because a proxy passes the other one
 *       through from the client untouched.</li>
 * </ul>
 *
 * <p>Immutable and thread-safe; no I/O. Build one at startup and share it:
 * <pre>{@code
 * TrustedProxies proxies = TrustedProxies.parse("10.0.0.0/8, 127.0.0.1, ::1");
 * ForwardedClient client = proxies.resolve(peerAddress, requestArrivedOverTls, request::headerValues);
 * }</pre>
 */
public final class TrustedProxies {
    /** Hops examined per request at most; a longer chain is cut at the last trusted hop examined. */
    static final int MAX_HOPS = 64;
    /** Header text examined per request at most (characters of all values of one field together). */
    static final int MAX_HEADER_CHARS = 8 * 1024;

    private static final TrustedProxies NONE = new TrustedProxies(List.of(), false);

    private final List<Range> ranges;
    private final boolean forwardedHeader;

    private TrustedProxies(List<Range> ranges, boolean forwardedHeader) {
        this.ranges = ranges;
        this.forwardedHeader = forwardedHeader;
    }

    /** No trusted proxy: the socket peer is always the client and forwarding headers are ignored. */
    public static TrustedProxies none() {
        return NONE;
    }

    /**
     * Trusts the given addresses and CIDR ranges, IPv4 or IPv6 ({@code "10.0.0.0/8"}, {@code "127.0.0.1"},
     * {@code "fd00::/8"}, {@code "::1"}).
     *
     * @throws IllegalArgumentException naming the entry if one is not an IP literal or a valid range
     */
    public static TrustedProxies of(Collection<String> addressesOrRanges) {
        Objects.requireNonNull(addressesOrRanges, "addressesOrRanges");
        List<Range> parsed = new ArrayList<>();
        for (String entry : addressesOrRanges) {
            parsed.add(Range.parse(Objects.requireNonNull(entry, "trusted proxy entry")));
        }
        return parsed.isEmpty() ? NONE : new TrustedProxies(List.copyOf(parsed), false);
    }

    /**
     * Parses a comma- or whitespace-separated list as {@link #of} does; a blank or null text means
     * {@link #none()}.
     */
    public static TrustedProxies parse(String commaSeparated) {
        if (commaSeparated == null || commaSeparated.isBlank()) {
            return NONE;
        }
        return of(Arrays.stream(commaSeparated.split("[,\\s]+")).filter(s -> !s.isEmpty()).toList());
    }

    /**
     * The same proxies, read through the standard {@code Forwarded} header ({@code for=} and {@code proto=}
     * parameters, RFC 7239) instead of {@code X-Forwarded-For}/{@code X-Forwarded-Proto}. Use it only when
     * every trusted proxy writes {@code Forwarded}.
     */
    public TrustedProxies usingForwardedHeader() {
        return new TrustedProxies(ranges, true);
    }

    /** Whether {@code address} is one of the trusted proxies. */
    public boolean isTrusted(InetAddress address) {
        Objects.requireNonNull(address, "address");
        byte[] bytes = address.getAddress();
        for (Range r : ranges) {
            if (r.contains(bytes)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Determines the client of one request.
     *
     * @param peer      the socket peer's address (the proxy's, behind a proxy)
     * @param directTls whether the connection from the peer to this server uses TLS
     * @param headers   the request's header values by field name, all lines of a field (a servlet's
     *                  {@code name -> Collections.list(request.getHeaders(name))}); may return null or an
     *                  empty list for a missing field
     */
    public ForwardedClient resolve(InetAddress peer, boolean directTls, Function<String, List<String>> headers) {
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(headers, "headers");
        if (ranges.isEmpty() || !isTrusted(peer)) {
            return new ForwardedClient(peer, directTls);
        }
        List<Hop> hops;
        String protoFallback = null;
        if (forwardedHeader) {
            hops = ForwardedParser.hops(join(headers.apply("Forwarded")));
        } else {
            hops = new ArrayList<>();
            for (String entry : splitList(join(headers.apply("X-Forwarded-For")))) {
                hops.add(new Hop(Addresses.parseHop(entry), null));
            }
            List<String> protos = splitList(join(headers.apply("X-Forwarded-Proto")));
            if (protos.size() == hops.size()) {
                for (int i = 0; i < hops.size(); i++) {
                    hops.set(i, new Hop(hops.get(i).address(), protos.get(i)));
                }
            } else if (!protos.isEmpty()) {
                protoFallback = protos.get(protos.size() - 1); // written by the nearest proxy
            }
        }
        InetAddress client = peer;
        String proto = null;
        int examined = 0;
        for (int i = hops.size() - 1; i >= 0 && examined < MAX_HOPS; i--, examined++) {
            Hop hop = hops.get(i);
            if (hop.address() == null) {
                break; // malformed: nothing left of here can be believed
            }
            client = hop.address();
            proto = hop.proto();
            if (!isTrusted(client)) {
                break;
            }
        }
        if (client == peer) {
            // No usable address header. The trusted peer may still report the scheme alone (a proxy that
            // terminates TLS and sets only X-Forwarded-Proto): believe the value the nearest proxy wrote.
            boolean secure = protoFallback == null ? directTls : protoFallback.trim().equalsIgnoreCase("https");
            return new ForwardedClient(peer, secure);
        }
        String scheme = proto != null ? proto : protoFallback;
        boolean secure = scheme == null ? directTls : scheme.trim().equalsIgnoreCase("https");
        return new ForwardedClient(client, secure);
    }

    /** Shorthand for {@code resolve(peer, false, headers).address()}. */
    public InetAddress clientAddress(InetAddress peer, Function<String, List<String>> headers) {
        return resolve(peer, false, headers).address();
    }

    /**
     * The client's address from the header values themselves: every line of {@code X-Forwarded-For} and of
     * {@code Forwarded} the request carried (either list may be empty). Only the one this instance reads
     * counts.
     */
    public InetAddress clientAddress(InetAddress peer, List<String> xForwardedFor, List<String> forwarded) {
        Objects.requireNonNull(xForwardedFor, "xForwardedFor");
        Objects.requireNonNull(forwarded, "forwarded");
        return clientAddress(peer, name -> name.equals("X-Forwarded-For") ? xForwardedFor
                : name.equals("Forwarded") ? forwarded : List.of());
    }

    /** The trusted ranges in CIDR notation, as configured. */
    public List<String> ranges() {
        return ranges.stream().map(Range::toString).toList();
    }

    @Override
    public String toString() {
        return "TrustedProxies" + ranges() + (forwardedHeader ? " via Forwarded" : " via X-Forwarded-For");
    }

    /** All lines of one field as one comma-separated list (RFC 9110, section 5.3), cut to a bounded length. */
    private static String join(List<String> values) {
        if (values == null || values.isEmpty()) {
            return "";
        }
        String joined = values.size() == 1 ? Objects.toString(values.get(0), "") : String.join(",", values.stream()
                .map(v -> Objects.toString(v, "")).toList());
        // The nearest hops are at the end: keep the end when cutting a hostile, overlong header.
        return joined.length() <= MAX_HEADER_CHARS ? joined : joined.substring(joined.length() - MAX_HEADER_CHARS);
    }

    private static List<String> splitList(String value) {
        if (value.isBlank()) {
            return List.of();
        }
        List<String> parts = new ArrayList<>();
        for (String p : value.split(",", -1)) {
            parts.add(p.trim());
        }
        return parts;
    }

    /** One hop of a forwarding chain: its address (null when malformed) and the scheme it reported. */
    record Hop(InetAddress address, String proto) {
    }

    /** An address range: the network's bytes and the prefix length. */
    private record Range(byte[] network, int prefix, String text) {
        static Range parse(String entry) {
            String s = entry.trim();
            int slash = s.indexOf('/');
            String addressPart = slash < 0 ? s : s.substring(0, slash);
            InetAddress address = Addresses.parseLiteral(addressPart);
            if (address == null) {
                throw new IllegalArgumentException(
                        "trusted proxy must be an IP address or a CIDR range but was '" + entry + "'");
            }
            byte[] bytes = address.getAddress();
            int bits = bytes.length * 8;
            int prefix = bits;
            if (slash >= 0) {
                String p = s.substring(slash + 1);
                if (!p.matches("[0-9]{1,3}") || Integer.parseInt(p) > bits) {
                    throw new IllegalArgumentException("trusted proxy prefix length must be 0 to " + bits
                            + " but was '" + p + "' in '" + entry + "'");
                }
                prefix = Integer.parseInt(p);
            }
            byte[] network = mask(bytes, prefix);
            String text;
            try {
                text = InetAddress.getByAddress(network).getHostAddress() + "/" + prefix;
            } catch (UnknownHostException impossible) {
                throw new IllegalStateException(impossible); // the array came from an address
            }
            return new Range(network, prefix, text);
        }

        boolean contains(byte[] address) {
            return address.length == network.length && Arrays.equals(mask(address, prefix), network);
        }

        private static byte[] mask(byte[] bytes, int prefix) {
            byte[] out = bytes.clone();
            for (int i = 0; i < out.length; i++) {
                int keep = Math.max(0, Math.min(8, prefix - i * 8));
                out[i] = (byte) (out[i] & (0xFF << (8 - keep)));
            }
            return out;
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
