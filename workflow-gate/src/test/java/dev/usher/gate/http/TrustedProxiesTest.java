package dev.usher.gate.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TrustedProxiesTest {
    private static final InetAddress PROXY = ip("10.0.0.5");
    private static final InetAddress OUTSIDER = ip("198.51.100.7");
    private final TrustedProxies proxies = TrustedProxies.parse("10.0.0.0/8, 127.0.0.1 fd00::/8");

    static InetAddress ip(String literal) {
        InetAddress a = Addresses.parseLiteral(literal);
        if (a == null) {
            throw new IllegalArgumentException(literal);
        }
        return a;
    }

    private static Function<String, List<String>> headers(String... nameValue) {
        Map<String, List<String>> map = new HashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) {
            map.computeIfAbsent(nameValue[i], k -> new java.util.ArrayList<>()).add(nameValue[i + 1]);
        }
        return map::get;
    }

    private String client(TrustedProxies p, InetAddress peer, String... nameValue) {
        return p.clientAddress(peer, headers(nameValue)).getHostAddress();
    }

    @Test
    void rangesMatchIpv4AndIpv6() {
        assertThat(proxies.isTrusted(ip("10.255.1.2"))).isTrue();
        assertThat(proxies.isTrusted(ip("11.0.0.1"))).isFalse();
        assertThat(proxies.isTrusted(ip("127.0.0.1"))).isTrue();
        assertThat(proxies.isTrusted(ip("127.0.0.2"))).isFalse();
        assertThat(proxies.isTrusted(ip("fd12:3456::1"))).isTrue();
        assertThat(proxies.isTrusted(ip("fe80::1"))).isFalse();
        assertThat(proxies.isTrusted(ip("::1"))).isFalse();
        assertThat(TrustedProxies.parse("192.168.1.77/20").ranges()).containsExactly("192.168.0.0/20");
        assertThat(TrustedProxies.parse("0.0.0.0/0").isTrusted(ip("8.8.8.8"))).isTrue();
        assertThat(TrustedProxies.parse("::/0").isTrusted(ip("8.8.8.8"))).isFalse(); // IPv6 ranges hold IPv6 only
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost", "10.0.0.0/33", "::/129", "10.0.0.1/-1", "10.0.0.1/", "1.2.3", "256.1.1.1",
            "0x7f.0.0.1", "example.com", "10.0.0.1/8/8", "fe80::1%eth0", ""})
    void badEntriesAreRejectedWithTheirText(String entry) {
        assertThatThrownBy(() -> TrustedProxies.of(List.of(entry)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("trusted proxy");
    }

    @Test
    void blankConfigurationTrustsNobody() {
        assertThat(TrustedProxies.parse(" ")).isSameAs(TrustedProxies.none());
        assertThat(TrustedProxies.parse(null).isTrusted(ip("127.0.0.1"))).isFalse();
        assertThat(client(TrustedProxies.none(), PROXY, "X-Forwarded-For", "1.2.3.4")).isEqualTo("10.0.0.5");
    }

    @Test
    void headersFromAnUntrustedPeerAreIgnored() {
        assertThat(client(proxies, OUTSIDER, "X-Forwarded-For", "1.2.3.4")).isEqualTo("198.51.100.7");
        ForwardedClient c = proxies.resolve(OUTSIDER, false, headers("X-Forwarded-For", "1.2.3.4", "X-Forwarded-Proto", "https"));
        assertThat(c.secure()).isFalse();
    }

    @Test
    void theRightMostUntrustedAddressIsTheClient() {
        // the client wrote "6.6.6.6" itself; our proxy appended what it saw
        assertThat(client(proxies, PROXY, "X-Forwarded-For", "6.6.6.6, 203.0.113.9")).isEqualTo("203.0.113.9");
        // two trusted proxies in a row
        assertThat(client(proxies, PROXY, "X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.1.1.1")).isEqualTo("203.0.113.9");
        // several header lines are one list
        assertThat(client(proxies, PROXY, "X-Forwarded-For", "6.6.6.6", "X-Forwarded-For", "203.0.113.9, 10.1.1.1"))
                .isEqualTo("203.0.113.9");
        // every hop trusted: the left-most is the client
        assertThat(client(proxies, PROXY, "X-Forwarded-For", "10.9.9.9, 10.1.1.1")).isEqualTo("10.9.9.9");
        // no header: the peer
        assertThat(client(proxies, PROXY)).isEqualTo("10.0.0.5");
    }

    @Test
    void portsAndIpv6FormsAreRead() {
        assertThat(client(proxies, PROXY, "X-Forwarded-For", "203.0.113.9:4711")).isEqualTo("203.0.113.9");
        assertThat(client(proxies, PROXY, "X-Forwarded-For", "[2001:db8::1]:443")).isEqualTo("2001:db8:0:0:0:0:0:1");
        assertThat(client(proxies, PROXY, "X-Forwarded-For", "2001:db8::1")).isEqualTo("2001:db8:0:0:0:0:0:1");
        assertThat(client(proxies, ip("fd00::1"), "X-Forwarded-For", "::ffff:203.0.113.9")).isEqualTo("203.0.113.9");
    }

    @ParameterizedTest
    @ValueSource(strings = {"unknown", "_hidden", "evil.example.com", "localhost", "1.2.3", "999.1.1.1", "01234.1.1.1",
            "", " ", ",,,", "\u0000", "1.2.3.4\r\nX-Injected: 1", "[::1", "[1.2.3.4]", "::1%25lo", "1.2.3.4:99999999",
            "1.2.3.4:", "\"1.2.3.4\"", "１.２.３.４", "1.2.3.4 5.6.7.8"})
    void aMalformedNearestHopLeavesTheProxyAsTheClient(String hostile) {
        assertThat(client(proxies, PROXY, "X-Forwarded-For", hostile)).isEqualTo("10.0.0.5");
        // behind another trusted hop, the walk stops at that trusted hop
        assertThat(client(proxies, PROXY, "X-Forwarded-For", "203.0.113.1, " + hostile + ", 10.1.1.1")).isEqualTo("10.1.1.1");
        // garbage the client wrote left of the real client address changes nothing
        assertThat(client(proxies, PROXY, "X-Forwarded-For", hostile + ", 203.0.113.9")).isEqualTo("203.0.113.9");
    }

    @Test
    void hugeAndRandomHeadersNeverThrowAndNeverYieldAnAddressNotInTheHeader() {
        String huge = "1.1.1.1, ".repeat(100_000) + "203.0.113.9";
        assertThat(client(proxies, PROXY, "X-Forwarded-For", huge)).isEqualTo("203.0.113.9");
        String trustedChain = "203.0.113.9, " + "10.0.0.1, ".repeat(1_000) + "10.0.0.2";
        // the walk is bounded: past MAX_HOPS trusted hops it stops at a trusted hop, not at the far client
        assertThat(proxies.isTrusted(proxies.clientAddress(PROXY, headers("X-Forwarded-For", trustedChain)))).isTrue();
        Random random = new Random(42);
        String alphabet = "0123456789abcdefABCDEF.:,;[]\"= _-%\\/xX\t";
        for (int i = 0; i < 20_000; i++) {
            StringBuilder sb = new StringBuilder();
            int n = random.nextInt(60);
            for (int j = 0; j < n; j++) {
                sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            String value = sb.toString();
            InetAddress viaXff = proxies.clientAddress(PROXY, headers("X-Forwarded-For", value));
            InetAddress viaForwarded = proxies.usingForwardedHeader().clientAddress(PROXY, headers("Forwarded", value));
            assertThat(viaXff).isNotNull();
            assertThat(viaForwarded).isNotNull();
        }
    }

    @Test
    void theProtoOfTheClientsHopDecidesSecure() {
        assertThat(proxies.resolve(PROXY, false, headers("X-Forwarded-For", "203.0.113.9", "X-Forwarded-Proto", "https")).secure())
                .isTrue();
        assertThat(proxies.resolve(PROXY, false, headers("X-Forwarded-For", "203.0.113.9", "X-Forwarded-Proto", "http")).secure())
                .isFalse();
        // lists of equal length are read hop by hop: the client's hop was https, the inner hop http
        assertThat(proxies.resolve(PROXY, false,
                headers("X-Forwarded-For", "203.0.113.9, 10.1.1.1", "X-Forwarded-Proto", "https, http")).secure()).isTrue();
        // otherwise the nearest proxy's word counts
        assertThat(proxies.resolve(PROXY, false, headers("X-Forwarded-For", "203.0.113.9", "X-Forwarded-Proto", "http, https"))
                .secure()).isTrue();
        // no proto header: the direct connection decides
        assertThat(proxies.resolve(PROXY, true, headers("X-Forwarded-For", "203.0.113.9")).secure()).isTrue();
        assertThat(proxies.resolve(PROXY, false, headers("X-Forwarded-For", "203.0.113.9")).secure()).isFalse();
        // an untrusted peer's claim of https is ignored
        assertThat(proxies.resolve(OUTSIDER, false, headers("X-Forwarded-Proto", "https")).secure()).isFalse();
    }

    @Test
    void aTrustedProxyMayReportTheSchemeAlone() {
        // a TLS-terminating proxy that sets X-Forwarded-Proto but not X-Forwarded-For: the peer stays the client
        ForwardedClient https = proxies.resolve(PROXY, false, headers("X-Forwarded-Proto", "https"));
        assertThat(https.secure()).isTrue();
        assertThat(https.address()).isEqualTo(PROXY);
        assertThat(proxies.resolve(PROXY, true, headers("X-Forwarded-Proto", "http")).secure()).isFalse();
        assertThat(proxies.resolve(PROXY, false, headers("X-Forwarded-Proto", "http, https")).secure()).isTrue();
        // no header at all: the direct connection decides
        assertThat(proxies.resolve(PROXY, true, headers()).secure()).isTrue();
        assertThat(proxies.resolve(PROXY, false, headers()).secure()).isFalse();
        // still only from a trusted peer
        assertThat(proxies.resolve(OUTSIDER, false, headers("X-Forwarded-Proto", "https")).secure()).isFalse();
    }

    @Test
    void forwardedHeaderIsReadOnlyWhenChosen() {
        TrustedProxies fwd = proxies.usingForwardedHeader();
        String value = "for=6.6.6.6;proto=http, for=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.5";
        ForwardedClient c = fwd.resolve(PROXY, false, headers("Forwarded", value));
        assertThat(c.address().getHostAddress()).isEqualTo("2001:db8:cafe:0:0:0:0:17");
        assertThat(c.secure()).isTrue();
        assertThat(client(fwd, PROXY, "Forwarded", "For=203.0.113.9, for=10.1.1.1")).isEqualTo("203.0.113.9");
        assertThat(client(fwd, PROXY, "Forwarded", "for=unknown")).isEqualTo("10.0.0.5");
        assertThat(client(fwd, PROXY, "Forwarded", "for=\"broken, for=203.0.113.9")).isEqualTo("10.0.0.5");
        assertThat(client(fwd, PROXY, "Forwarded", "proto=https")).isEqualTo("10.0.0.5");
        // the header the proxies do not write is the client's own text: ignored
        assertThat(client(fwd, PROXY, "X-Forwarded-For", "6.6.6.6")).isEqualTo("10.0.0.5");
        assertThat(client(proxies, PROXY, "Forwarded", "for=6.6.6.6")).isEqualTo("10.0.0.5");
    }

    @Test
    void theHeaderValuesCanBeGivenDirectly() {
        assertThat(proxies.clientAddress(PROXY, List.of("6.6.6.6", "203.0.113.9"), List.of("for=1.1.1.1")).getHostAddress())
                .isEqualTo("203.0.113.9");
        assertThat(proxies.usingForwardedHeader().clientAddress(PROXY, List.of("6.6.6.6"), List.of("for=203.0.113.8"))
                .getHostAddress()).isEqualTo("203.0.113.8");
        assertThat(proxies.clientAddress(OUTSIDER, List.of("203.0.113.9"), List.of()).getHostAddress())
                .isEqualTo("198.51.100.7");
    }

    @Test
    void toStringNamesTheRanges() {
        assertThat(proxies.toString()).contains("10.0.0.0/8", "127.0.0.1/32", "fd00:0:0:0:0:0:0:0/8", "X-Forwarded-For");
    }
}
