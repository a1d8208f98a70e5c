package dev.usher.gate.http;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Parses IP literals from untrusted text without ever asking DNS: {@link InetAddress#getByName} would resolve
 * a host name (a hostile header could make the server query any name) and accepts odd IPv4 forms such as
 * {@code 1.2.3} or {@code 0x7f.1}, so IPv4 is parsed here and only text that can be nothing but an IPv6
 * literal reaches the JDK.
 */
final class Addresses {
    private static final int MAX_LITERAL = 45; // the longest IPv6 text form

    private Addresses() {
    }

    /** An IPv4 or IPv6 literal (no brackets, no port, no zone), or null. */
    static InetAddress parseLiteral(String s) {
        if (s == null || s.isEmpty() || s.length() > MAX_LITERAL) {
            return null;
        }
        if (s.indexOf(':') < 0) {
            byte[] v4 = parseIpv4(s);
            return v4 == null ? null : byAddress(v4);
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
            if (!ok) {
                return null;
            }
        }
        try {
            // Only hex digits, ':' and '.' with a ':' present: the JDK parses it as an IPv6 literal or
            // throws; it never treats such text as a host name.
            return InetAddress.getByName(s);
        } catch (UnknownHostException | IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * One entry of {@code X-Forwarded-For} or one {@code for=} value of {@code Forwarded}: an IP literal,
     * optionally with a port ({@code 192.0.2.1:4711}, {@code [2001:db8::1]:4711}), or null when it is
     * anything else ({@code unknown}, {@code _hidden}, a host name, garbage).
     */
    static InetAddress parseHop(String entry) {
        if (entry == null) {
            return null;
        }
        String s = entry.trim();
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0) {
                return null;
            }
            String rest = s.substring(close + 1);
            if (!rest.isEmpty() && !isPort(rest)) {
                return null;
            }
            String inner = s.substring(1, close);
            return inner.indexOf(':') < 0 ? null : parseLiteral(inner);
        }
        int colon = s.indexOf(':');
        if (colon >= 0 && colon == s.lastIndexOf(':')) { // IPv4 with a port
            return isPort(s.substring(colon)) ? parseLiteral(s.substring(0, colon)) : null;
        }
        return parseLiteral(s);
    }

    private static boolean isPort(String colonAndDigits) {
        if (colonAndDigits.length() < 2 || colonAndDigits.length() > 6 || colonAndDigits.charAt(0) != ':') {
            return false;
        }
        for (int i = 1; i < colonAndDigits.length(); i++) {
            char c = colonAndDigits.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    /** Four decimal parts of 1 to 3 ASCII digits, each 0 to 255; anything else is null. */
    private static byte[] parseIpv4(String s) {
        byte[] out = new byte[4];
        int part = 0;
        int value = 0;
        int digits = 0;
        for (int i = 0; i <= s.length(); i++) {
            char c = i < s.length() ? s.charAt(i) : '.';
            if (c == '.') {
                if (digits == 0 || part > 3) {
                    return null;
                }
                out[part++] = (byte) value;
                value = 0;
                digits = 0;
            } else if (c >= '0' && c <= '9') {
                value = value * 10 + (c - '0');
                if (++digits > 3 || value > 255) {
                    return null;
                }
            } else {
                return null;
            }
        }
        return part == 4 ? out : null;
    }

    private static InetAddress byAddress(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException impossible) {
            throw new IllegalStateException(impossible);
        }
    }
}
